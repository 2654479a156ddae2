//! RTNeural's causal convolution stack, Conv1d(1→16, k3) → tanh → Conv1d(16→16, k3, dilation
//! 2) → a dense 16→1 on every step, trained here as a small audio effect: a soft clipper with
//! a short echo, `y[t] = tanh(2·x[t]) + 0.3·x[t − 4]`, learnt from random mixtures of sines;
//! then streamed one sample at a time through its cells, stepped as a tuple in one call, which
//! give the whole signal's output bit for bit.
//!
//! ```text
//! cargo run --release --example conv_stack                     # train, stream, compare
//! cargo run --release --example conv_stack -- --save PATH      # and save the weights
//! ```
//!
//! `examples/embedded` bakes the saved weights (`data/weights/conv_stack.safetensors`) and
//! streams them on a Cortex-M4F.

use std::error::Error;
use std::path::PathBuf;

use nn::loss::MseLoss;
use nn::optim::{Adam, Optimizer};
use nn::{Conv1dCell, Gradients, Rng, Stream, Tape};

nn::network! {
    /// The stack over 256 samples, causal: output `t` hears inputs `t − 6` to `t`.
    #[input(1, 256)]
    pub struct ConvStack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

const LEN: usize = 256;
const BATCH: usize = 16;
const STEPS: usize = 400;

/// `BATCH` signals of `LEN` samples, each a mixture of three sines of random frequency,
/// phase and level, and the effect applied to each.
fn batch(rng: &mut Rng) -> (Vec<[f32; LEN]>, Vec<[f32; LEN]>) {
    let mut xs = Vec::with_capacity(BATCH);
    let mut ys = Vec::with_capacity(BATCH);
    for _ in 0..BATCH {
        let waves: Vec<(f32, f32, f32)> = (0..3)
            .map(|_| {
                (
                    rng.uniform(0.01, 0.4),
                    rng.uniform(0.0, 6.3),
                    rng.uniform(0.0, 0.5),
                )
            })
            .collect();
        let x: [f32; LEN] = std::array::from_fn(|t| {
            waves
                .iter()
                .map(|(f, p, a)| a * (f * t as f32 + p).sin())
                .sum()
        });
        let y = std::array::from_fn(|t| effect(&x, t));
        xs.push(x);
        ys.push(y);
    }
    (xs, ys)
}

/// The effect: a soft clipper and a quiet echo 4 samples later.
fn effect(x: &[f32], t: usize) -> f32 {
    (2.0 * x[t]).tanh() + if t >= 4 { 0.3 * x[t - 4] } else { 0.0 }
}

fn main() -> Result<(), Box<dyn Error>> {
    let save = save_path()?;
    println!("{}", ConvStack::summary());
    let mut net = ConvStack::new(0);
    let (mut tape, mut grads) = (Tape::new(), Gradients::new());
    let mut adam = Adam::new(3e-3);
    let mut rng = Rng::seed(1);
    let (test_x, test_y) = batch(&mut Rng::seed(99));
    let test_loss = |net: &ConvStack, tape: &mut Tape<ConvStack>| {
        let pred = net.forward_batch(&test_x, tape);
        let n = (BATCH * LEN) as f32;
        let sq: f32 = pred
            .iter()
            .flatten()
            .zip(test_y.iter().flatten())
            .map(|(p, y)| (p - y) * (p - y))
            .sum();
        sq / n
    };
    println!(
        "test MSE before training: {:.5}",
        test_loss(&net, &mut tape)
    );
    for step in 1..=STEPS {
        let (x, y) = batch(&mut rng);
        net.forward_train(&x, &mut tape)?;
        let loss = tape.loss(&MseLoss, &y[..]);
        adam.zero_grad(&mut grads);
        net.backward(&x, &mut tape, &mut grads);
        adam.step(&mut *net, &grads);
        if step % 100 == 0 {
            println!("step {step}: training MSE {loss:.5}");
        }
    }
    println!("test MSE after training: {:.5}", test_loss(&net, &mut tape));

    // Streaming: one sample per call through the cells, stepped as a tuple in one call,
    // against the whole signal.
    let cells = (
        Conv1dCell::new(&net.conv1),
        nn::Tanh::<16>::default(),
        Conv1dCell::new(&net.conv2),
        Conv1dCell::new(&net.dense),
    );
    let mut contexts = Default::default();
    let x = &test_x[0];
    let whole = net.forward(x);
    let mut same = 0;
    for (t, v) in x.iter().enumerate() {
        let y = cells.step(&[*v], &mut contexts)[0];
        same += usize::from(y.to_bits() == whole[t].to_bits());
    }
    println!("streamed one sample at a time: {same} of {LEN} outputs equal the whole signal's, bit for bit");
    if same != LEN {
        return Err("the stream and the whole signal differ".into());
    }
    if let Some(path) = save {
        net.save(&path)?;
        println!("weights saved to {}", path.display());
    }
    Ok(())
}

/// `--save PATH` from the command line, if given.
fn save_path() -> Result<Option<PathBuf>, Box<dyn Error>> {
    const USAGE: &str = "usage: conv_stack [--save PATH]";
    let mut args = std::env::args().skip(1);
    match (args.next(), args.next(), args.next()) {
        (None, ..) => Ok(None),
        (Some(flag), Some(path), None) if flag == "--save" => Ok(Some(path.into())),
        _ => Err(USAGE.into()),
    }
}
