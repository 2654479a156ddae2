// The network outputs 10 features per sample; the MSE target rows have 4.
nn::network! { struct Net<Linear<784, 128>, ReLU, Linear<128, 10>> }

fn main() {
    let mut net = Net::new(0);
    let mut tape = nn::Tape::new();
    let x = vec![[0.0; 784]; 2];
    let y = vec![[0.0f32; 4]; 2];
    net.forward_train(&x, &mut tape).unwrap();
    let _ = tape.loss(&nn::loss::MseLoss, &y);
}
