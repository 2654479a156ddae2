// `Linear` with only one of its two sizes.
nn::network! { struct Net<Linear<784>, ReLU, Linear<128, 10>> }

fn main() {}
