// `Linear` without its sizes.
nn::network! { struct Net<Linear, ReLU, Linear<128, 10>> }

fn main() {}
