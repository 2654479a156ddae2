// The file lacks `2.bias` but has `2.weight`, as the file of PyTorch's layer built with
// `bias=False` does.
nn::network! {
    #[weights("tests/ui/weights/tiny-missing-bias.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
