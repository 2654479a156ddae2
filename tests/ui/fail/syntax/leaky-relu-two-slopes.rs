// LeakyReLU takes one constant, its negative slope.
nn::network! { struct Net<Linear<784, 128>, LeakyReLU<0.2, 0.1>, Linear<128, 10>> }

fn main() {}
