// Sizes as expressions are computed and compared like numbers.
nn::network! { struct Net<Linear<28 * 28, 4 * 128>, ReLU, Linear<500, 10>> }

fn main() {}
