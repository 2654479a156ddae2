// The block halves the image's sides and doubles its channels: as many values (16 × 8 × 8
// and 64 × 4 × 4 are both 1024), but not the same image, so it cannot be added to its input.
nn::network! {
    #[input(16, 8, 8)]
    struct Net {
        res: Residual<Conv2d<16, 64, 3, stride = 2, padding = 1>, ReLU>,
        flat: Flatten,
        fc: Linear<1024, 10>,
    }
}

fn main() {}
