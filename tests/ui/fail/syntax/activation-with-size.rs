// Activations take their width from the layer before them.
nn::network! { struct Net<Linear<784, 128>, ReLU<128>, Linear<128, 10>> }

fn main() {}
