// `Relu` for `ReLU`, as other libraries spell it.
nn::network! { struct Net<Linear<784, 128>, Relu, Linear<128, 10>> }

fn main() {}
