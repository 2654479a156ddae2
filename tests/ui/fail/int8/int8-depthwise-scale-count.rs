// Three weight scales for a depthwise layer of four output channels.
nn::network! {
    #[input(4, 5, 5)]
    #[weights("tests/ui/weights/dw-int8-scale-count.safetensors", dtype = int8)]
    struct Net<
        Conv2d<4, 4, 3, padding = same, groups = 4, bias = false>, ReLU,
        AdaptiveAvgPool2d<1>, Flatten, Linear<4, 2>,
    >
}

fn main() {}
