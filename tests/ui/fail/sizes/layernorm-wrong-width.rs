// LayerNorm's width must equal the features it receives, as BatchNorm's must.
nn::network! { struct Net<Linear<784, 128>, GELU, LayerNorm<64>, Linear<128, 10>> }

fn main() {}
