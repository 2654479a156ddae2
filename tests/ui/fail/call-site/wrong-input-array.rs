// The call site passes a sample of the wrong size.
nn::network! { struct Net<Linear<784, 128>, ReLU, Linear<128, 10>> }

fn main() {
    let net = Net::new(0);
    let _ = net.forward(&[0.0; 100]);
}
