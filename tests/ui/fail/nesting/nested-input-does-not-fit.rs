// The encoder takes 64 features; the layer before it produces 32.
nn::network! { pub struct Encoder<Linear<64, 32>, ReLU, Linear<32, 8>> }
nn::network! { struct Net<Linear<10, 32>, Encoder> }

fn main() {}
