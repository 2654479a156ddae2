// `Linear<32, 4>` fits after `Linear<20, H>` only when `H` is 32.
nn::network! { pub struct Mlp<const H: usize> { fc1: Linear<20, H>, act: ReLU, fc2: Linear<32, 4> } }

fn main() {}
