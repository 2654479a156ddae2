// The declaration's first layer is wider than the file's.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8.safetensors", dtype = int8)]
    struct Net<Linear<2, 4>, ReLU, Linear<4, 1>>
}

fn main() {}
