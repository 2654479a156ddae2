// `new` returns the network in a `Box`; the optimizer takes the network.
use nn::optim::Optimizer;

nn::network! { struct Net<Linear<4, 2>> }

fn main() {
    let mut net = Net::new(0);
    let grads = nn::Gradients::<Net>::new();
    let mut opt = nn::optim::Sgd::new(0.1);
    opt.step(&mut net, &grads);
}
