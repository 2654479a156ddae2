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
    /// `examples/two_branch.rs`'s network, whose forward is code.
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

nn::network! {
    /// MLPerf Tiny's keyword-spotting DS-CNN (`examples/mlperf/models.rs`).
    #[input(1, 49, 10)]
    pub struct DsCnn<
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

nn::network! {
    /// `examples/conv_stack.rs`'s causal convolution stack.
    #[input(1, 256)]
    pub struct ConvStack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

/// Sample `t` of the streamed signal, as the embedded program computes it.
fn sample(t: usize) -> f32 {
    let p = (t % 32) as f32 / 16.0;
    let tri = if p < 1.0 { p } else { 2.0 - p };
    0.8 * tri - 0.4 + 0.05 * ((t * 13 % 7) as f32 - 3.0)
}

/// MLPerf Tiny's models, whose weights the embedded build draws from seeds.
#[path = "mlperf/models.rs"]
#[allow(dead_code)]
mod models;
#[path = "mlperf/seeded.rs"]
mod seeded;

/// The logits of one sample through `net`'s one-sample path.
fn logits<N: nn::Network>(net: &N, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; N::OUT];
    nn::Layer::forward(net, x, &mut y);
    y
}

/// A seeded model's line, as the embedded program prints it.
fn print_logits(model: &str, k: usize, logits: &[f32]) {
    let best = (0..logits.len()).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
    let shown: Vec<String> = logits.iter().map(|v| v.to_string()).collect();
    println!(
        "{model} {k}: seeded input predicted {best} logits {}",
        shown.join(" ")
    );
}

/// MLPerf Tiny's three seeded models on the inputs the embedded program draws: ResNet-8's and
/// MobileNetV1's logits, the autoencoder's anomaly score (the mean squared error of its
/// reconstruction, summed in the embedded program's order) and first 16 outputs.
fn seeded_models() {
    let mut resnet = models::ResNet8::new(0);
    seeded::he_normal(&mut *resnet, seeded::RESNET8_SEED);
    let mut mobilenet = models::MobileNetV1::new(0);
    seeded::he_normal(&mut *mobilenet, seeded::MOBILENET_SEED);
    let mut autoencoder = models::AutoEncoder::new(0);
    seeded::he_normal(&mut *autoencoder, seeded::AUTOENCODER_SEED);
    for k in 0..2 {
        print_logits(
            "resnet8",
            k,
            &logits(&*resnet, &seeded::input(3 * 32 * 32, k)),
        );
        print_logits(
            "mobilenet",
            k,
            &logits(&*mobilenet, &seeded::input(3 * 96 * 96, k)),
        );
        let x = seeded::input(640, k);
        let y = logits(&*autoencoder, &x);
        let mut score = 0.0f32;
        for (x, y) in x.iter().zip(&y) {
            score += (x - y) * (x - y);
        }
        score /= 640.0;
        let shown: Vec<String> = y[..16].iter().map(|v| v.to_string()).collect();
        println!(
            "anomaly {k}: seeded input score and outputs {score} {}",
            shown.join(" ")
        );
    }
}

nn::network! {
    /// A network of its own inside `Nested`.
    pub struct Head<Linear<3, 1>>
}

nn::network! {
    /// The embedded program's tiny network with a network inside.
    pub struct Nested<Linear<2, 3>, Tanh, Head>
}

/// One line per digit, as the embedded program prints it.
fn print_prediction(model: &str, i: usize, label: u8, logits: &[f32; 10]) {
    let mut best = 0;
    for (k, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = k;
        }
    }
    // Shortest round-trip decimals: two logits print alike exactly when their bits agree.
    let shown: Vec<String> = logits.iter().map(|v| v.to_string()).collect();
    println!(
        "{model} {i}: label {label} predicted {best} logits {}",
        shown.join(" ")
    );
}

/// The embedded program's digits and labels (see examples/embedded/README.md).
const DIGITS: &[u8] = include_bytes!("embedded/digits.u8");
const LABELS: &[u8] = include_bytes!("embedded/labels.u8");

fn main() -> Result<(), Box<dyn Error>> {
    let mut net = Mnist::new(0);
    net.load(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/weights/mnist.safetensors"))?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cnn = Cnn::new(0);
    cnn.load(root.join("data/weights/cnn.safetensors"))?;
    let mut two_branch = TwoBranch::new(0);
    two_branch.load(root.join("data/weights/two_branch.safetensors"))?;
    let mut ds_cnn = DsCnn::new(0);
    ds_cnn.load(root.join("data/weights/ds_cnn.safetensors"))?;
    for (i, (pixels, label)) in DIGITS.chunks_exact(784).zip(LABELS).enumerate() {
        // Scaled as `nn::data` scales MNIST, and as the embedded program does.
        let x: [f32; 784] = std::array::from_fn(|j| f32::from(pixels[j]) / 255.0);
        print_prediction("digit", i, *label, &net.forward(&x));
        print_prediction("cnn digit", i, *label, &cnn.forward(&x));
        print_prediction("two-branch digit", i, *label, &two_branch.forward(&x));
        // The DS-CNN on the digit's first 490 pixels, as the embedded program runs it.
        let x: [f32; 490] = std::array::from_fn(|j| x[j]);
        let logits = ds_cnn.forward(&x);
        let best = (0..12).fold(0, |b, k| if logits[k] > logits[b] { k } else { b });
        let shown: Vec<String> = logits.iter().map(|v| v.to_string()).collect();
        println!(
            "kws {i}: input digit predicted {best} logits {}",
            shown.join(" ")
        );
    }
    seeded_models();
    let mut nested = Nested::new(0);
    nested.load(root.join("tests/ui/weights/nested.safetensors"))?;
    println!("nested: {}", nested.forward(&[0.5, -1.0])[0]);
    // The convolution stack, one sample per call through its cells.
    let mut stack = ConvStack::new(0);
    stack.load(root.join("data/weights/conv_stack.safetensors"))?;
    let cells = (
        nn::Conv1dCell::new(&stack.conv1),
        nn::Tanh::<16>::default(),
        nn::Conv1dCell::new(&stack.conv2),
        nn::Conv1dCell::new(&stack.dense),
    );
    let mut contexts = Default::default();
    for t in 0..256 {
        let y = nn::Stream::step(&cells, &[sample(t)], &mut contexts)[0];
        if t < 32 || t == 255 {
            println!("stream {t}: {y}");
        }
    }
    Ok(())
}
