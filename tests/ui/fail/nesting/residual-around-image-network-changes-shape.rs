// A residual block around a network of images that halves their sides: said in channels ×
// height × width, not as 16384 against 8192 features.
nn::network! { #[input(16, 32, 32)] pub struct Down<Conv2d<16, 32, 3, stride = 2, padding = 1>, ReLU> }
nn::network! { #[input(16, 32, 32)] struct Net<res: Residual<Down>> }

fn main() {}
