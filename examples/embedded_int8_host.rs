//! The host's int8 answers for the inputs that `examples/embedded_int8` runs on a Cortex-M0
//! and a Cortex-M4F, for `examples/embedded_int8/run.sh` to compare with QEMU's output line by
//! line: they must be equal, int8 output for int8 output.
//!
//! ```text
//! cargo run --release --example embedded_int8_host            # the answers
//! cargo run --release --example embedded_int8_host -- --save  # and the DS-CNN's inputs
//! ```
//!
//! The MNIST networks are the int8 files `cargo run --release --example mnist_int8 -- --save`
//! writes, loaded with `nn::int8::Quantized::load` and run by `Quantized::forward_int8` (the
//! host's kernels: AVX-512 VNNI or AVX2 where the CPU has them); the microcontroller bakes
//! the same files with `#[weights(.., dtype = int8)]`. The DS-CNN runs through the same baked
//! type as on the microcontroller, checked here against `Quantized::load` of its file too. Its
//! twelve inputs (`examples/embedded_int8/ds_cnn_inputs.i8`, one of each synthetic class,
//! quantised as the network's input) are drawn from a seed; `--save` writes them, and every
//! run checks that the file still holds what the seed draws.
//!
//! MLPerf Tiny's MobileNetV1 0.25, ResNet-8 and anomaly autoencoder, with weights drawn from
//! their seeds (`examples/mlperf/seeded.rs`, as `examples/embedded` draws them), are quantised
//! here on eight seeded inputs and written to `examples/embedded_int8/generated/` (not in the
//! repository; rewritten only when they change), where the microcontroller's build bakes
//! them; the host runs them loaded back with `Quantized::load`.

#[path = "mlperf/models.rs"]
#[allow(dead_code)]
mod models;
#[path = "mlperf/seeded.rs"]
#[allow(dead_code)]
mod seeded;
#[path = "mlperf/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

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

nn::network! {
    /// The DS-CNN in int8, baked as `examples/embedded_int8/src/models.rs` bakes it.
    #[input(1, 49, 10)]
    #[weights("data/weights/ds_cnn_int8.safetensors", dtype = int8)]
    pub struct DsCnnInt8<
        Conv2d<1, 64, (10, 4), stride = 2, padding = same>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        AvgPool2d<(25, 5)>, Flatten, Linear<64, 12>,
    >
}

static DS_CNN: DsCnnInt8 = DsCnnInt8::WEIGHTS;

/// The seed of the DS-CNN's inputs (the tests and `mlperf_int8` use 1 to 3) and their count.
const SEED: u64 = 4;
const DS_CNN_INPUTS: usize = 12;

/// One line per input, as the microcontroller prints it: the index of the largest int8
/// output (the first of equals) and the int8 outputs (past 16, the first 12 and a checksum of
/// all, `Σ (k + 1) · y_k`).
fn print(model: &str, i: usize, label: usize, y: &[i8]) {
    let best = (0..y.len()).fold(0, |b, k| if y[k] > y[b] { k } else { b });
    let shown = if y.len() > 16 { &y[..12] } else { y };
    let mut line: Vec<String> = shown.iter().map(i8::to_string).collect();
    if y.len() > 16 {
        let sum: i64 = (0..y.len()).map(|k| (k as i64 + 1) * i64::from(y[k])).sum();
        line.push(format!("... checksum {sum}"));
    }
    println!(
        "{model} {i}: label {label} predicted {best} int8 logits {}",
        line.join(" ")
    );
}

/// The seeded inputs `run` is shown, and the calibration's (others).
const SEEDED_INPUTS: usize = 2;
const CALIBRATION: std::ops::Range<usize> = 100..108;

/// `net` quantised on its calibration inputs, written at `path` unless the file there holds
/// the same bytes (so that the microcontroller's build is not redone for it), loaded back.
fn quantised<N: nn::Layer>(net: &N, path: &Path) -> Result<Quantized<N>, Box<dyn Error>> {
    let calibration: Vec<f32> = CALIBRATION.flat_map(|k| seeded::input(N::IN, k)).collect();
    let fresh = path.with_extension("new");
    Quantized::quantize(net, &calibration)?.save(&fresh)?;
    if std::fs::read(path).ok() == Some(std::fs::read(&fresh)?) {
        std::fs::remove_file(&fresh)?;
    } else {
        std::fs::rename(&fresh, path)?;
    }
    Ok(Quantized::load(path)?)
}

