//! The int8 MNIST MLP and CNN and MLPerf Tiny's keyword-spotting DS-CNN beside their f32
//! forms, on a Cortex-M0 (QEMU's microbit, `thumbv6m-none-eabi`, no FPU, no DSP) and a
//! Cortex-M4F (QEMU's mps2-an386, `thumbv7em-none-eabihf`, with the DSP extension): one-sample
//! inference with no heap, the int8 outputs printed for `run.sh` to compare with the host's,
//! and for each model its flash, stack and instructions per inference, layer by layer.
//!
//! The int8 networks are baked by `#[weights(.., dtype = int8)]` (`models.rs`) and run
//! integer only; the f32 networks by `#[weights]`, on the Cortex-M4F only.
#![no_std]
#![no_main]

mod check;
mod measure;
mod models;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprint, hprintln};
use panic_semihosting as _;

use measure::{measured, Laps};
use models::{CnnInt8, DsCnnInt8, MnistInt8, CNN, CNN_PIXELS, DS_CNN, MLP, MLP_PIXELS};

/// Held-out MNIST test images 8,000..8,007 and their labels (`examples/embedded`'s).
static DIGITS: &[u8; DIGITS_LEN * 784] = include_bytes!("../../embedded/digits.u8");
static LABELS: &[u8; DIGITS_LEN] = include_bytes!("../../embedded/labels.u8");
const DIGITS_LEN: usize = 8;

/// Twelve int8 inputs of the DS-CNN, one of each of its synthetic classes, quantised as
/// `DsCnnInt8::INPUT`: written by `cargo run --release --example embedded_int8_host --
/// --save`, which checks on every run that they are still what it draws.
static DS_CNN_INPUTS: &[u8; DS_CNN_LEN * 490] = include_bytes!("../ds_cnn_inputs.i8");
const DS_CNN_LEN: usize = 12;

/// The board.
#[cfg(cortex_m0)]
const BOARD: &str = "Cortex-M0 (QEMU microbit, nRF51, 32 KB RAM)";
#[cfg(not(cortex_m0))]
const BOARD: &str = "Cortex-M4F (QEMU mps2-an386)";

/// Digit `i`, its pixels quantised through `table`, and its label.
fn digit(i: usize, table: &[i8; 256]) -> ([i8; 784], u8) {
    let pixels = &DIGITS[i * 784..][..784];
    (
        core::array::from_fn(|j| table[pixels[j] as usize]),
        LABELS[i],
    )
}

/// The DS-CNN's input `i` and its class.
fn ds_cnn_input(i: usize) -> ([i8; 490], u8) {
    let x = &DS_CNN_INPUTS[i * 490..][..490];
    (core::array::from_fn(|j| x[j] as i8), (i % 12) as u8)
}

/// Value `j` of seeded input `k`, in `[-1, 1)`: `examples/mlperf/seeded.rs`'s `input_value`,
/// integer arithmetic and one division by a power of two, so the same on every machine.
#[cfg(not(cortex_m0))]
fn input_value(j: usize, k: usize) -> f32 {
    ((j * 7919 + k * 104_729) % 2048) as f32 / 1024.0 - 1.0
}

/// The seeded inputs the MobileNet, ResNet-8 and the autoencoder run (the host's).
#[cfg(not(cortex_m0))]
const SEEDED_INPUTS: usize = 2;

/// A baked int8 network as `run_int8` drives it: `IN` inputs, `OUT` outputs, `S` bytes of
/// scratch.
struct Int8<const IN: usize, const OUT: usize, const S: usize> {
    name: &'static str,
    /// The network's bytes in flash (its baked struct, and its input table if it has one).
    flash: usize,
    layers: &'static [(&'static str, u64)],
    forward: fn(&[i8; IN]) -> [i8; OUT],
    forward_in: fn(&[i8; IN], &mut [i8; S]) -> [i8; OUT],
    forward_layers: ForwardLayers<IN, OUT, S>,
}

