// The nested network's `2.0.weight` is [3] in the file, three values but not [1, 3].
nn::network! { pub struct Head<Linear<3, 1>> }
nn::network! {
    #[weights("tests/ui/weights/nested-flat.safetensors")]
    pub struct Net<Linear<2, 3>, ReLU, Head>
}

static MODEL: Net = Net::WEIGHTS;

fn main() {
    let _ = MODEL.forward(&[0.0; 2]);
}
