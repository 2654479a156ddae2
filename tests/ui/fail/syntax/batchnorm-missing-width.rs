// `BatchNorm` without its width.
nn::network! { struct Net<Linear<784, 128>, BatchNorm, Linear<128, 10>> }

fn main() {}
