// PyTorch's global average pool, which `network!` answers with the fixed pool that does the
// same on this 8 × 8 image.
nn::network! {
    #[input(3, 8, 8)]
    struct Net<Conv2d<3, 16, 3, padding = 1>, ReLU, AdaptiveAvgPool2d<1>, Flatten, Linear<16, 10>>
}

fn main() {}
