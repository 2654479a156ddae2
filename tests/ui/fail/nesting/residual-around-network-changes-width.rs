// A residual block adds its input to its output: the block must keep its width.
nn::network! { pub struct Block<Linear<32, 16>, ReLU> }
nn::network! { struct Net { stem: Linear<20, 32>, res: Residual<Block> } }

fn main() {}
