//! Three MNIST networks on a Cortex-M4F with no heap, an MLP, a convolutional network and
//! one whose forward is written as code, and MLPerf Tiny's four models (the keyword-spotting
//! DS-CNN trained, ResNet-8, MobileNetV1 and the autoencoder with weights drawn from seeds by
//! `build.rs`): weights baked into flash at compile time,
//! one-sample inference on a few held-out test digits, results over semihosting; and a causal
//! convolution stack streaming a signal one sample per call. Runs under QEMU's `mps2-an386`
//! board; see `run.sh`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprint, hprintln};
use nn::{Conv1dCell, Conv1dContext, Stream};
use panic_semihosting as _;

nn::network! {
    /// The MNIST network, with the weights `cargo run --release --example mnist
    /// -- --save data/weights/mnist.safetensors` trained, checked against these layers and
    /// baked in by the macro.
    #[weights("../../data/weights/mnist.safetensors")]
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

nn::network! {
    /// `examples/cnn.rs`'s network, with the weights `cargo run --release --example cnn --
    /// --save data/weights/cnn.safetensors` trained.
    #[weights("../../data/weights/cnn.safetensors")]
    #[input(1, 28, 28)]
    pub struct Cnn<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

nn::network! {
    /// `examples/two_branch.rs`'s network, whose forward is code, with the weights `cargo
    /// run --release --example two_branch -- --save data/weights/two_branch.safetensors`
    /// trained. Each value of its forward is an array on the stack.
    #[weights("../../data/weights/two_branch.safetensors")]
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
    /// MLPerf Tiny's keyword-spotting DS-CNN (`examples/mlperf/models.rs`), with the weights
    /// `cargo run --release --example mlperf -- kws --save data/weights/ds_cnn.safetensors`
    /// trained for a few steps on random data: depthwise convolutions, a 10 × 4 kernel with
    /// TensorFlow's `same` padding, a 25 × 5 average pool.
    #[weights("../../data/weights/ds_cnn.safetensors")]
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
    /// `examples/conv_stack.rs`'s causal convolution stack (RTNeural's: Conv1d(1→16, k3) →
    /// tanh → Conv1d(16→16, k3, dilation 2) → a dense 16→1 on every step), with the weights
    /// `cargo run --release --example conv_stack -- --save
    /// data/weights/conv_stack.safetensors` trained: a soft clipper with an echo.
    #[weights("../../data/weights/conv_stack.safetensors")]
    #[input(1, 256)]
    pub struct ConvStack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

nn::network! {
    /// A network of its own inside `Nested` (its tensors are `2.0.weight`, `2.0.bias`).
    pub struct Head<Linear<3, 1>>
}

nn::network! {
    /// A tiny network with a network inside, baked from `tests/ui/weights/nested.safetensors`:
    /// nesting costs nothing on the microcontroller.
    #[weights("../../tests/ui/weights/nested.safetensors")]
    pub struct Nested<Linear<2, 3>, Tanh, Head>
}

/// MLPerf Tiny's models as declared for the host (ResNet-8's stacks come from here).
#[path = "../../mlperf/models.rs"]
#[allow(dead_code)]
mod models;

use models::{DownStack, Stack};

nn::network! {
    /// MLPerf Tiny's ResNet-8 (`examples/mlperf/models.rs`), with weights drawn from a seed
    /// by `build.rs` (`examples/mlperf/seeded.rs`): a forward written as code, its stacks
    /// declared from the templates there, baked through the outer network's file.
    #[weights("generated/resnet8.safetensors")]
    pub struct ResNet8 {
        conv1: Conv2d<3, 16, 3, padding = same>,
        bn1: BatchNorm2d<16>,
        stack1: Stack!<16>,
        stack2: DownStack!<32, 2>,
        stack3: DownStack!<64, 2>,
        pool: AvgPool2d<8>,
        fc: Linear<64, 10>,
    }
    fn forward(x: Image<3, 32, 32>) -> out {
        let x = relu(self.bn1(self.conv1(x)));
        let x = self.stack3(self.stack2(self.stack1(x)));
        self.fc(flatten(self.pool(x)))
    }
}

nn::network! {
    /// MLPerf Tiny's visual wake words MobileNetV1 0.25 (`examples/mlperf/models.rs`), with
    /// weights drawn from a seed by `build.rs`.
    #[weights("generated/mobilenet_v1.safetensors")]
    #[input(3, 96, 96)]
    pub struct MobileNetV1<
        Conv2d<3, 8, 3, stride = 2, padding = same>, BatchNorm2d<8>, ReLU,
        Conv2d<8, 8, 3, padding = same, groups = 8>, BatchNorm2d<8>, ReLU,
        Conv2d<8, 16, 1>, BatchNorm2d<16>, ReLU,
        Conv2d<16, 16, 3, stride = 2, padding = same, groups = 16>, BatchNorm2d<16>, ReLU,
        Conv2d<16, 32, 1>, BatchNorm2d<32>, ReLU,
        Conv2d<32, 32, 3, padding = same, groups = 32>, BatchNorm2d<32>, ReLU,
        Conv2d<32, 32, 1>, BatchNorm2d<32>, ReLU,
        Conv2d<32, 32, 3, stride = 2, padding = same, groups = 32>, BatchNorm2d<32>, ReLU,
        Conv2d<32, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 1>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 64, 3, stride = 2, padding = same, groups = 64>, BatchNorm2d<64>, ReLU,
        Conv2d<64, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 1>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 128, 3, stride = 2, padding = same, groups = 128>, BatchNorm2d<128>, ReLU,
        Conv2d<128, 256, 1>, BatchNorm2d<256>, ReLU,
        Conv2d<256, 256, 3, padding = same, groups = 256>, BatchNorm2d<256>, ReLU,
        Conv2d<256, 256, 1>, BatchNorm2d<256>, ReLU,
        AdaptiveAvgPool2d<1>, Flatten, Linear<256, 2>,
    >
}

nn::network! {
    /// MLPerf Tiny's anomaly-detection autoencoder (`examples/mlperf/models.rs`), with
    /// weights drawn from a seed by `build.rs`.
    #[weights("generated/autoencoder.safetensors")]
    pub struct AutoEncoder<
        Linear<640, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 8>, BatchNorm<8>, ReLU,
        Linear<8, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 128>, BatchNorm<128>, ReLU,
        Linear<128, 640>,
    >
}

/// The models, in flash: no parsing and no copy at run time.
static MODEL: Mnist = Mnist::WEIGHTS;
static CNN: Cnn = Cnn::WEIGHTS;
static TWO_BRANCH: TwoBranch = TwoBranch::WEIGHTS;
static NESTED: Nested = Nested::WEIGHTS;
static DS_CNN: DsCnn = DsCnn::WEIGHTS;
static STACK: ConvStack = ConvStack::WEIGHTS;
static RESNET8: ResNet8 = ResNet8::WEIGHTS;
static MOBILENET: MobileNetV1 = MobileNetV1::WEIGHTS;
static AUTOENCODER: AutoEncoder = AutoEncoder::WEIGHTS;
/// Inputs drawn for each of the three seeded models.
const SEEDED_INPUTS: usize = 2;
/// The stack's layers laid out for streaming, made from the baked weights by the compiler.
static CELL1: Conv1dCell<1, 16, 3, 1, 1, 1> = Conv1dCell::new(&STACK.conv1);
static CELL2: Conv1dCell<16, 16, 3, 2, 1, 16> = Conv1dCell::new(&STACK.conv2);
static CELL3: Conv1dCell<16, 1, 1, 1, 1, 16> = Conv1dCell::new(&STACK.dense);
/// Samples of the streamed signal.
const SIGNAL: usize = 256;

/// Held-out MNIST test images 8,000..8,007, one byte per pixel (see README.md).
static DIGITS: &[u8; DIGITS_LEN * 784] = include_bytes!("../digits.u8");
/// Their labels.
static LABELS: &[u8; DIGITS_LEN] = include_bytes!("../labels.u8");
const DIGITS_LEN: usize = 8;

/// What the stack is painted with before inference; a word still holding it afterwards
/// was never written.
const PAINT: u32 = 0xDEAD_BEEF;
/// How far below the measuring function's frame the stack is painted: far more than one
/// inference needs (MobileNetV1 keeps 216 KB of values), far less than the 4 MiB of RAM above
/// the program's data.
const PAINT_BYTES: usize = 1024 * 1024;

#[entry]
fn main() -> ! {
    hprintln!(
        "nn on a Cortex-M4F: Mnist with {} parameters baked into flash ({} bytes)",
        Mnist::PARAMS,
        core::mem::size_of::<Mnist>()
    );
    hprintln!(
        "nn on a Cortex-M4F: Cnn with {} parameters baked into flash ({} bytes)",
        Cnn::PARAMS,
        core::mem::size_of::<Cnn>()
    );
    hprintln!(
        "nn on a Cortex-M4F: TwoBranch with {} parameters baked into flash ({} bytes)",
        TwoBranch::PARAMS,
        core::mem::size_of::<TwoBranch>()
    );
    hprintln!(
        "nn on a Cortex-M4F: DsCnn with {} parameters baked into flash ({} bytes)",
        DsCnn::PARAMS,
        core::mem::size_of::<DsCnn>()
    );
    hprintln!(
        "nn on a Cortex-M4F: ResNet8 with {} parameters ({} multiply-adds) baked into flash ({} bytes)",
        ResNet8::PARAMS,
        <ResNet8 as nn::Layer>::MACS,
        core::mem::size_of::<ResNet8>()
    );
    hprintln!(
        "nn on a Cortex-M4F: MobileNetV1 with {} parameters ({} multiply-adds) baked into flash ({} bytes)",
        MobileNetV1::PARAMS,
        <MobileNetV1 as nn::Layer>::MACS,
        core::mem::size_of::<MobileNetV1>()
    );
    hprintln!(
        "nn on a Cortex-M4F: AutoEncoder with {} parameters ({} multiply-adds) baked into flash ({} bytes)",
        AutoEncoder::PARAMS,
        <AutoEncoder as nn::Layer>::MACS,
        core::mem::size_of::<AutoEncoder>()
    );
    let mut deepest = [0; 4];
    for (i, (pixels, label)) in DIGITS.chunks_exact(784).zip(LABELS).enumerate() {
        // Scaled as `nn::data` scales MNIST.
        let x: [f32; 784] = core::array::from_fn(|j| f32::from(pixels[j]) / 255.0);
        let (logits, used) = measured(&x, infer_mlp);
        deepest[0] = deepest[0].max(used);
        print_prediction("digit", i, *label, &logits);
        let (logits, used) = measured(&x, infer_cnn);
        deepest[1] = deepest[1].max(used);
        print_prediction("cnn digit", i, *label, &logits);
        let (logits, used) = measured(&x, infer_two_branch);
        deepest[2] = deepest[2].max(used);
        print_prediction("two-branch digit", i, *label, &logits);
        // The DS-CNN on the digit's first 490 pixels, as a 49 × 10 image.
        let x: [f32; 490] = core::array::from_fn(|j| x[j]);
        let (logits, used) = measured(&x, infer_ds_cnn);
        deepest[3] = deepest[3].max(used);
        print_ds_cnn(i, &logits);
    }
    // MLPerf Tiny's three models whose weights `build.rs` drew from seeds, on inputs drawn
    // the same way on the host.
    let mut seeded = [0; 3];
    for k in 0..SEEDED_INPUTS {
        let x: [f32; 3 * 32 * 32] = core::array::from_fn(|j| input_value(j, k));
        let (logits, used) = measured(&x, infer_resnet8);
        seeded[0] = seeded[0].max(used);
        print_logits("resnet8", k, &logits);
        let x: [f32; 3 * 96 * 96] = core::array::from_fn(|j| input_value(j, k));
        let (logits, used) = measured(&x, infer_mobilenet);
        seeded[1] = seeded[1].max(used);
        print_logits("mobilenet", k, &logits);
        let x: [f32; 640] = core::array::from_fn(|j| input_value(j, k));
        let (y, used) = measured(&x, infer_autoencoder);
        seeded[2] = seeded[2].max(used);
        print_anomaly(k, &x, &y);
    }
    let [y] = NESTED.forward(&[0.5, -1.0]);
    hprintln!("nested: {}", y);
    // The convolution stack, one sample per call, then the whole signal in one pass.
    let x: [f32; SIGNAL] = core::array::from_fn(sample);
    let (streamed, stream_stack) = measured(&x, stream);
    for (t, y) in streamed.iter().enumerate().take(32) {
        hprintln!("stream {}: {}", t, y);
    }
    hprintln!("stream {}: {}", SIGNAL - 1, streamed[SIGNAL - 1]);
    let (whole, _) = measured(&x, infer_stack);
    let same = streamed
        .iter()
        .zip(&whole)
        .filter(|(a, b)| a.to_bits() == b.to_bits())
        .count();
    hprintln!(
        "streamed one sample at a time: {} of {} outputs equal the whole signal's, bit for bit",
        same,
        SIGNAL
    );
    // What the compiler says the activations take (`Layer::ACTIVATIONS`), beside the stack
    // painted and measured: the rest is the kernels' own scratch and the calls' frames.
    let bytes = |floats: usize| floats * core::mem::size_of::<f32>();
    hprintln!(
        "stack used by one inference: {} bytes (activations: {} bytes)",
        deepest[0],
        bytes(<Mnist as nn::Layer>::ACTIVATIONS)
    );
    hprintln!(
        "stack used by one CNN inference: {} bytes (activations: {} bytes)",
        deepest[1],
        bytes(<Cnn as nn::Layer>::ACTIVATIONS)
    );
    hprintln!(
        "stack used by one two-branch inference: {} bytes (activations: {} bytes)",
        deepest[2],
        bytes(<TwoBranch as nn::Layer>::ACTIVATIONS)
    );
    hprintln!(
        "stack used by one DS-CNN inference: {} bytes (activations: {} bytes)",
        deepest[3],
        bytes(<DsCnn as nn::Layer>::ACTIVATIONS)
    );
    hprintln!(
        "stack used by one ResNet-8 inference: {} bytes (activations: {} bytes)",
        seeded[0],
        <ResNet8 as nn::Layer>::ACTIVATION_BYTES
    );
    hprintln!(
        "stack used by one MobileNetV1 inference: {} bytes (activations: {} bytes)",
        seeded[1],
        <MobileNetV1 as nn::Layer>::ACTIVATION_BYTES
    );
    hprintln!(
        "stack used by one autoencoder inference: {} bytes (activations: {} bytes)",
        seeded[2],
        <AutoEncoder as nn::Layer>::ACTIVATION_BYTES
    );
    hprintln!(
        "stack used by streaming {} samples: {} bytes (the contexts: {} bytes)",
        SIGNAL,
        stream_stack,
        core::mem::size_of::<Contexts>()
    );
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// One line per digit and model, the same as the host's `cargo run --example embedded_host`.
fn print_prediction(model: &str, i: usize, label: u8, logits: &[f32; 10]) {
    let mut best = 0;
    for (k, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = k;
        }
    }
    // Shortest round-trip decimals: two logits print alike exactly when their bits agree.
    let l = logits;
    hprintln!(
        "{model} {i}: label {label} predicted {best} logits {} {} {} {} {} {} {} {} {} {}",
        l[0],
        l[1],
        l[2],
        l[3],
        l[4],
        l[5],
        l[6],
        l[7],
        l[8],
        l[9]
    );
}

/// The DS-CNN's line: its input's index, its class and its 12 logits, as the host prints it.
fn print_ds_cnn(i: usize, logits: &[f32; 12]) {
    let mut best = 0;
    for (k, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = k;
        }
    }
    let l = logits;
    hprintln!(
        "kws {i}: input digit predicted {best} logits {} {} {} {} {} {} {} {} {} {} {} {}",
        l[0],
        l[1],
        l[2],
        l[3],
        l[4],
        l[5],
        l[6],
        l[7],
        l[8],
        l[9],
        l[10],
        l[11]
    );
}

/// Value `j` of seeded input `k`, as `examples/mlperf/seeded.rs` computes it on the host.
fn input_value(j: usize, k: usize) -> f32 {
    ((j * 7919 + k * 104_729) % 2048) as f32 / 1024.0 - 1.0
}

/// A seeded model's line: its input's index, its class and its logits, as the host prints it.
fn print_logits<const N: usize>(model: &str, k: usize, logits: &[f32; N]) {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    hprint!("{model} {k}: seeded input predicted {best} logits");
    for v in logits {
        hprint!(" {}", v);
    }
    hprintln!();
}

/// The autoencoder's line: the anomaly score (the reconstruction's mean squared error, as
/// MLPerf Tiny scores it), then the first 16 outputs.
fn print_anomaly(k: usize, x: &[f32; 640], y: &[f32; 640]) {
    let mut score = 0.0;
    for (x, y) in x.iter().zip(y) {
        score += (x - y) * (x - y);
    }
    score /= 640.0;
    hprint!("anomaly {k}: seeded input score and outputs {}", score);
    for v in &y[..16] {
        hprint!(" {}", v);
    }
    hprintln!();
}

/// Runs `infer` on `x` and measures the stack it took: paints the stack below this
/// frame, infers, and counts the painted bytes that inference overwrote.
#[inline(never)]
fn measured<const I: usize, const O: usize>(
    x: &[f32; I],
    infer: fn(&[f32; I]) -> [f32; O],
) -> ([f32; O], usize) {
    let top = stack_pointer() & !3;
    let bottom = top - PAINT_BYTES;
    // SAFETY: `bottom..top` lies below this frame's stack pointer, in the 4 MiB of RAM that
    // hold only the stack above the program's few bytes of static data (memory.x), so no
    // live value is there; `paint` is inlined and so has no frame of its own in that range.
    unsafe { paint(bottom, top) };
    let logits = infer(x);
    // SAFETY: the same region, painted above; `infer` has returned, so no frame is in it.
    let untouched = unsafe { untouched_words(bottom, top) };
    (logits, PAINT_BYTES - 4 * untouched)
}

/// One-sample inference, in a frame of its own so that its stack use is all below `measured`'s.
#[inline(never)]
fn infer_mlp(x: &[f32; 784]) -> [f32; 10] {
    MODEL.forward(x)
}

/// The same for the convolutional network.
#[inline(never)]
fn infer_cnn(x: &[f32; 784]) -> [f32; 10] {
    CNN.forward(x)
}

/// The same for ResNet-8.
#[inline(never)]
fn infer_resnet8(x: &[f32; 3 * 32 * 32]) -> [f32; 10] {
    RESNET8.forward(x)
}

/// The same for MobileNetV1.
#[inline(never)]
fn infer_mobilenet(x: &[f32; 3 * 96 * 96]) -> [f32; 2] {
    MOBILENET.forward(x)
}

/// The same for the autoencoder.
#[inline(never)]
fn infer_autoencoder(x: &[f32; 640]) -> [f32; 640] {
    AUTOENCODER.forward(x)
}

/// The same for the DS-CNN.
#[inline(never)]
fn infer_ds_cnn(x: &[f32; 490]) -> [f32; 12] {
    DS_CNN.forward(x)
}

/// Sample `t` of the streamed signal: a triangle wave with a little deterministic noise,
/// computed the same way on the host.
fn sample(t: usize) -> f32 {
    let p = (t % 32) as f32 / 16.0;
    let tri = if p < 1.0 { p } else { 2.0 - p };
    0.8 * tri - 0.4 + 0.05 * ((t * 13 % 7) as f32 - 3.0)
}

/// The past inputs the stack's three convolutions carry between samples (the tanh carries
/// nothing).
type Contexts = (
    Conv1dContext<1, 3, 1>,
    (),
    Conv1dContext<16, 3, 2>,
    Conv1dContext<16, 1, 1>,
);

/// The stack one sample per call, its cells stepped as a tuple, its contexts carried from
/// call to call.
#[inline(never)]
fn stream(x: &[f32; SIGNAL]) -> [f32; SIGNAL] {
    let mut ctx: Contexts = Default::default();
    let tanh = nn::Tanh::<16>::default();
    let stack = (&CELL1, &tanh, &CELL2, &CELL3);
    let mut y = [0.0; SIGNAL];
    for (y, x) in y.iter_mut().zip(x) {
        *y = stack.step(&[*x], &mut ctx)[0];
    }
    y
}

/// The stack over the whole signal in one pass.
#[inline(never)]
fn infer_stack(x: &[f32; SIGNAL]) -> [f32; SIGNAL] {
    STACK.forward(x)
}

/// The same for the network whose forward is code.
#[inline(never)]
fn infer_two_branch(x: &[f32; 784]) -> [f32; 10] {
    TWO_BRANCH.forward(x)
}

/// The stack pointer of the calling function.
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies the stack pointer into a register; touches no memory.
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

/// Fills the words of `bottom..top` with `PAINT`.
///
/// # Safety
/// `bottom..top` must be word-aligned RAM that holds no live value, and stays so because
/// this is inlined into its caller (a frame of its own could lie in the range).
#[inline(always)]
unsafe fn paint(bottom: usize, top: usize) {
    for a in (bottom..top).step_by(4) {
        // SAFETY: in the range the caller guarantees; volatile, so the writes happen.
        unsafe { core::ptr::write_volatile(a as *mut u32, PAINT) };
    }
}

/// Counts the words of `bottom..top` that still hold `PAINT`, from `bottom` up to the first
/// one that was written.
///
/// # Safety
/// `bottom..top` must be word-aligned RAM that no live frame uses.
unsafe fn untouched_words(bottom: usize, top: usize) -> usize {
    let mut n = 0;
    for a in (bottom..top).step_by(4) {
        // SAFETY: in the range the caller guarantees is readable RAM.
        if unsafe { core::ptr::read_volatile(a as *const u32) } != PAINT {
            break;
        }
        n += 1;
    }
    n
}
