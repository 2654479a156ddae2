//! MLPerf Tiny's keyword-spotting DS-CNN and image-classification ResNet-8
//! (`examples/mlperf/models.rs`): one sample through the one-sample path (no heap), and a
//! training step on a batch of 64 (forward, cross-entropy, backward, SGD with momentum 0.9),
//! on random data of each input's shape. PyTorch runs the ports of `tools/mlperf_models.py`
//! the same way in the same run (`tools/pytorch_mlperf_bench.py`).

use std::hint::black_box;

use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Layer, Network, Rng, Tape};

#[allow(dead_code)]
#[path = "../../examples/mlperf/models.rs"]
mod models;

use models::{DsCnn, ResNet8};

use super::median_us;

/// The cases, as the child process and PyTorch name them.
pub const CASES: [&str; 4] = [
    "ds_cnn_inference",
    "ds_cnn_train_step",
    "resnet8_inference",
    "resnet8_train_step",
];

/// FLOPs of one call of a case at `batch`: 2 per multiply-add of the summary's count
/// (`Layer::MACS`, torchinfo's), three times over in a training step (forward, weight and
/// input gradients; the first layer's input gradient, which nothing asks for, is counted too).
pub fn flops(case: &str, batch: usize) -> Option<f64> {
    let forward = match case {
        "ds_cnn_inference" | "ds_cnn_train_step" => <DsCnn as Layer>::MACS,
        "resnet8_inference" | "resnet8_train_step" => <ResNet8 as Layer>::MACS,
        _ => return None,
    };
    let passes = if case.ends_with("train_step") { 3 } else { 1 };
    Some(2.0 * (passes * forward * batch) as f64)
}

/// Median µs of `N`'s one-sample forward on one input drawn uniformly in −1..1.
fn one_sample<N: Network>(net: &N) -> f64 {
    let mut rng = Rng::seed(11);
    let x: Vec<f32> = (0..N::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut y = vec![0.0; N::OUT];
    median_us(
        || {
            net.forward_slice(black_box(&x), &mut y);
            black_box(&y);
        },
        200.0,
    )
}

/// Median µs of one training step of `N` on `batch` random inputs and labels below `classes`.
fn train_step<N: Network>(mut net: Box<N>, batch: usize) -> f64 {
    let mut rng = Rng::seed(12);
    let x: Vec<f32> = (0..batch * N::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y: Vec<usize> = (0..batch).map(|_| rng.below(N::OUT)).collect();
    let mut tape = Tape::<N>::new();
    let mut grads = Gradients::<N>::new();
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let loss_fn = CrossEntropyLoss::default();
    median_us(
        || {
            opt.zero_grad(&mut grads);
            tape.forward(&mut net, &x).expect("finite activations");
            black_box(tape.loss(&loss_fn, &y[..]));
            tape.backward(&net, &x, &mut grads);
            opt.step(&mut *net, &grads);
        },
        400.0,
    )
}

/// One of our cases: its name, its batch, and a run that returns its median µs.
pub type Case = (&'static str, usize, Box<dyn FnMut() -> f64>);

/// Our cases that `wanted` keeps.
pub fn ours(wanted: impl Fn(&str) -> bool) -> Vec<Case> {
    let mut rows: Vec<Case> = Vec::new();
    if wanted(CASES[0]) {
        rows.push((CASES[0], 1, Box::new(|| one_sample(&*DsCnn::new(0)))));
    }
    if wanted(CASES[1]) {
        rows.push((CASES[1], 64, Box::new(|| train_step(DsCnn::new(0), 64))));
    }
    if wanted(CASES[2]) {
        rows.push((CASES[2], 1, Box::new(|| one_sample(&*ResNet8::new(0)))));
    }
    if wanted(CASES[3]) {
        rows.push((CASES[3], 64, Box::new(|| train_step(ResNet8::new(0), 64))));
    }
    rows
}
