// A crafted header whose tensors' data offsets sum past 2^64: an error, not a macro panic.
nn::network! {
    #[weights("tests/ui/weights/crafted-offsets-overflow.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
