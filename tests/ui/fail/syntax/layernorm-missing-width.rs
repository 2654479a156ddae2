// `LayerNorm` without its width (PyTorch's `nn.LayerNorm(N)` needs it too).
nn::network! { struct Net<Linear<784, 128>, LayerNorm, Linear<128, 10>> }

fn main() {}
