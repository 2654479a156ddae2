//! A small convolutional network on MNIST: the image shape is declared once with
//! `#[input(1, 28, 28)]` and every size after it is computed, and checked, at compile time.
//!
//! ```text
//! cargo run --release --example cnn                  # train and report test accuracy
//! cargo run --release --example cnn -- --save PATH   # and save the weights afterwards
//! ```
//!
//! Conv2d(1→8, 3), ReLU, MaxPool2d(2), Conv2d(8→16, 3), ReLU, MaxPool2d(2), Flatten,
//! Linear(400→10), trained with SGD (lr 0.05, momentum 0.9), batch 64, 10 epochs, on the
//! committed MNIST images: 8,000 to train on, 2,000 held out. `tools/pytorch_mnist.py --cnn`
//! is PyTorch's side of the same run.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nn::data::{DataLoader, Mnist as MnistData};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Tape};

nn::network! {
    /// Two convolutions and a linear layer: 28 × 28 grey images in, 10 class scores out.
    #[input(1, 28, 28)]
    pub struct Cnn<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

const EPOCHS: usize = 10;

fn main() -> Result<(), Box<dyn Error>> {
    let save = save_path()?;
    let data =
        MnistData::load_t10k_split(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    println!("{}", Cnn::summary());
    let mut net = Cnn::new(0);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let loss_fn = CrossEntropyLoss::default();
    let mut opt = Sgd::new(0.05).momentum(0.9);
    let test = data.test;
    let mut loader = DataLoader::new(data.train, 64, 0)?;
    let mut training = Duration::ZERO;
    for epoch in 1..=EPOCHS {
        let start = Instant::now();
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
        training += start.elapsed();
        let predictions = net.predict(test.inputs());
        let correct = predictions
            .iter()
            .zip(test.targets())
            .filter(|(p, &t)| {
                p.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|m| m.0)
                    == Some(t)
            })
            .count();
        println!(
            "epoch {epoch:2}: train loss {:.4}, test accuracy {:.2}%",
            loss_sum / seen as f64,
            100.0 * correct as f64 / test.len() as f64
        );
    }
    println!(
        "training time: {:.2} s ({EPOCHS} epochs, evaluation not included)",
        training.as_secs_f64()
    );
    if let Some(path) = save {
        net.save(&path)?;
        println!("weights saved to {}", path.display());
    }
    Ok(())
}

/// `--save PATH` from the command line, if given.
fn save_path() -> Result<Option<PathBuf>, Box<dyn Error>> {
    const USAGE: &str = "usage: cnn [--save PATH]";
    let mut it = std::env::args_os().skip(1);
    match (it.next(), it.next(), it.next()) {
        (None, ..) => Ok(None),
        (Some(flag), Some(path), None) if flag == "--save" => Ok(Some(path.into())),
        _ => Err(USAGE.into()),
    }
}
