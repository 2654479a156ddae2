// The weights file was cut short: its last tensor ends past the end of the file.
nn::network! {
    #[weights("tests/ui/weights/tiny-truncated.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
