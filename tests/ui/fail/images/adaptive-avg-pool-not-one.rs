// Only the global average pool is a layer of `network!`.
nn::network! {
    #[input(3, 8, 8)]
    struct Net<Conv2d<3, 16, 3, padding = 1>, ReLU, AdaptiveAvgPool2d<2>, Flatten, Linear<64, 10>>
}

fn main() {}
