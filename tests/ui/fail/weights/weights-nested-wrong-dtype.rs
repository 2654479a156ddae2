// The file holds a U8 tensor `2.zzz` under the nested network's name.
nn::network! { pub struct Head<Linear<3, 1>> }
nn::network! {
    #[weights("tests/ui/weights/nested-u8.safetensors")]
    pub struct Net<Linear<2, 3>, ReLU, Head>
}

static MODEL: Net = Net::WEIGHTS;

fn main() {
    let _ = MODEL.forward(&[0.0; 2]);
}
