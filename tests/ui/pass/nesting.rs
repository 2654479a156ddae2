// Networks inside networks, residual blocks around networks and inline, sequences, and
// stateless layers left unnamed in a named network.
nn::network! { pub struct Encoder<Linear<64, 32>, ReLU, Linear<32, 8>> }
nn::network! { pub struct Decoder<Linear<8, 32>, Tanh, Linear<32, 64>> }
nn::network! { pub struct AutoEncoder { enc: Encoder, dec: Decoder } }
nn::network! { pub struct Block { fc1: Linear<32, 32>, act: ReLU, fc2: Linear<32, 32> } }
nn::network! {
    pub struct ResNet {
        stem: Linear<20, 32>, ReLU, res1: Residual<Block>, res2: Residual<Block>,
        inline: Residual<Linear<32, 32>, ReLU, Linear<32, 32>>,
        norm: BatchNorm<32>, head: Linear<32, 4>,
    }
}
nn::network! {
    pub struct Quickstart {
        linear_relu_stack: Sequential<Linear<784, 512>, ReLU, Linear<512, 512>, ReLU, Linear<512, 10>>,
    }
}

fn main() {
    let net = AutoEncoder::new(0);
    let _: [f32; 64] = net.forward(&[0.0; 64]);
    let res = ResNet::new(0);
    let _: [f32; 4] = res.forward(&[0.0; 20]);
    let q = Quickstart::new(0);
    let _: [f32; 10] = q.forward(&[0.0; 784]);
}
