// The nested network `Head` finds no `2.0.weight` in the file (it was saved flat, `2.weight`).
nn::network! { pub struct Head<Linear<3, 1>> }
nn::network! {
    #[weights("tests/ui/weights/tiny.safetensors")]
    pub struct Net<Linear<2, 3>, ReLU, Head>
}

static MODEL: Net = Net::WEIGHTS;

fn main() {
    let _ = MODEL.forward(&[0.0; 2]);
}
