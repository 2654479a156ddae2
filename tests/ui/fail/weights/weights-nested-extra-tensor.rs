// The file holds `2.7.weight`, which the nested network `Head` does not have.
nn::network! { pub struct Head<Linear<3, 1>> }
nn::network! {
    #[weights("tests/ui/weights/nested-extra.safetensors")]
    pub struct Net<Linear<2, 3>, ReLU, Head>
}

static MODEL: Net = Net::WEIGHTS;

fn main() {
    let _ = MODEL.forward(&[0.0; 2]);
}
