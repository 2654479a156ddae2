// PyTorch's pair of sizes for a kernel.
nn::network! { #[input(1, 28, 28)] struct Net<Conv2d<1, 8, 3>, MaxPool2d<(2, 2)>, Flatten, Linear<1352, 10>> }

fn main() {}
