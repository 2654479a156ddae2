// The MNIST network with the last layer's input size wrong.
nn::network! { struct Net<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<64, 10>> }

fn main() {}
