//! Regression on scikit-learn's diabetes set with the loop of PyTorch's `nn` tutorial:
//! a forward pass over the whole training set, `MSELoss`, `zero_grad`, `backward`,
//! `SGD.step`, and the loss printed every 100 epochs.
//!
//! ```text
//! cargo run --release --example regression
//! ```
//!
//! 442 patients, 10 features, one target (disease progression a year later), shuffled
//! with a fixed seed and split 353 train / 89 test. Features and target are
//! standardised with the training set's mean and standard deviation.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use nn::data::{read_csv, Dataset, Separator};
use nn::loss::{Loss, MseLoss};
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Rng, Tape};

nn::network! {
    /// Ten standardised features in, one standardised target out.
    pub struct Diabetes<Linear<10, 32>, ReLU, Linear<32, 1>>
}

const EPOCHS: usize = 1000;
const PRINT_EVERY: usize = 100;
const TRAIN: usize = 353; // 80% of 442
const SEED: u64 = 0;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sklearn");
    let x = read_csv::<10>(dir.join("diabetes_data_raw.csv.gz"), Separator::Whitespace)?;
    let y = read_csv::<1>(dir.join("diabetes_target.csv.gz"), Separator::Whitespace)?;
    let mut set = Dataset::new(x, y)?;
    set.shuffle(&mut Rng::seed(SEED));
    let (train, test) = set.split(TRAIN)?;
    let ((mut x, mut y), (mut x_test, mut y_test)) = (train.into_parts(), test.into_parts());
    standardise(&mut x, &mut x_test);
    let [y_std] = standardise(&mut y, &mut y_test);
    println!("{}", Diabetes::summary());
    println!(
        "{} training and {} test patients; plain SGD lr 0.02, full batch",
        x.len(),
        x_test.len()
    );

    let mut model = Diabetes::new(SEED);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let loss_fn = MseLoss;
    let mut optimizer = Sgd::new(0.02);

    let start = Instant::now();
    for t in 0..EPOCHS {
        // Forward pass: compute the predicted y by passing x to the model.
        model.forward_train(&x, &mut tape)?;
        // Compute and print the loss.
        let loss = tape.loss(&loss_fn, &y[..]);
        if t % PRINT_EVERY == PRINT_EVERY - 1 {
            println!("epoch {:4}: loss {loss:.6}", t + 1);
        }
        // Zero the gradients, compute new ones, update the weights.
        optimizer.zero_grad(&mut grads);
        model.backward(&x, &mut tape, &mut grads);
        optimizer.step(&mut *model, &grads);
    }
    let elapsed = start.elapsed();

    let pred = model.forward_batch(&x_test, &mut tape);
    let mse = loss_fn.loss(pred.as_flattened(), 1, &y_test[..], None);
    println!(
        "test MSE: {mse:.4} (standardised), {:.0} in the target's units (RMSE {:.1}); R² {:.3}",
        mse * y_std * y_std,
        mse.sqrt() * y_std,
        1.0 - mse / variance(&y_test)
    );
    println!(
        "training time: {:.3} s ({EPOCHS} epochs)",
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// Rescales every column of `train` and `test` to the training set's zero mean and unit
/// variance; returns the training set's standard deviations.
fn standardise<const D: usize>(train: &mut [[f32; D]], test: &mut [[f32; D]]) -> [f32; D] {
    let n = train.len() as f32;
    let mean: [f32; D] = std::array::from_fn(|j| train.iter().map(|r| r[j]).sum::<f32>() / n);
    let std: [f32; D] = std::array::from_fn(|j| {
        let var = train.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f32>() / n;
        var.sqrt().max(f32::EPSILON)
    });
    for row in train.iter_mut().chain(test.iter_mut()) {
        for j in 0..D {
            row[j] = (row[j] - mean[j]) / std[j];
        }
    }
    std
}

/// The variance of a one-column set, so that R² can be computed.
fn variance(y: &[[f32; 1]]) -> f32 {
    let n = y.len() as f32;
    let mean = y.iter().map(|v| v[0]).sum::<f32>() / n;
    y.iter().map(|v| (v[0] - mean).powi(2)).sum::<f32>() / n
}
