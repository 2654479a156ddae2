// A depthwise layer's weight is `[out, 1, kH, kW]`; the file holds a full `[4, 4, 3, 3]`.
nn::network! {
    #[input(4, 5, 5)]
    #[weights("tests/ui/weights/dw-int8-full-weight.safetensors", dtype = int8)]
    struct Net<
        Conv2d<4, 4, 3, padding = same, groups = 4, bias = false>, ReLU,
        AdaptiveAvgPool2d<1>, Flatten, Linear<4, 2>,
    >
}

fn main() {}
