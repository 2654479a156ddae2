//! The host's answers for the digits that `examples/embedded` classifies on a Cortex-M4F,
//! for `examples/embedded/run.sh` to compare with QEMU's output line by line.
//!
//! ```text
//! cargo run --release --example embedded_host
//! ```
//!
//! Unlike the embedded program, which bakes the weights in with `#[weights]`, this loads
//! them at run time through `nn::io::load`: the two paths must agree.

use std::error::Error;
use std::path::Path;

nn::network! {
    /// The design card's network.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

/// The embedded program's digits and labels (see examples/embedded/README.md).
const DIGITS: &[u8] = include_bytes!("embedded/digits.u8");
const LABELS: &[u8] = include_bytes!("embedded/labels.u8");

fn main() -> Result<(), Box<dyn Error>> {
    let mut net = Mnist::new(0);
    net.load(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/weights/mnist.safetensors"))?;
    for (i, (pixels, label)) in DIGITS.chunks_exact(784).zip(LABELS).enumerate() {
        // Scaled as `nn::data` scales MNIST, and as the embedded program does.
        let x: [f32; 784] = std::array::from_fn(|j| f32::from(pixels[j]) / 255.0);
        let logits = net.forward(&x);
        let mut best = 0;
        for (k, &v) in logits.iter().enumerate() {
            if v > logits[best] {
                best = k;
            }
        }
        // Shortest round-trip decimals: two logits print alike exactly when their bits agree.
        let shown: Vec<String> = logits.iter().map(|v| v.to_string()).collect();
        println!(
            "digit {i}: label {label} predicted {best} logits {}",
            shown.join(" ")
        );
    }
    Ok(())
}
