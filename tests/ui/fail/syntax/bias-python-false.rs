// PyTorch's `False`, where Rust writes `false`.
nn::network! { struct Net<Linear<784, 128, bias = False>, ReLU, Linear<128, 10>> }

fn main() {}
