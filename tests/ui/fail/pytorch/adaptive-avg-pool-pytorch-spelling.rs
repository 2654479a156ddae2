// PyTorch's spelling of its global average pool.
nn::network! {
    #[input(3, 8, 8)]
    struct Net<Conv2d<3, 16, 3, padding = 1>, ReLU, nn.AdaptiveAvgPool2d(1), Flatten, Linear<16, 10>>
}

fn main() {}
