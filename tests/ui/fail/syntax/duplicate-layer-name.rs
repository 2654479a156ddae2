// Two layers with one name: their parameters would share the key `fc1.weight`.
nn::network! { struct Net<fc1: Linear<784, 128>, act: ReLU, fc1: Linear<128, 10>> }

fn main() {}
