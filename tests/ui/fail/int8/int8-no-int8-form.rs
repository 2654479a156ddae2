// `Tanh` has no int8 layer.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8.safetensors", dtype = int8)]
    struct Net<Linear<2, 3>, Tanh, Linear<3, 1>>
}

fn main() {}
