// PyTorch's `Dropout(0.2)`.
nn::network! { struct Net<Linear<784, 128>, ReLU, Dropout(0.2), Linear<128, 10>> }

fn main() {}
