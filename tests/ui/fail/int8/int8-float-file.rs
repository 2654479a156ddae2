// A float32 state dict baked into an int8 declaration: it must be quantised first.
nn::network! {
    #[weights("tests/ui/weights/tiny.safetensors", dtype = int8)]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
