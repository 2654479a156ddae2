//! The MNIST network (784-128 ReLU BatchNorm 128-10) in int8: `nn::int8::Quantized`, quantised
//! from the f32 network of the `inference` rows (same seed, calibrated on 64 inputs of their
//! range), on one sample (`forward`) and on a batch (`forward_batch`, whose `Linear` layers
//! read their weights once for several samples), inputs quantised and logits dequantised in
//! the call, as the f32 rows take and give `f32`. Its products run on the instruction set
//! the chosen kernel names (`NN_KERNEL=avx2` keeps them to AVX2; the "mm" column, run on
//! `matrixmultiply`, is the portable loops).

use std::hint::black_box;

use nn::int8::{Quantized, Workspace};
use nn::Rng;

use super::{median_us, Mnist};

/// The cases, as the child process names them (PyTorch has none).
pub const CASES: [&str; 1] = ["int8_inference"];

/// Median µs of one call on `batch` inputs drawn as the f32 `inference` rows draw theirs.
fn inference(batch: usize) -> f64 {
    let mut rng = Rng::seed(2);
    let calibration: Vec<f32> = (0..64 * 784).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let q = Quantized::<Mnist>::quantize(&Mnist::new(0), &calibration).expect("quantisable");
    let x: Vec<f32> = (0..batch * 784).map(|_| rng.uniform(-1.0, 1.0)).collect();
    if batch == 1 {
        let x: [f32; 784] = x.try_into().expect("one input");
        return median_us(
            || {
                black_box(q.forward::<784, 10>(black_box(&x)));
            },
            100.0,
        );
    }
    let (mut y, mut ws) = (vec![0.0; batch * 10], Workspace::default());
    median_us(
        || {
            q.forward_batch(black_box(&x), &mut y, &mut ws);
            black_box(&y);
        },
        100.0,
    )
}

/// Our cases that `wanted` keeps: one sample and a batch of 64.
pub fn ours(wanted: impl Fn(&str) -> bool) -> Vec<super::mlperf::Case> {
    let mut rows: Vec<super::mlperf::Case> = Vec::new();
    if wanted(CASES[0]) {
        for b in [1, 64] {
            rows.push((CASES[0], b, Box::new(move || inference(b))));
        }
    }
    rows
}
