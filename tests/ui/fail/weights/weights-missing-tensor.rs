// The file lacks `2.bias`: the last layer's bias was not saved.
nn::network! {
    #[weights("tests/ui/weights/tiny-missing-bias.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
