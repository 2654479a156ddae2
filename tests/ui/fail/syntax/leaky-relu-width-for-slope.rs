// A whole number where LeakyReLU's slope belongs: a width, which it takes from the layer
// before it.
nn::network! { struct Net<Linear<784, 128>, LeakyReLU<128>, Linear<128, 10>> }

fn main() {}
