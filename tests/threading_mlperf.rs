//! With the `threading` feature, MLPerf Tiny's DS-CNN and ResNet-8 (depthwise, 1 × 1,
//! padded and strided convolutions, residual stacks) train and infer to the same bits in
//! pools of one to four threads, on batches of several chunks and a remainder.
#![cfg(feature = "threading")]

#[allow(dead_code)]
#[path = "../examples/mlperf/models.rs"]
mod models;

use models::{DsCnn, ResNet8};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Network, Rng, Tape};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// Every parameter after an SGD step on `batch` random rows, the losses and the logits
/// of the batch, in a pool of `threads` threads.
fn train_and_infer<N: Network>(
    threads: usize,
    batch: usize,
    new: fn(u64) -> Box<N>,
) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        nn::gemm::parallel(|| {
            let mut rng = Rng::seed(5);
            let x: Vec<f32> = (0..batch * N::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let y: Vec<usize> = (0..batch).map(|i| i % N::OUT).collect();
            let mut net = new(1);
            let (mut tape, mut grads) = (Tape::<N>::new(), Gradients::<N>::new());
            let mut opt = Sgd::new(0.05).momentum(0.9);
            let mut losses = Vec::new();
            for _ in 0..1 {
                opt.zero_grad(&mut grads);
                tape.forward(&mut net, &x).unwrap();
                losses.push(tape.loss(&CrossEntropyLoss::default(), &y[..]));
                tape.backward(&net, &x, &mut grads);
                opt.step(&mut *net, &grads);
            }
            let mut params = Vec::new();
            net.named_params(&mut |_, _, _, v| params.extend(bits(v)));
            (params, bits(&losses), bits(tape.infer(&net, &x)))
        })
    })
}

#[test]
fn the_ds_cnn_trains_to_the_same_bits_on_one_to_four_threads() {
    let one = train_and_infer(1, 17, DsCnn::new);
    for threads in [2, 3, 4] {
        assert!(
            train_and_infer(threads, 17, DsCnn::new) == one,
            "{threads} threads"
        );
    }
}

#[test]
fn resnet8_trains_to_the_same_bits_on_one_to_four_threads() {
    let one = train_and_infer(1, 17, ResNet8::new);
    for threads in [2, 3, 4] {
        assert!(
            train_and_infer(threads, 17, ResNet8::new) == one,
            "{threads} threads"
        );
    }
}
