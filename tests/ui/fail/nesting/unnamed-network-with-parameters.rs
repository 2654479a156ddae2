// A named network leaves a nested network with parameters unnamed.
nn::network! { pub struct Block { fc: Linear<8, 8>, act: ReLU } }
nn::network! { struct Net { stem: Linear<4, 8>, Block } }

fn main() {}
