//! Synthetic data of the DS-CNN's input shape for its int8 form (MLPerf Tiny's keyword
//! spotting data is not shipped): twelve classes, and the network trained briefly on them.
//! Shared by `examples/mlperf_int8.rs` and `tests/int8_mlperf.rs`.

use crate::models::DsCnn;
use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, Optimizer};
use nn::{Gradients, Rng, Tape};

/// Twelve seeded templates, one per class, and `n` inputs around them (noise of a third of
/// the templates' spread), side by side, with their classes.
pub fn inputs(seed: u64, n: usize) -> (Vec<f32>, Vec<usize>) {
    let mut templates = Rng::seed(7);
    let templates: Vec<f32> = (0..12 * DsCnn::IN).map(|_| templates.randn()).collect();
    let mut rng = Rng::seed(seed);
    let (mut x, mut classes) = (Vec::with_capacity(n * DsCnn::IN), Vec::with_capacity(n));
    for i in 0..n {
        let class = i % 12;
        let t = &templates[class * DsCnn::IN..][..DsCnn::IN];
        x.extend(t.iter().map(|t| t + 0.33 * rng.randn()));
        classes.push(class);
    }
    (x, classes)
}

/// The DS-CNN from a seed, trained briefly on those synthetic classes (its batch norms'
/// running statistics move off 0 and 1, so the folding is exercised).
pub fn ds_cnn() -> Box<DsCnn> {
    let mut net = DsCnn::new(3);
    let (x, y) = inputs(5, 24);
    let (mut tape, mut grads) = (Tape::<DsCnn>::new(), Gradients::<DsCnn>::new());
    let mut adam = Adam::new(3e-3);
    for _ in 0..STEPS {
        grads.zero();
        tape.forward(&mut net, &x).expect("finite activations");
        tape.loss(&CrossEntropyLoss::default(), &y[..]);
        tape.backward(&net, &x, &mut grads);
        adam.step(&mut *net, &grads);
    }
    // Forward passes alone, so that the running statistics settle on the trained weights'.
    for _ in 0..SETTLE {
        tape.forward(&mut net, &x).expect("finite activations");
    }
    net
}

const STEPS: usize = 25;
const SETTLE: usize = 25;
