// Two groups of two channels: grouped convolutions other than depthwise have no int8 layer.
nn::network! {
    #[input(4, 5, 5)]
    #[weights("tests/ui/weights/dw-int8.safetensors", dtype = int8)]
    struct Net<
        Conv2d<4, 4, 3, padding = same, groups = 2, bias = false>, ReLU,
        AdaptiveAvgPool2d<1>, Flatten, Linear<4, 2>,
    >
}

fn main() {}
