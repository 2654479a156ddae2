// BatchNorm's width must equal the features it receives.
nn::network! { struct Net<Linear<784, 128>, ReLU, BatchNorm<64>, Linear<128, 10>> }

fn main() {}
