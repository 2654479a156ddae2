//! A small classifier on scikit-learn's 8×8 digits, trained with Adam.
//!
//! ```text
//! cargo run --release --example digits
//! ```
//!
//! 1,797 images of 64 pixels (0..16, scaled to `[0, 1]`), shuffled with a fixed seed and
//! split 1,437 train / 360 test (scikit-learn's `train_test_split(test_size=0.2)` sizes).
//! Adam lr 1e-3, batch 32, 30 epochs, cross-entropy.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use nn::data::{read_csv, DataLoader, Dataset, Separator};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, Optimizer};
use nn::{Gradients, Rng, Tape};

nn::network! {
    /// 64 pixels in, 10 class logits out.
    pub struct Digits<Linear<64, 64>, ReLU, Linear<64, 10>>
}

const EPOCHS: usize = 30;
const BATCH: usize = 32;
const TRAIN: usize = 1_437;
const SEED: u64 = 0;

fn main() -> Result<(), Box<dyn Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sklearn/digits.csv.gz");
    let rows = read_csv::<65>(path, Separator::COMMA)?;
    let x = rows
        .iter()
        .map(|r| std::array::from_fn(|j| r[j] / 16.0))
        .collect();
    let y = rows.iter().map(|r| r[64] as usize).collect();
    let mut set: Dataset<64, usize> = Dataset::new(x, y)?;
    set.shuffle(&mut Rng::seed(SEED));
    let (train, test) = set.split(TRAIN)?;
    println!("{}", Digits::summary());
    println!(
        "{} training and {} test images; Adam lr 1e-3, batch {BATCH}, {EPOCHS} epochs",
        train.len(),
        test.len()
    );

    let mut net = Digits::new(SEED);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let loss_fn = CrossEntropyLoss::default();
    let mut opt = Adam::new(1e-3);
    let mut loader = DataLoader::new(train, BATCH, SEED)?;

    let start = Instant::now();
    for epoch in 1..=EPOCHS {
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for (x, y) in &mut loader {
            opt.zero_grad(&mut grads);
            net.forward_train(x, &mut tape)?;
            let loss = tape.loss(&loss_fn, y);
            net.backward(x, &mut tape, &mut grads);
            opt.step(&mut *net, &grads);
            loss_sum += f64::from(loss) * x.len() as f64;
            seen += x.len();
        }
        if epoch % 5 == 0 {
            println!("epoch {epoch:2}: train loss {:.4}", loss_sum / seen as f64);
        }
    }
    let elapsed = start.elapsed();

    let logits = net.forward_batch(test.inputs(), &mut tape);
    let correct = logits
        .iter()
        .zip(test.targets())
        .filter(|(l, &y)| argmax(&l[..]) == y)
        .count();
    println!(
        "test accuracy: {:.2}% ({correct}/{})",
        100.0 * correct as f64 / test.len() as f64,
        test.len()
    );
    println!(
        "training time: {:.3} s ({EPOCHS} epochs)",
        elapsed.as_secs_f64()
    );
    Ok(())
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
