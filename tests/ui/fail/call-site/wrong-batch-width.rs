// A training batch whose rows have the wrong width.
nn::network! { struct Net<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }

fn main() {
    let mut net = Net::new(0);
    let mut tape = nn::Tape::new();
    let _ = net.forward_train(&[[0.0; 100]; 4], &mut tape);
}
