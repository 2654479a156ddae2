// PyTorch requires a transposed convolution's output padding below its stride.
nn::network! {
    #[input(8, 7, 7)]
    struct Net<ConvTranspose2d<8, 4, 3, stride = 2, padding = 1, output_padding = 2>, Flatten, Linear<784, 10>>
}

fn main() {}
