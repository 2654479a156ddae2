// A const-item width that disagrees with the layer before it.
const WIDTH: usize = 32;

nn::network! { struct Net<Linear<784, 128>, BatchNorm<WIDTH>, Linear<WIDTH, 10>> }

fn main() {}
