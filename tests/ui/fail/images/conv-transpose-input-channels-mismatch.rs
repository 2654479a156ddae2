// The transposed convolution expects 16 input channels, the convolution before it makes 8.
nn::network! {
    #[input(1, 28, 28)]
    struct Net<Conv2d<1, 8, 3>, ReLU, ConvTranspose2d<16, 4, 3, stride = 2>, Flatten, Linear<11236, 10>>
}

fn main() {}
