//! A network whose forward is written as code, on MNIST: a convolution branch with a
//! residual block and a linear branch read the same digit, and a linear head classifies
//! their features side by side. The weights it saves are baked into `examples/embedded`.
//!
//! ```text
//! cargo run --release --example two_branch                  # train and report test accuracy
//! cargo run --release --example two_branch -- --save PATH   # and save the weights afterwards
//! ```
//!
//! Trained as `examples/cnn.rs` is: SGD (lr 0.05, momentum 0.9), batch 64, 10 epochs, on the
//! committed MNIST images, 8,000 to train on and 2,000 held out.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nn::data::{DataLoader, Mnist as MnistData};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Tape};

nn::network! {
    /// Two views of a 28 × 28 digit: local strokes through a convolution and a residual
    /// block (8 × 6 × 6 features), the whole image through one linear layer (32 features).
    pub struct TwoBranch {
        conv: Conv2d<1, 8, 3>,
        pool1: MaxPool2d<2>,
        res: Conv2d<8, 8, 3, padding = 1>,
        bn: BatchNorm2d<8>,
        pool2: MaxPool2d<2>,
        lin: Linear<784, 32>,
        head: Linear<320, 10>,
    }
    fn forward(x: Image<1, 28, 28>) -> logits {
        let h = self.pool1(relu(self.conv(x)));
        let r = relu(self.bn(self.res(h)) + h);
        let strokes = flatten(self.pool2(r));
        let whole = relu(self.lin(flatten(x)));
        self.head(cat([strokes, whole]))
    }
}

const EPOCHS: usize = 10;

fn main() -> Result<(), Box<dyn Error>> {
    let save = save_path()?;
    let data =
        MnistData::load_t10k_split(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    println!("{}", TwoBranch::summary());
    let mut net = TwoBranch::new(0);
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
        // Eval mode: batch norm uses its running statistics.
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
    const USAGE: &str = "usage: two_branch [--save PATH]";
    let mut it = std::env::args_os().skip(1);
    match (it.next(), it.next(), it.next()) {
        (None, ..) => Ok(None),
        (Some(flag), Some(path), None) if flag == "--save" => Ok(Some(path.into())),
        _ => Err(USAGE.into()),
    }
}
