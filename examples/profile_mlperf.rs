//! Runs MLPerf Tiny's DS-CNN or ResNet-8 in a loop, for a profiler:
//! `perf record -e cpu-clock target/release/examples/profile_mlperf ds_cnn 64`
//! (`resnet8` for ResNet-8; batch 1 runs one-sample inference instead of training steps).

#[allow(dead_code)]
#[path = "mlperf/models.rs"]
mod models;

use models::{DsCnn, ResNet8};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Network, Rng, Tape};

/// Runs `N` for about `seconds`, printing µs per call.
fn run<N: Network>(mut net: Box<N>, batch: usize, seconds: f64) {
    let mut rng = Rng::seed(1);
    let x: Vec<f32> = (0..batch * N::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let start = std::time::Instant::now();
    let mut calls = 0u32;
    let mut best = f64::MAX;
    let mut last = std::time::Instant::now();
    let mut lap = || {
        let now = std::time::Instant::now();
        best = best.min((now - last).as_secs_f64());
        last = now;
    };
    if batch == 1 {
        let mut y = vec![0.0; N::OUT];
        while start.elapsed().as_secs_f64() < seconds || calls == 0 {
            net.forward_slice(std::hint::black_box(&x), &mut y);
            std::hint::black_box(&y);
            calls += 1;
            lap();
        }
    } else {
        let y: Vec<usize> = (0..batch).map(|_| rng.below(N::OUT)).collect();
        let mut tape = Tape::<N>::new();
        let mut grads = Gradients::<N>::new();
        let mut opt = Sgd::new(0.01).momentum(0.9);
        while start.elapsed().as_secs_f64() < seconds || calls == 0 {
            opt.zero_grad(&mut grads);
            tape.forward(&mut net, &x).expect("finite activations");
            std::hint::black_box(tape.loss(&CrossEntropyLoss::default(), &y[..]));
            tape.backward(&net, &x, &mut grads);
            opt.step(&mut *net, &grads);
            calls += 1;
            lap();
        }
    }
    let us = start.elapsed().as_secs_f64() / f64::from(calls) * 1e6;
    println!(
        "{us:.1} us per call, fastest {:.1} ({calls} calls)",
        best * 1e6
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let model = args.next().unwrap_or_else(|| "ds_cnn".into());
    let batch: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    match model.as_str() {
        "resnet8" => run(ResNet8::new(0), batch, seconds),
        _ => run(DsCnn::new(0), batch, seconds),
    }
}
