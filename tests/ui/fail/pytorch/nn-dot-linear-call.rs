// PyTorch's `nn.Linear(784, 128)`, pasted.
nn::network! { struct Net<nn.Linear(784, 128), nn.ReLU(), Linear<128, 10>> }

fn main() {}
