// The block takes images of 16 channels; the convolution before it gives 8: said in
// channels × height × width, not as 16384 against 8192 features.
nn::network! { #[input(16, 32, 32)] pub struct Block<Conv2d<16, 32, 3, stride = 2, padding = 1>, ReLU> }
nn::network! { #[input(3, 32, 32)] struct Net<Conv2d<3, 8, 3, padding = 1>, ReLU, Block> }

fn main() {}
