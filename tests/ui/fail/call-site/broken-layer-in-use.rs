// A layer that does not parse: the network still exists, with the widths the layers
// around the mistake state, for the code using it.
nn::network! { struct Net<Linear<784, 128>, ReLU, Linear<128 64>, Linear<64, 10>> }

fn main() {
    let net = Net::new(0);
    let logits = net.forward(&[0.5; 784]);
    let _best = logits.iter().cloned().fold(f32::MIN, f32::max);
}
