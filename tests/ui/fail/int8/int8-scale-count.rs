// Two weight scales for a layer of three output channels.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8-scale-count.safetensors", dtype = int8)]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
