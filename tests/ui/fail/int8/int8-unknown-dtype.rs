// A dtype `#[weights]` does not bake.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8.safetensors", dtype = int4)]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
