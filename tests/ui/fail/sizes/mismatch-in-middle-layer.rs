// A layer in the middle expects the wrong width; the activation before it only passes
// the width on, so the message names the layer that set it.
nn::network! { struct Net<Linear<784, 128>, ReLU, Linear<64, 32>, ReLU, Linear<32, 10>> }

fn main() {}
