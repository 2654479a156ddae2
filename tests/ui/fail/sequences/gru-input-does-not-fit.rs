// 20 features are 4 steps of 5, not of 8.
nn::network! { struct Net<Linear<10, 20>, GRU<8, 16, 4>, Linear<64, 2>> }

fn main() {}
