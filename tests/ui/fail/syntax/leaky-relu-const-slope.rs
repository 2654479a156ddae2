// The slope must be written as a number: it becomes part of the layer's type.
const SLOPE: f32 = 0.2;
nn::network! { struct Net<Linear<784, 128>, LeakyReLU<SLOPE>, Linear<128, 10>> }

fn main() {}
