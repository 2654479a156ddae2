// A depthwise convolution declared for 32 channels after a layer that produces 16.
nn::network! {
    #[input(3, 16, 16)]
    struct Net<
        Conv2d<3, 16, 3, stride = 2, padding = same>,
        Conv2d<32, 32, 3, padding = same, groups = 32>,
        AdaptiveAvgPool2d<1>, Flatten, Linear<32, 2>,
    >
}

fn main() {}