/// MobileNetV1, ResNet-8 and the autoencoder from their seeds, quantised, on their seeded
/// inputs.
fn seeded_models(root: &Path) -> Result<(), Box<dyn Error>> {
    let dir = root.join("examples/embedded_int8/generated");
    std::fs::create_dir_all(&dir)?;
    let mut mobilenet = models::MobileNetV1::new(0);
    seeded::he_normal(&mut *mobilenet, seeded::MOBILENET_SEED);
    let mobilenet = quantised(&*mobilenet, &dir.join("mobilenet_v1_int8.safetensors"))?;
    let mut resnet8 = models::ResNet8::new(0);
    seeded::he_normal(&mut *resnet8, seeded::RESNET8_SEED);
    let resnet8 = quantised(&*resnet8, &dir.join("resnet8_int8.safetensors"))?;
    let mut autoencoder = models::AutoEncoder::new(0);
    seeded::he_normal(&mut *autoencoder, seeded::AUTOENCODER_SEED);
    let autoencoder = quantised(&*autoencoder, &dir.join("autoencoder_int8.safetensors"))?;
    for k in 0..SEEDED_INPUTS {
        let q = mobilenet.input_quant();
        let x: [i8; 3 * 96 * 96] = std::array::from_fn(|j| q.quantize(seeded::input_value(j, k)));
        let y: [i8; 2] = mobilenet.forward_int8(&x);
        print("mobilenet", k, 0, &y);
    }
    for k in 0..SEEDED_INPUTS {
        let q = resnet8.input_quant();
        let x: [i8; 3 * 32 * 32] = std::array::from_fn(|j| q.quantize(seeded::input_value(j, k)));
        let y: [i8; 10] = resnet8.forward_int8(&x);
        print("resnet8", k, 0, &y);
    }
    for k in 0..SEEDED_INPUTS {
        let q = autoencoder.input_quant();
        let x: [i8; 640] = std::array::from_fn(|j| q.quantize(seeded::input_value(j, k)));
        let y: [i8; 640] = autoencoder.forward_int8(&x);
        print("autoencoder", k, 0, &y);
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let digits = std::fs::read(root.join("examples/embedded/digits.u8"))?;
    let labels = std::fs::read(root.join("examples/embedded/labels.u8"))?;
    let mlp = Quantized::<Mnist>::load(root.join("data/weights/mnist_int8.safetensors"))?;
    let cnn = Quantized::<Cnn>::load(root.join("data/weights/cnn_int8.safetensors"))?;
    // Each digit scaled as `nn::data` scales MNIST, then quantised by the network's input scale.
    let digit = |i: usize, quant: nn::int8::Quant| -> [i8; 784] {
        std::array::from_fn(|j| quant.quantize(f32::from(digits[i * 784 + j]) / 255.0))
    };
    for (i, &label) in labels.iter().enumerate() {
        let y: [i8; 10] = mlp.forward_int8(&digit(i, mlp.input_quant()));
        print("mlp", i, usize::from(label), &y);
    }
    for (i, &label) in labels.iter().enumerate() {
        let y: [i8; 10] = cnn.forward_int8(&digit(i, cnn.input_quant()));
        print("cnn", i, usize::from(label), &y);
    }

    let (x, classes) = synthetic::inputs(SEED, DS_CNN_INPUTS);
    let drawn: Vec<u8> = x
        .iter()
        .map(|&v| DsCnnInt8::INPUT.quantize(v) as u8)
        .collect();
    let file = root.join("examples/embedded_int8/ds_cnn_inputs.i8");
    if std::env::args().any(|a| a == "--save") {
        std::fs::write(&file, &drawn)?;
        eprintln!("wrote {}", file.display());
    }
    if std::fs::read(&file)? != drawn {
        return Err(format!(
            "{}: not the inputs seed {SEED} draws; write them with `-- --save`",
            file.display()
        )
        .into());
    }
    let loaded =
        Quantized::<models::DsCnn>::load(root.join("data/weights/ds_cnn_int8.safetensors"))?;
    for (i, (x, &class)) in drawn.chunks_exact(490).zip(&classes).enumerate() {
        let x: [i8; 490] = std::array::from_fn(|j| x[j] as i8);
        let y = DS_CNN.forward(&x);
        let want: [i8; 12] = loaded.forward_int8(&x);
        if y != want {
            return Err(format!(
                "DS-CNN input {i}: the baked network gives {y:?}, Quantized::load's {want:?}"
            )
            .into());
        }
        print("ds_cnn", i, class, &y);
    }
    seeded_models(root)
}
