// Two mistakes in one network: both are reported in one compile.
nn::network! { struct Net<Linear<784, 128>, BatchNorm<100>, Linear<100, 64>, ReLU, Linear<32, 10>> }

fn main() {}