/// A network's `forward_layers`: the input, the scratch, what to call after each layer.
type ForwardLayers<const IN: usize, const OUT: usize, const S: usize> =
    fn(&[i8; IN], &mut [i8; S], &mut dyn FnMut(usize)) -> [i8; OUT];

/// Runs `net` on `samples` inputs, printing its int8 outputs, then its figures: the most
/// stack and instructions of any input, each layer's instructions, and the scratch measured
/// three ways (the bytes an inference writes in it, and the painted stack of `forward`,
/// which holds the scratch, and of `forward_in`, which does not).
#[inline(never)]
fn run_int8<const IN: usize, const OUT: usize, const S: usize>(
    net: &Int8<IN, OUT, S>,
    samples: usize,
    sample: impl Fn(usize) -> ([i8; IN], u8),
) {
    let (mut stack, mut count) = (0, 0);
    for i in 0..samples {
        let (x, label) = sample(i);
        let (y, used, n) = measured(|| (net.forward)(&x));
        (stack, count) = (stack.max(used), count.max(n));
        print_int8(net.name, i, label, &y);
    }
    let (x, _) = sample(0);
    let laps = layer_by_layer(net, &x);
    let mut macs = 0;
    for (k, &(layer, n)) in net.layers.iter().enumerate() {
        print_layer(net.name, k, layer, laps.layer(k), n);
        macs += n;
    }
    hprintln!(
        "int8 {}: its layers' instructions add up to {} (SysTick read after each)",
        net.name,
        laps.total()
    );
    report(&["int8 ", net.name], net.flash, stack, count, macs);
    let frames = frames(net, &x);
    hprintln!(
        "int8 {} scratch: SCRATCH_BYTES {}, written by an inference {}; painted stack of forward {} (the scratch on it), of forward_in {} (the scratch the caller's), difference {}",
        net.name,
        S,
        written(net, &x),
        stack,
        frames,
        stack as isize - frames as isize
    );
}

/// One inference with SysTick read after each layer.
#[inline(never)]
fn layer_by_layer<const IN: usize, const OUT: usize, const S: usize>(
    net: &Int8<IN, OUT, S>,
    x: &[i8; IN],
) -> Laps {
    let mut scratch = [0i8; S];
    let mut laps = Laps::new();
    (net.forward_layers)(x, &mut scratch, &mut |_| laps.lap());
    laps
}

/// The painted stack of `forward_in`, its scratch in this frame, above the painted region.
#[inline(never)]
fn frames<const IN: usize, const OUT: usize, const S: usize>(
    net: &Int8<IN, OUT, S>,
    x: &[i8; IN],
) -> usize {
    let mut scratch = [0i8; S];
    measured(|| (net.forward_in)(x, &mut scratch)).1
}

/// The scratch bytes one inference writes: run twice, over two different fills, a byte is
/// written if it differs from the fill after either run (the same inference writes the same
/// values both times).
#[inline(never)]
fn written<const IN: usize, const OUT: usize, const S: usize>(
    net: &Int8<IN, OUT, S>,
    x: &[i8; IN],
) -> usize {
    #[cfg(cortex_m0)]
    const WORDS: usize = 512;
    #[cfg(not(cortex_m0))]
    const WORDS: usize = 2048;
    assert!(S <= 32 * WORDS, "a larger scratch than this check holds");
    let mut seen = [0u32; WORDS];
    let mut scratch = [0i8; S];
    for fill in [0x5a, -0x5b] {
        scratch.fill(fill);
        (net.forward_in)(x, &mut scratch);
        for (k, &b) in scratch.iter().enumerate() {
            if b != fill {
                seen[k / 32] |= 1 << (k % 32);
            }
        }
    }
    seen.iter().map(|w| w.count_ones() as usize).sum()
}

/// Prints one model's figures.
fn report(name: &[&str], flash: usize, stack: usize, instructions: u64, macs: u64) {
    for part in name {
        hprint!("{}", part);
    }
    hprintln!(
        ": {} bytes of model in flash, stack {} bytes, {} instructions per inference, {}.{:02} per multiply-add",
        flash,
        stack,
        instructions,
        instructions / macs,
        instructions * 100 / macs % 100
    );
}

