// A type that exists but is not a layer.
nn::network! { struct Net<Linear<784, 128>, String, Linear<128, 10>> }

fn main() {}
