// The nested network's batch norm has seen -3 batches, says the file.
nn::network! { pub struct Head<BatchNorm<3>, Linear<3, 1>> }
nn::network! {
    #[weights("tests/ui/weights/nested-negative-count.safetensors")]
    pub struct Net<Linear<2, 3>, ReLU, Head>
}

static MODEL: Net = Net::WEIGHTS;

fn main() {
    let _ = MODEL.forward(&[0.0; 2]);
}
