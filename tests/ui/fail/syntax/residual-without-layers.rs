// `Residual` lists the layers of its block.
nn::network! { struct Net<Linear<784, 64>, Residual, Linear<64, 10>> }

fn main() {}
