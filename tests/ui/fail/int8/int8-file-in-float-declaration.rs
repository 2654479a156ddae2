// An int8 file baked into a float32 declaration: `dtype = int8` is missing.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
