//! The MNIST network (784-128 ReLU BatchNorm 128-10), trained as PyTorch's examples train it.
//!
//! ```text
//! cargo run --release --example mnist                      # committed 10,000 images: 8,000 train / 2,000 test
//! cargo run --release --example mnist -- DIR               # the full 60,000 / 10,000 set from DIR
//! cargo run --release --example mnist -- [DIR] --save PATH # and save the weights afterwards
//! ```
//!
//! `DIR` holds the four standard files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`), each with or without `.gz`.
//! SGD (lr 0.05, momentum 0.9), batch 64, 10 epochs, cross-entropy, fixed seeds.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use nn::data::{DataLoader, Dataset};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Tape};

nn::network! {
    /// The MNIST network: 784 pixels in, 10 class logits out.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

const EPOCHS: usize = 10;
const BATCH: usize = 64;
const WEIGHTS_SEED: u64 = 0;
const SHUFFLE_SEED: u64 = 0;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let args = Args::parse()?;
    let data = match &args.dir {
        Some(dir) => nn::data::Mnist::load_dir(dir)?,
        None => nn::data::Mnist::load_t10k_split(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"),
        )?,
    };
    println!("{}", Mnist::summary());
    println!(
        "{} training images, {} test images; SGD lr 0.05 momentum 0.9, batch {BATCH}, {EPOCHS} epochs",
        data.train.len(),
        data.test.len()
    );

    let mut net = Mnist::new(WEIGHTS_SEED);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let loss_fn = CrossEntropyLoss::default();
    let mut opt = Sgd::new(0.05).momentum(0.9);
    let mut loader = DataLoader::new(data.train, BATCH, SHUFFLE_SEED)?;
    let style = ProgressStyle::with_template(
        "epoch {prefix:>2} [{bar:40}] {pos}/{len} batches, loss {msg}",
    )?
    .progress_chars("=> ");

    let mut training = Duration::ZERO;
    for epoch in 1..=EPOCHS {
        let bar = ProgressBar::new(loader.batches_per_epoch() as u64)
            .with_style(style.clone())
            .with_prefix(epoch.to_string());
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
            bar.set_message(format!("{loss:.4}"));
            bar.inc(1);
        }
        training += start.elapsed();
        bar.finish_and_clear();
        println!(
            "epoch {epoch:2}: train loss {:.4}, test accuracy {:.2}%",
            loss_sum / seen as f64,
            100.0 * accuracy(&net, &data.test, &mut tape)
        );
    }
    println!(
        "training time: {:.2} s ({EPOCHS} epochs, evaluation not included)",
        training.as_secs_f64()
    );

    if let Some(path) = &args.save {
        save_weights(&net, path)?;
    }
    Ok(())
}

/// The share of `test` that `net` classifies right, in inference mode: `forward_batch`
/// uses batch norm's running statistics.
fn accuracy(net: &Mnist, test: &Dataset<784, usize>, tape: &mut Tape<Mnist>) -> f64 {
    let mut correct = 0;
    for (x, y) in test.batches(500) {
        let logits = net.forward_batch(x, tape);
        correct += logits
            .iter()
            .zip(y)
            .filter(|(l, &y)| argmax(&l[..]) == y)
            .count();
    }
    correct as f64 / test.len() as f64
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

/// Writes the weights as safetensors with PyTorch's names (`0.weight`, `2.running_mean`,
/// ...), loadable by `model.load_state_dict(safetensors.torch.load_file(path))`.
fn save_weights(net: &Mnist, path: &Path) -> Result<(), Box<dyn Error>> {
    net.save(path)?;
    println!("weights saved to {}", path.display());
    Ok(())
}

/// The command line: `[DIR] [--save PATH]`.
struct Args {
    dir: Option<PathBuf>,
    save: Option<PathBuf>,
}

impl Args {
    fn parse() -> Result<Args, Box<dyn Error>> {
        const USAGE: &str = "usage: mnist [DIR] [--save PATH]";
        let mut args = Args {
            dir: None,
            save: None,
        };
        let mut it = std::env::args_os().skip(1);
        while let Some(arg) = it.next() {
            if arg == "--save" {
                let path = it.next().ok_or(format!("--save needs a path; {USAGE}"))?;
                args.save = Some(path.into());
            } else if arg == "-h" || arg == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            } else if args.dir.is_none() && !arg.to_string_lossy().starts_with('-') {
                args.dir = Some(arg.into());
            } else {
                return Err(format!("unexpected argument {arg:?}; {USAGE}").into());
            }
        }
        Ok(args)
    }
}
