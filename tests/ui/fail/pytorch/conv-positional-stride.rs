// PyTorch's positional stride, `nn.Conv2d(1, 32, 3, 1)`.
nn::network! { #[input(1, 28, 28)] struct Net<Conv2d<1, 32, 3, 1>, ReLU, Flatten, Linear<21632, 10>> }

fn main() {}
