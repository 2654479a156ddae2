// PyTorch's average pool counts its padding, TFLite's does not: no int8 form.
nn::network! {
    #[input(4, 5, 5)]
    #[weights("tests/ui/weights/dw-int8.safetensors", dtype = int8)]
    struct Net<
        Conv2d<4, 4, 3, padding = same, groups = 4, bias = false>, ReLU,
        AvgPool2d<5, padding = 1>, Flatten, Linear<4, 2>,
    >
}

fn main() {}
