// `bias` takes `true` or `false`, not a number.
nn::network! { struct Net<Linear<784, 128, bias = 0>, ReLU, Linear<128, 10>> }

fn main() {}
