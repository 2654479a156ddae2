// A residual block whose output is added to its input must keep its width.
nn::network! { struct Net<Linear<784, 64>, ReLU, Residual<Linear<64, 32>, ReLU>, Linear<32, 10>> }

fn main() {}
