// The first layer's weight scales are not in the file.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8-missing-scale.safetensors", dtype = int8)]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
