// The file holds the first weight as [in, out], transposed from PyTorch's [out, in].
nn::network! {
    #[weights("tests/ui/weights/tiny-transposed.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
