// The caller expects the wrong number of outputs.
nn::network! { struct Net<Linear<784, 128>, ReLU, Linear<128, 10>> }

fn main() {
    let net = Net::new(0);
    let _y: [f32; 5] = net.forward(&[0.0; 784]);
}
