// Names on some layers but not others.
nn::network! { struct Net<fc1: Linear<784, 128>, ReLU, fc2: Linear<128, 10>> }

fn main() {}
