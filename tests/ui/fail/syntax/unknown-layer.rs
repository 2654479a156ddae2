// A layer name that is neither ours nor close to one of ours: the compiler's error.
nn::network! { struct Net<Dense<784, 128>, ReLU, Linear<128, 10>> }

fn main() {}
