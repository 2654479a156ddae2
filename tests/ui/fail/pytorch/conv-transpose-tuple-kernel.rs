// PyTorch's pair of sizes for a transposed convolution's kernel, which is square here.
nn::network! { #[input(1, 7, 7)] struct Net<ConvTranspose2d<1, 8, (2, 2)>, Flatten, Linear<1568, 10>> }

fn main() {}
