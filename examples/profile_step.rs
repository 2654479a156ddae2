//! Runs training steps of the MNIST network in a loop, for a profiler:
//! `perf record target/release/examples/profile_step 64`.
use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Rng, Tape};
nn::network! {
    /// The MNIST network: 784-128 ReLU BatchNorm 128-10.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}
fn main() {
    let batch: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    if batch == 1 {
        // One-sample inference instead of training.
        let net = Mnist::new(0);
        let mut rng = Rng::seed(1);
        let x: [f32; 784] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        let t = std::time::Instant::now();
        for _ in 0..200_000 {
            std::hint::black_box(net.forward(std::hint::black_box(&x)));
        }
        println!(
            "{:.2} us/sample",
            t.elapsed().as_secs_f64() / 200_000.0 * 1e6
        );
        return;
    }
    let mut rng = Rng::seed(1);
    let mut net = Mnist::new(0);
    let x: Vec<[f32; 784]> = (0..batch)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let y: Vec<usize> = (0..batch).map(|_| rng.below(10)).collect();
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let t = std::time::Instant::now();
    for _ in 0..3000 {
        opt.zero_grad(&mut grads);
        net.forward_train(&x, &mut tape).unwrap();
        std::hint::black_box(tape.loss(&CrossEntropyLoss::default(), &y[..]));
        net.backward(&x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
    }
    println!("{:.1} us/step", t.elapsed().as_secs_f64() / 3000.0 * 1e6);
}
