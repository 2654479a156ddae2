//! MLPerf Tiny's four reference models (`examples/mlperf/models.rs`): each one's summary
//! (its parameters as PyTorch counts them), then a few training steps on random data of its
//! input's shape (the benchmark's data sets are not shipped).
//!
//! ```text
//! cargo run --release --example mlperf            # all four
//! cargo run --release --example mlperf -- kws     # one: kws, vww, ic, ad
//! cargo run --release --example mlperf -- kws --save data/weights/ds_cnn.safetensors
//! ```
//!
//! `--save PATH` saves the weights of the models trained, the last one's (with `kws`, the
//! DS-CNN's, which `examples/embedded` bakes and runs on a Cortex-M4F).

#[path = "mlperf/models.rs"]
mod models;

use models::{AutoEncoder, DsCnn, MobileNetV1, ResNet8};
use nn::loss::MseLoss;
use nn::optim::{Adam, Optimizer};
use nn::{Gradients, Network, Rng, Summary, Tape};

/// Prints `N`'s summary and trains it for `steps` Adam steps on one random batch against a
/// random target, printing the loss, which falls.
fn train<N: Network>(mut net: Box<N>, name: &str, batch: usize, steps: usize, save: Option<&str>) {
    println!("{name}\n{}", Summary::<N>::new());
    let mut rng = Rng::seed(1);
    let x: Vec<f32> = (0..batch * N::IN).map(|_| rng.randn()).collect();
    let target: Vec<f32> = (0..batch * N::OUT).map(|_| rng.randn()).collect();
    let (mut tape, mut grads) = (Tape::<N>::new(), Gradients::<N>::new());
    let mut adam = Adam::new(1e-3);
    for step in 1..=steps {
        grads.zero();
        tape.forward(&mut net, &x).expect("finite activations");
        let loss = tape.loss(&MseLoss, &target);
        tape.backward(&net, &x, &mut grads);
        adam.step(&mut *net, &grads);
        println!("  step {step}: loss {loss:.4}");
    }
    if let Some(path) = save {
        nn::io::save(&*net, path).expect("weights saved");
        println!("weights saved to {path}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().filter(|a| !a.starts_with("--"));
    let save = args
        .iter()
        .position(|a| a == "--save")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    let run = |name: &str| which.is_none_or(|w| w == name);
    if run("kws") {
        train(DsCnn::new(0), "keyword spotting, DS-CNN", 16, 5, save);
    }
    if run("vww") {
        train(
            MobileNetV1::new(0),
            "visual wake words, MobileNetV1 0.25",
            8,
            5,
            save,
        );
    }
    if run("ic") {
        train(
            ResNet8::new(0),
            "image classification, ResNet-8",
            16,
            5,
            save,
        );
    }
    if run("ad") {
        train(
            AutoEncoder::new(0),
            "anomaly detection, autoencoder",
            32,
            5,
            save,
        );
    }
}
