// `#[weights]` does not bake a LayerNorm yet: an error, not zeros in its weight.
nn::network! {
    #[weights("tests/ui/weights/tiny.safetensors")]
    struct Tiny<Linear<2, 3>, LayerNorm<3>, Linear<3, 1>>
}

fn main() {}
