// The second layer does not take what the first produces.
nn::network! { struct Net<Linear<784, 128>, Linear<100, 10>> }

fn main() {}
