// The weights file does not exist.
nn::network! {
    #[weights("tests/ui/weights/no-such-file.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
