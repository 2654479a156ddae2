// The encoder produces 8 features; the layer after it expects 16.
nn::network! { pub struct Encoder<Linear<64, 32>, ReLU, Linear<32, 8>> }
nn::network! { struct AutoEncoder { enc: Encoder, dec: Linear<16, 64> } }

fn main() {}
