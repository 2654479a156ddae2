//! MNIST read row by row: a GRU over 28 steps of 28 pixels, its last hidden state classified by
//! a `Linear`, as PyTorch users write `self.fc(out[:, -1])`. Then the trained GRU streams one
//! image a row at a time, carrying its state, to the same answer.
//!
//! ```text
//! cargo run --release --example gru_mnist                  # train and report test accuracy
//! cargo run --release --example gru_mnist -- --save PATH   # and save the weights afterwards
//! ```
//!
//! GRU(28 → 64, batch_first), Linear(64 → 10), trained with Adam (lr 0.002), batch 64,
//! 8 epochs, cross-entropy, on the committed MNIST images: 8,000 to train on, 2,000 held out.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nn::data::{DataLoader, Mnist as MnistData};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, Optimizer};
use nn::{Gradients, GruState, Tape};

nn::network! {
    /// 28 rows of 28 pixels in, one row per step; the last step's state to 10 class scores.
    pub struct RowGru {
        gru: GRU<28, 64, 28, last = true>,
        fc: Linear<64, 10>,
    }
}

const EPOCHS: usize = 8;

fn main() -> Result<(), Box<dyn Error>> {
    let save = save_path()?;
    let data =
        MnistData::load_t10k_split(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    println!("{}", RowGru::summary());
    let mut net = RowGru::new(0);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let loss_fn = CrossEntropyLoss::default();
    let mut opt = Adam::new(0.002);
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
        let accuracy = nn::metrics::accuracy_rows(&net.predict(test.inputs()), test.targets());
        println!(
            "epoch {epoch:2}: train loss {:.4}, test accuracy {:.2}%",
            loss_sum / seen as f64,
            100.0 * accuracy
        );
    }
    println!(
        "training time: {:.2} s ({EPOCHS} epochs, evaluation not included)",
        training.as_secs_f64()
    );

    // Streaming: the first test image one row per call, the state carried between calls;
    // the last state through the classifier gives the network's logits, bit for bit.
    let image = &test.inputs()[0];
    let cell = net.gru.cell();
    let mut state = GruState::default();
    for row in image.chunks_exact(28) {
        cell.step(row.try_into()?, &mut state);
    }
    let mut streamed = [0.0f32; 10];
    nn::Layer::forward(&net.fc, &state.h, &mut streamed);
    assert_eq!(streamed, net.forward(image));
    println!(
        "streamed row by row, the first test image is a {} (label {})",
        argmax(&streamed),
        test.targets()[0]
    );

    if let Some(path) = save {
        net.save(&path)?;
        println!("weights saved to {}", path.display());
    }
    Ok(())
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// `--save PATH` from the command line, if given.
fn save_path() -> Result<Option<PathBuf>, Box<dyn Error>> {
    const USAGE: &str = "usage: gru_mnist [--save PATH]";
    let mut it = std::env::args_os().skip(1);
    match (it.next(), it.next(), it.next()) {
        (None, ..) => Ok(None),
        (Some(flag), Some(path), None) if flag == "--save" => Ok(Some(path.into())),
        _ => Err(USAGE.into()),
    }
}
