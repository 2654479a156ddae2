// One mistake in a network, used as a network is: one error, at the mistake.
use nn::optim::Optimizer;

nn::network! { struct Net<Linear<784, 128>, BatchNorm<100>, ReLU, Linear<128, 10>> }

fn main() {
    let mut net = Net::new(0);
    let _: [f32; 10] = net.forward(&[0.5; Net::IN]);
    let (x, y) = (vec![[0.5; 784]; 4], vec![0usize; 4]);
    let (mut tape, mut grads) = (nn::Tape::new(), nn::Gradients::new());
    let mut opt = nn::optim::Sgd::new(0.1);
    net.forward_train(&x, &mut tape).unwrap();
    let _loss = tape.loss(&nn::loss::CrossEntropyLoss::default(), &y);
    net.backward(&x, &mut tape, &mut grads);
    opt.step(&mut *net, &grads);
    println!("{} {:?}", Net::summary(), net.predict(&x).len());
    net.save("net.safetensors").unwrap();
}