/// One int8 layer's instructions.
fn print_layer(model: &str, k: usize, name: &str, instructions: u64, macs: u64) {
    hprint!(
        "int8 {} layer {} ({}): {} instructions",
        model,
        k,
        name,
        instructions
    );
    if macs == 0 {
        hprintln!();
    } else {
        hprintln!(
            ", {} multiply-adds, {}.{:02} per multiply-add",
            macs,
            instructions / macs,
            instructions * 100 / macs % 100
        );
    }
}

/// The index of the largest value (the first of equals).
fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

/// One line per input and model, the same as the host's `cargo run --example
/// embedded_int8_host`: past 16 outputs, the first 12 and a checksum of all.
fn print_int8(model: &str, i: usize, label: u8, y: &[i8]) {
    hprint!(
        "{} {}: label {} predicted {} int8 logits",
        model,
        i,
        label,
        argmax(y)
    );
    let shown = if y.len() > 16 { &y[..12] } else { y };
    for v in shown {
        hprint!(" {}", v);
    }
    if y.len() > 16 {
        let sum: i64 = (0..y.len()).map(|k| (k as i64 + 1) * i64::from(y[k])).sum();
        hprint!(" ... checksum {}", sum);
    }
    hprintln!();
}

#[entry]
fn main() -> ! {
    measure::start_systick();
    hprintln!("nn int8 on a {}", BOARD);
    measure::calibrate();
    check::check_kernels();
    let mlp = Int8 {
        name: "mlp",
        flash: core::mem::size_of::<MnistInt8>() + MLP_PIXELS.len(),
        layers: &MnistInt8::LAYERS,
        forward: |x| MLP.forward(x),
        forward_in: |x, s| MLP.forward_in(x, s),
        forward_layers: |x, s, after| MLP.forward_layers(x, s, after),
    };
    run_int8(&mlp, DIGITS_LEN, |i| digit(i, &MLP_PIXELS));
    let cnn = Int8 {
        name: "cnn",
        flash: core::mem::size_of::<CnnInt8>() + CNN_PIXELS.len(),
        layers: &CnnInt8::LAYERS,
        forward: |x| CNN.forward(x),
        forward_in: |x, s| CNN.forward_in(x, s),
        forward_layers: |x, s, after| CNN.forward_layers(x, s, after),
    };
    run_int8(&cnn, DIGITS_LEN, |i| digit(i, &CNN_PIXELS));
    let ds_cnn = Int8 {
        name: "ds_cnn",
        flash: core::mem::size_of::<DsCnnInt8>(),
        layers: &DsCnnInt8::LAYERS,
        forward: |x| DS_CNN.forward(x),
        forward_in: |x, s| DS_CNN.forward_in(x, s),
        forward_layers: |x, s, after| DS_CNN.forward_layers(x, s, after),
    };
    run_int8(&ds_cnn, DS_CNN_LEN, ds_cnn_input);
    #[cfg(not(cortex_m0))]
    seeded_models();
    f32_models();
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// MLPerf Tiny's MobileNetV1, ResNet-8 and autoencoder, with seeded weights, on seeded inputs.
#[cfg(not(cortex_m0))]
fn seeded_models() {
    use models::{AutoEncoderInt8, MobileNetInt8, ResNet8Int8, AUTOENCODER, MOBILENET, RESNET8};
    let mobilenet = Int8 {
        name: "mobilenet",
        flash: core::mem::size_of::<MobileNetInt8>(),
        layers: &MobileNetInt8::LAYERS,
        forward: |x| MOBILENET.forward(x),
        forward_in: |x, s| MOBILENET.forward_in(x, s),
        forward_layers: |x, s, after| MOBILENET.forward_layers(x, s, after),
    };
    run_int8(&mobilenet, SEEDED_INPUTS, |k| {
        let q = MobileNetInt8::INPUT;
        (core::array::from_fn(|j| q.quantize(input_value(j, k))), 0)
    });
    let resnet8 = Int8 {
        name: "resnet8",
        flash: core::mem::size_of::<ResNet8Int8>(),
        layers: &ResNet8Int8::LAYERS,
        forward: |x| RESNET8.forward(x),
        forward_in: |x, s| RESNET8.forward_in(x, s),
        forward_layers: |x, s, after| RESNET8.forward_layers(x, s, after),
    };
    run_int8(&resnet8, SEEDED_INPUTS, |k| {
        let q = ResNet8Int8::INPUT;
        (core::array::from_fn(|j| q.quantize(input_value(j, k))), 0)
    });
    let autoencoder = Int8 {
        name: "autoencoder",
        flash: core::mem::size_of::<AutoEncoderInt8>(),
        layers: &AutoEncoderInt8::LAYERS,
        forward: |x| AUTOENCODER.forward(x),
        forward_in: |x, s| AUTOENCODER.forward_in(x, s),
        forward_layers: |x, s, after| AUTOENCODER.forward_layers(x, s, after),
    };
    run_int8(&autoencoder, SEEDED_INPUTS, |k| {
        let q = AutoEncoderInt8::INPUT;
        (core::array::from_fn(|j| q.quantize(input_value(j, k))), 0)
    });
}

/// The f32 networks on the same inputs, for their figures beside the int8 ones.
#[cfg(not(cortex_m0))]
fn f32_models() {
    use core::mem::size_of_val as size;
    use models::{CNN_F32, DS_CNN_F32, MLP_F32};
    let macs = |layers: &[(&str, u64)]| layers.iter().map(|l| l.1).sum::<u64>();
    let (mut mlp, mut cnn, mut ds_cnn) = ((0, 0), (0, 0), (0, 0));
    for (i, (pixels, &label)) in DIGITS.chunks_exact(784).zip(LABELS).enumerate() {
        // Scaled as `nn::data` scales MNIST.
        let x: [f32; 784] = core::array::from_fn(|j| f32::from(pixels[j]) / 255.0);
        let (y, stack, n) = measured(|| MLP_F32.forward(&x));
        mlp = (mlp.0.max(stack), mlp.1.max(n));
        hprintln!("f32 mlp {}: label {} predicted {}", i, label, argmax(&y));
        let (y, stack, n) = measured(|| CNN_F32.forward(&x));
        cnn = (cnn.0.max(stack), cnn.1.max(n));
        hprintln!("f32 cnn {}: label {} predicted {}", i, label, argmax(&y));
    }
    for i in 0..DS_CNN_LEN {
        // The int8 inputs as reals (the f32 network's weights are other than the int8 file's,
        // so its classes are not compared).
        let x = ds_cnn_input(i).0.map(|v| DsCnnInt8::INPUT.dequantize(v));
        let (_, stack, n) = measured(|| DS_CNN_F32.forward(&x));
        ds_cnn = (ds_cnn.0.max(stack), ds_cnn.1.max(n));
    }
    report(
        &["f32 mlp"],
        size(&MLP_F32),
        mlp.0,
        mlp.1,
        macs(&MnistInt8::LAYERS),
    );
    report(
        &["f32 cnn"],
        size(&CNN_F32),
        cnn.0,
        cnn.1,
        macs(&CnnInt8::LAYERS),
    );
    let ds_cnn_macs = macs(&DsCnnInt8::LAYERS);
    report(
        &["f32 ds_cnn"],
        size(&DS_CNN_F32),
        ds_cnn.0,
        ds_cnn.1,
        ds_cnn_macs,
    );
}

/// The f32 networks do not fit the Cortex-M0 beside the int8 ones.
#[cfg(cortex_m0)]
fn f32_models() {
    hprintln!(
        "f32 mlp: not built: its {} bytes of f32 weights do not fit the 256 KB of flash",
        4 * (784 * 128 + 128 + 4 * 128 + 128 * 10 + 10)
    );
    hprintln!("f32 cnn: not built: its forward's 28 KB of stack (the Cortex-M4F's measure) and the program's own overflow the 32 KB of RAM");
    hprintln!("f32 ds_cnn: not built: its forward takes 64 KB of stack (the Cortex-M4F's measure), more than the 32 KB of RAM");
}
