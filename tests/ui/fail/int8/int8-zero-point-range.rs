// The second layer's input zero point is 200, outside int8.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8-zero-point.safetensors", dtype = int8)]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
