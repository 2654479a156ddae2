// The file has `2.bias`: PyTorch's last layer was built with a bias.
nn::network! {
    #[weights("tests/ui/weights/tiny.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1, bias = false>>
}

fn main() {}
