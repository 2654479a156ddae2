// The second layer's input zero point is -100, but the first layer writes its output with -128.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8-input-quantisation.safetensors", dtype = int8)]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
