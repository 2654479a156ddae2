//! The host's int8 answers for the digits that `examples/embedded_int8` classifies on a
//! Cortex-M0 and a Cortex-M4F, for `examples/embedded_int8/run.sh` to compare with QEMU's
//! output line by line: they must be equal, int8 logit for int8 logit.
//!
//! ```text
//! cargo run --release --example embedded_int8_host
//! ```
//!
//! The networks are the int8 files `cargo run --release --example mnist_int8 -- --save`
//! writes, loaded with `nn::int8::Quantized::load` and run by
//! `Quantized::forward_int8` (the host's kernels: AVX-512 VNNI or AVX2 where the CPU has
//! them); the microcontroller runs the same files laid down as `static` arrays by its build
//! script, through the same kernels compiled for it.

use std::error::Error;
use std::path::Path;

use nn::int8::Quantized;

nn::network! {
    /// The MNIST network: 784-128 ReLU BatchNorm 128-10.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

nn::network! {
    /// `examples/cnn.rs`'s network.
    #[input(1, 28, 28)]
    pub struct Cnn<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

/// One line per digit, as the microcontroller prints it: the class of the largest int8
/// logit (the first of equals) and the ten int8 logits.
fn print(model: &str, i: usize, label: u8, logits: &[i8; 10]) {
    let best = (0..10).fold(0, |b, k| if logits[k] > logits[b] { k } else { b });
    let l: Vec<String> = logits.iter().map(i8::to_string).collect();
    println!(
        "{model} {i}: label {label} predicted {best} int8 logits {}",
        l.join(" ")
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let digits = std::fs::read(root.join("examples/embedded/digits.u8"))?;
    let labels = std::fs::read(root.join("examples/embedded/labels.u8"))?;
    let mlp = Quantized::<Mnist>::load(root.join("data/weights/mnist_int8.safetensors"))?;
    let cnn = Quantized::<Cnn>::load(root.join("data/weights/cnn_int8.safetensors"))?;
    for (i, (pixels, &label)) in digits.chunks_exact(784).zip(&labels).enumerate() {
        // Scaled as `nn::data` scales MNIST, then quantised by each network's input scale.
        let x: [f32; 784] = std::array::from_fn(|j| f32::from(pixels[j]) / 255.0);
        let q = |quant: nn::int8::Quant| x.map(|v| quant.quantize(v));
        print("mlp", i, label, &mlp.forward_int8(&q(mlp.input_quant())));
        print("cnn", i, label, &cnn.forward_int8(&q(cnn.input_quant())));
    }
    Ok(())
}
