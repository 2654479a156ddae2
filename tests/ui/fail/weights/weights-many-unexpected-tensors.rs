// 2,000 tensors under names no layer has: one error lists a few of them.
nn::network! {
    #[weights("tests/ui/weights/tiny-many-extra.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
