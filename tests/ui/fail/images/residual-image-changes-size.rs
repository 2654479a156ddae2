// The block halves the image's sides: 16 × 8 × 8 in, 32 × 4 × 4 out.
nn::network! {
    #[input(16, 8, 8)]
    struct Net {
        res: Residual<Conv2d<16, 32, 3, stride = 2, padding = 1>, ReLU>,
        flat: Flatten,
        fc: Linear<1024, 10>,
    }
}

fn main() {}
