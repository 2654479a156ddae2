// Generic sizes are not supported yet: the error says so in words.
nn::network! { pub struct Mlp<const H: usize> { fc1: Linear<20, H>, act: ReLU, fc2: Linear<H, 4> } }

fn main() {}
