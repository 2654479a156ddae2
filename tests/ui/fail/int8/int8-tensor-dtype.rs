// The first layer's bias is F32 in the file; an int8 layer's is I32.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8-f32-bias.safetensors", dtype = int8)]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
