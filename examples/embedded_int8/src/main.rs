//! The MNIST MLP and CNN in int8 beside their f32 forms, on a Cortex-M0 (QEMU's microbit,
//! `thumbv6m-none-eabi`, no FPU, no DSP) and a Cortex-M4F (QEMU's mps2-an386,
//! `thumbv7em-none-eabihf`, with the DSP extension): one-sample inference with no heap on a
//! few held-out test digits, the int8 logits printed for `run.sh` to compare with the host's,
//! and for each model its flash, stack and instructions per inference, layer by layer.
//!
//! The int8 networks are laid down as `static` arrays by `build.rs` from the int8 files the
//! host writes, and run layer by layer through `nn::int8`'s kernels, integer only. The f32
//! networks are baked with `#[weights]` (the f32 MLP only on the Cortex-M4F: its 408 KB of
//! weights do not fit the Cortex-M0's 256 KB of flash).
//!
//! Instructions are counted by QEMU: run with `-icount shift=0`, every guest instruction
//! advances the virtual clock by exactly 1 ns, and SysTick, clocked from that virtual clock at
//! the board's CPU frequency, is read around each layer. A loop of known length calibrates it.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use nn::int8::{
    conv2d, depthwise_conv2d, linear, max_pool2d, Conv2dShape, Output, Padding, Pool2dShape,
    Requant, Weights,
};
use panic_semihosting as _;

/// A `static` array on a word boundary, so that kernels may read it a word at a time.
#[repr(C, align(4))]
pub struct Aligned<T>(pub T);

// `mlp` and `cnn`: each layer's `WEIGHT_N`, `BIAS_N`, `REQUANT_N`, `INPUT_ZERO_POINT_N`,
// `OUTPUT_N`, and the pixel → int8 table `INPUT` (see build.rs).
include!(concat!(env!("OUT_DIR"), "/int8_models.rs"));

#[cfg(not(cortex_m0))]
nn::network! {
    /// The MNIST network with the weights `cargo run --release --example mnist -- --save
    /// data/weights/mnist.safetensors` trained, baked in by the macro.
    #[weights("../../data/weights/mnist.safetensors")]
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

#[cfg(not(cortex_m0))]
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

#[cfg(not(cortex_m0))]
static MLP_F32: Mnist = Mnist::WEIGHTS;
#[cfg(not(cortex_m0))]
static CNN_F32: Cnn = Cnn::WEIGHTS;

/// Held-out MNIST test images 8,000..8,007 and their labels (`examples/embedded`'s).
static DIGITS: &[u8; DIGITS_LEN * 784] = include_bytes!("../../embedded/digits.u8");
static LABELS: &[u8; DIGITS_LEN] = include_bytes!("../../embedded/labels.u8");
const DIGITS_LEN: usize = 8;

/// The board.
#[cfg(cortex_m0)]
const BOARD: &str = "Cortex-M0 (QEMU microbit, nRF51, 32 KB RAM)";
#[cfg(not(cortex_m0))]
const BOARD: &str = "Cortex-M4F (QEMU mps2-an386)";

/// SysTick's clock, the CPU's: 16 MHz on the nRF51, 25 MHz on the MPS2.
#[cfg(cortex_m0)]
const CPU_HZ: u64 = 16_000_000;
#[cfg(not(cortex_m0))]
const CPU_HZ: u64 = 25_000_000;

/// SysTick's registers: control and status, reload value, current value.
const SYST_CSR: *mut u32 = 0xE000_E010 as *mut u32;
const SYST_RVR: *mut u32 = 0xE000_E014 as *mut u32;
const SYST_CVR: *mut u32 = 0xE000_E018 as *mut u32;

/// Starts SysTick counting down from 2^24 − 1 on the CPU clock, without interrupts.
fn start_systick() {
    // SAFETY: SysTick's architectural registers, present on every Cortex-M QEMU models;
    // nothing else in this program uses them.
    unsafe {
        core::ptr::write_volatile(SYST_RVR, 0x00FF_FFFF);
        core::ptr::write_volatile(SYST_CVR, 0);
        core::ptr::write_volatile(SYST_CSR, 0b101);
    }
}

/// SysTick's current value.
#[inline(always)]
fn ticks() -> u32 {
    // SAFETY: a read of SysTick's current-value register.
    unsafe { core::ptr::read_volatile(SYST_CVR) }
}

/// Instructions between two SysTick readings (it counts down, 24 bits), under
/// `-icount shift=0`: one instruction per nanosecond.
fn instructions(from: u32, to: u32) -> u64 {
    let elapsed = from.wrapping_sub(to) & 0x00FF_FFFF;
    elapsed as u64 * 1_000_000_000 / CPU_HZ
}

/// SysTick readings after each layer of one inference.
struct Laps {
    marks: [u32; 8],
    n: usize,
}

impl Laps {
    fn new() -> Laps {
        let mut laps = Laps {
            marks: [0; 8],
            n: 0,
        };
        laps.lap();
        laps
    }

    #[inline(always)]
    fn lap(&mut self) {
        self.marks[self.n] = ticks();
        self.n += 1;
    }

    /// Instructions of layer `k`.
    fn layer(&self, k: usize) -> u64 {
        instructions(self.marks[k], self.marks[k + 1])
    }

    /// Instructions of the whole inference.
    fn total(&self) -> u64 {
        instructions(self.marks[0], self.marks[self.n - 1])
    }
}

/// Per-channel weights of layer `N` of a model module.
macro_rules! weights {
    ($m:ident, $n:tt) => {
        paste_weights!($m, $n)
    };
}
macro_rules! paste_weights {
    ($m:ident, 0) => {
        Weights {
            weight: &$m::WEIGHT_0.0,
            bias: Some(&$m::BIAS_0),
            requant: &$m::REQUANT_0,
        }
    };
    ($m:ident, 2) => {
        Weights {
            weight: &$m::WEIGHT_2.0,
            bias: Some(&$m::BIAS_2),
            requant: &$m::REQUANT_2,
        }
    };
    ($m:ident, 3) => {
        Weights {
            weight: &$m::WEIGHT_3.0,
            bias: Some(&$m::BIAS_3),
            requant: &$m::REQUANT_3,
        }
    };
    ($m:ident, 7) => {
        Weights {
            weight: &$m::WEIGHT_7.0,
            bias: Some(&$m::BIAS_7),
            requant: &$m::REQUANT_7,
        }
    };
}

/// The int8 MLP: `Linear` 784→128 with its ReLU as the output's clamp, the batch norm as a
/// per-channel scale, `Linear` 128→10.
#[inline(never)]
fn mlp_int8(x: &[i8; 784], laps: &mut Laps) -> [i8; 10] {
    let mut h = [0i8; 128];
    linear(
        x,
        mlp::INPUT_ZERO_POINT_0,
        weights!(mlp, 0),
        mlp::OUTPUT_0,
        &mut h,
    );
    laps.lap();
    let mut g = [0i8; 128];
    let bn = Conv2dShape::tflite([128, 1, 1], 128, [1, 1], [1, 1], [1, 1], Padding::Valid);
    depthwise_conv2d(
        &bn,
        &h,
        mlp::INPUT_ZERO_POINT_2,
        weights!(mlp, 2),
        mlp::OUTPUT_2,
        &mut g,
    );
    laps.lap();
    let mut y = [0i8; 10];
    linear(
        &g,
        mlp::INPUT_ZERO_POINT_3,
        weights!(mlp, 3),
        mlp::OUTPUT_3,
        &mut y,
    );
    laps.lap();
    y
}

/// The MLP's layers: name and multiply-adds.
const MLP_LAYERS: [(&str, u64); 3] = [
    ("Linear 784->128 + ReLU", 784 * 128),
    ("BatchNorm 128 (per-channel scale)", 128),
    ("Linear 128->10", 128 * 10),
];

/// The int8 CNN: two 3×3 convolutions with their ReLUs, each followed by a 2×2 max pool,
/// then `Linear` 400→10.
#[inline(never)]
fn cnn_int8(x: &[i8; 784], laps: &mut Laps) -> [i8; 10] {
    let same = |zero_point| Output {
        zero_point,
        min: -128,
        max: 127,
    };
    let c1 = Conv2dShape::tflite([1, 28, 28], 8, [3, 3], [1, 1], [1, 1], Padding::Valid);
    let mut a = [0i8; 8 * 26 * 26];
    conv2d(
        &c1,
        x,
        cnn::INPUT_ZERO_POINT_0,
        weights!(cnn, 0),
        cnn::OUTPUT_0,
        &mut a,
    );
    laps.lap();
    let p1 = Pool2dShape::tflite([8, 26, 26], [2, 2], [2, 2], Padding::Valid);
    let mut b = [0i8; 8 * 13 * 13];
    max_pool2d(&p1, &a, same(cnn::OUTPUT_0.zero_point), &mut b);
    laps.lap();
    let c2 = Conv2dShape::tflite([8, 13, 13], 16, [3, 3], [1, 1], [1, 1], Padding::Valid);
    let mut c = [0i8; 16 * 11 * 11];
    conv2d(
        &c2,
        &b,
        cnn::INPUT_ZERO_POINT_3,
        weights!(cnn, 3),
        cnn::OUTPUT_3,
        &mut c,
    );
    laps.lap();
    let p2 = Pool2dShape::tflite([16, 11, 11], [2, 2], [2, 2], Padding::Valid);
    let mut d = [0i8; 400];
    max_pool2d(&p2, &c, same(cnn::OUTPUT_3.zero_point), &mut d);
    laps.lap();
    let mut y = [0i8; 10];
    linear(
        &d,
        cnn::INPUT_ZERO_POINT_7,
        weights!(cnn, 7),
        cnn::OUTPUT_7,
        &mut y,
    );
    laps.lap();
    y
}

/// The CNN's layers: name and multiply-adds.
const CNN_LAYERS: [(&str, u64); 5] = [
    ("Conv2d 1->8 3x3 + ReLU", 26 * 26 * 8 * 9),
    ("MaxPool2d 2", 0),
    ("Conv2d 8->16 3x3 + ReLU", 11 * 11 * 16 * 72),
    ("MaxPool2d 2", 0),
    ("Linear 400->10", 400 * 10),
];

#[cfg(not(cortex_m0))]
#[inline(never)]
fn mlp_f32(x: &[f32; 784]) -> [f32; 10] {
    MLP_F32.forward(x)
}

#[cfg(not(cortex_m0))]
#[inline(never)]
fn cnn_f32(x: &[f32; 784]) -> [f32; 10] {
    CNN_F32.forward(x)
}

/// The index of the largest value (the first of equals).
fn argmax<T: PartialOrd + Copy>(v: &[T; 10]) -> usize {
    (0..10).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

/// What the stack is painted with before inference; a word still holding it afterwards
/// was never written.
const PAINT: u32 = 0xDEAD_BEEF;

extern "C" {
    /// The end of the program's static data (cortex-m-rt's link.x): the stack may grow down
    /// to here.
    static __sheap: u32;
}

/// Runs `infer`, returning its result, the stack it took (the painted words below this
/// frame that it overwrote) and the instructions it executed.
#[inline(never)]
fn measured<T>(infer: impl FnOnce() -> T) -> (T, usize, u64) {
    let top = (stack_pointer() - 64) & !3;
    let bottom = (core::ptr::addr_of!(__sheap) as usize + 3) & !3;
    // SAFETY: `bottom..top` lies between the end of the static data and 64 bytes below this
    // frame's stack pointer: no live value is there; `paint` is inlined, so has no frame in it.
    unsafe { paint(bottom, top) };
    let start = ticks();
    let y = infer();
    let end = ticks();
    // SAFETY: the same region; `infer` has returned, so no frame is in it.
    let untouched = unsafe { untouched_words(bottom, top) };
    (y, top - bottom - 4 * untouched, instructions(start, end))
}

/// Prints one model's figures.
fn report(name: &str, flash: usize, stack: usize, instructions: u64, macs: u64) {
    hprintln!(
        "{}: {} bytes of model in flash, stack {} bytes, {} instructions per inference, {}.{:02} per multiply-add",
        name,
        flash,
        stack,
        instructions,
        instructions / macs,
        instructions * 100 / macs % 100
    );
}

#[entry]
fn main() -> ! {
    start_systick();
    hprintln!("nn int8 on a {}", BOARD);
    calibrate();
    check_kernels();
    let mlp_bytes = core::mem::size_of_val(&mlp::WEIGHT_0)
        + core::mem::size_of_val(&mlp::BIAS_0)
        + core::mem::size_of_val(&mlp::REQUANT_0)
        + core::mem::size_of_val(&mlp::WEIGHT_2)
        + core::mem::size_of_val(&mlp::BIAS_2)
        + core::mem::size_of_val(&mlp::REQUANT_2)
        + core::mem::size_of_val(&mlp::WEIGHT_3)
        + core::mem::size_of_val(&mlp::BIAS_3)
        + core::mem::size_of_val(&mlp::REQUANT_3)
        + core::mem::size_of_val(&mlp::INPUT);
    let cnn_bytes = core::mem::size_of_val(&cnn::WEIGHT_0)
        + core::mem::size_of_val(&cnn::BIAS_0)
        + core::mem::size_of_val(&cnn::REQUANT_0)
        + core::mem::size_of_val(&cnn::WEIGHT_3)
        + core::mem::size_of_val(&cnn::BIAS_3)
        + core::mem::size_of_val(&cnn::REQUANT_3)
        + core::mem::size_of_val(&cnn::WEIGHT_7)
        + core::mem::size_of_val(&cnn::BIAS_7)
        + core::mem::size_of_val(&cnn::REQUANT_7)
        + core::mem::size_of_val(&cnn::INPUT);
    let mlp_macs: u64 = MLP_LAYERS.iter().map(|l| l.1).sum();
    let cnn_macs: u64 = CNN_LAYERS.iter().map(|l| l.1).sum();
    // The most stack and instructions of any digit, and the layers of the last.
    let (mut mlp, mut cnn) = ((0, 0), (0, 0));
    let (mut mlp_laps, mut cnn_laps) = (Laps::new(), Laps::new());
    #[cfg(not(cortex_m0))]
    let mut mlp32 = (0, 0);
    #[cfg(not(cortex_m0))]
    let mut cnn32 = (0, 0);
    for (i, (pixels, &label)) in DIGITS.chunks_exact(784).zip(LABELS).enumerate() {
        let x: [i8; 784] = core::array::from_fn(|j| mlp::INPUT[pixels[j] as usize]);
        let ((y, laps), stack, n) = measured(|| {
            let mut laps = Laps::new();
            (mlp_int8(&x, &mut laps), laps)
        });
        mlp = (mlp.0.max(stack), mlp.1.max(n));
        mlp_laps = laps;
        print_int8("mlp", i, label, &y);
        let x: [i8; 784] = core::array::from_fn(|j| cnn::INPUT[pixels[j] as usize]);
        let ((y, laps), stack, n) = measured(|| {
            let mut laps = Laps::new();
            (cnn_int8(&x, &mut laps), laps)
        });
        cnn = (cnn.0.max(stack), cnn.1.max(n));
        cnn_laps = laps;
        print_int8("cnn", i, label, &y);
        // The f32 networks on the same digit, scaled as `nn::data` scales MNIST.
        #[cfg(not(cortex_m0))]
        {
            let x: [f32; 784] = core::array::from_fn(|j| f32::from(pixels[j]) / 255.0);
            let (y, stack, n) = measured(|| mlp_f32(&x));
            mlp32 = (mlp32.0.max(stack), mlp32.1.max(n));
            hprintln!("f32 mlp {}: label {} predicted {}", i, label, argmax(&y));
            let (y, stack, n) = measured(|| cnn_f32(&x));
            cnn32 = (cnn32.0.max(stack), cnn32.1.max(n));
            hprintln!("f32 cnn {}: label {} predicted {}", i, label, argmax(&y));
        }
    }
    for (k, (name, macs)) in MLP_LAYERS.iter().enumerate() {
        print_layer("int8 mlp", k, name, mlp_laps.layer(k), *macs);
    }
    for (k, (name, macs)) in CNN_LAYERS.iter().enumerate() {
        print_layer("int8 cnn", k, name, cnn_laps.layer(k), *macs);
    }
    hprintln!(
        "int8 mlp: {} instructions in its layers, {} with the readings",
        mlp_laps.total(),
        mlp.1
    );
    report("int8 mlp", mlp_bytes, mlp.0, mlp.1, mlp_macs);
    report("int8 cnn", cnn_bytes, cnn.0, cnn.1, cnn_macs);
    #[cfg(not(cortex_m0))]
    report(
        "f32 mlp",
        core::mem::size_of::<Mnist>(),
        mlp32.0,
        mlp32.1,
        784 * 128 + 128 * 10,
    );
    #[cfg(cortex_m0)]
    hprintln!(
        "f32 mlp: not built: its {} bytes of f32 weights do not fit the 256 KB of flash",
        4 * (784 * 128 + 128 + 4 * 128 + 128 * 10 + 10)
    );
    #[cfg(not(cortex_m0))]
    report(
        "f32 cnn",
        core::mem::size_of::<Cnn>(),
        cnn32.0,
        cnn32.1,
        cnn_macs,
    );
    #[cfg(cortex_m0)]
    hprintln!("f32 cnn: not built: its forward takes 44 KB of stack (the Cortex-M4F's measure), more than the 32 KB of RAM");
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// One int8 layer's instructions.
fn print_layer(model: &str, k: usize, name: &str, instructions: u64, macs: u64) {
    if macs == 0 {
        hprintln!(
            "{} layer {} ({}): {} instructions",
            model,
            k,
            name,
            instructions
        );
    } else {
        hprintln!(
            "{} layer {} ({}): {} instructions, {} multiply-adds, {}.{:02} per multiply-add",
            model,
            k,
            name,
            instructions,
            macs,
            instructions / macs,
            instructions * 100 / macs % 100
        );
    }
}

/// One line per digit and model, the same as the host's `cargo run --example
/// embedded_int8_host`.
fn print_int8(model: &str, i: usize, label: u8, l: &[i8; 10]) {
    hprintln!(
        "{} {}: label {} predicted {} int8 logits {} {} {} {} {} {} {} {} {} {}",
        model,
        i,
        label,
        argmax(l),
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

/// A reproducible int8 pattern covering the whole range (xorshift).
fn pattern(v: &mut [i8], seed: u32) {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    for v in v {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        *v = s as u8 as i8;
    }
}

/// Checks `nn::int8::linear`, as compiled for this target, against the plain loop of TFLite
/// Micro's reference on every remainder the kernels handle apart: input widths 1..=40 and
/// around the pieces they prepare at a time, row counts odd and even, weights starting at each
/// byte of a word, input zero points at both ends. Panics (and so fails the run) on the first
/// difference.
#[inline(never)]
fn check_kernels() {
    const WIDTHS: [usize; 8] = [63, 64, 65, 127, 128, 129, 255, 300];
    const ROWS: [usize; 7] = [1, 2, 3, 4, 5, 16, 17];
    let mut buffer = [0i8; 17 * 300 + 3];
    let mut x = [0i8; 300];
    let (mut cases, mut values) = (0, 0);
    let requant: [Requant; 17] = core::array::from_fn(|k| Requant {
        multiplier: (1 << 30) + 40_000_000 * k as i32,
        shift: -6 - (k as i32 % 5),
    });
    let bias: [i32; 17] = core::array::from_fn(|k| 1000 * k as i32 - 7000);
    let out = Output {
        zero_point: 3,
        min: -128,
        max: 127,
    };
    for n in (1..=40).chain(WIDTHS) {
        for rows in ROWS {
            let zp = [-128, 5, 127][cases % 3];
            let offset = cases % 4;
            let w = &mut buffer[offset..offset + rows * n];
            pattern(w, (n * 31 + rows) as u32);
            w[0] = -128;
            let x = &mut x[..n];
            pattern(x, (n * 7 + rows * 3) as u32);
            x[0] = 127;
            let (w, x) = (&*w, &*x);
            let mut got = [0i8; 17];
            let weights = Weights {
                weight: w,
                bias: Some(&bias[..rows]),
                requant: &requant[..rows],
            };
            linear(x, zp, weights, out, &mut got[..rows]);
            for r in 0..rows {
                let mut acc = bias[r];
                for i in 0..n {
                    acc += w[r * n + i] as i32 * (x[i] as i32 - zp);
                }
                let want = out.write(requant[r].apply(acc));
                assert_eq!(
                    got[r], want,
                    "linear of {} inputs, row {} of {}, zero point {}",
                    n, r, rows, zp
                );
                values += 1;
            }
            cases += 1;
        }
    }
    hprintln!(
        "kernel check: nn::int8::linear equals the reference loop on {} shapes ({} outputs)",
        cases,
        values
    );
}

/// Checks the count on a loop of known length, `subs` and `bne` a million times: two million
/// instructions, and the two readings' own instructions.
fn calibrate() {
    let empty = {
        let a = ticks();
        let b = ticks();
        instructions(a, b)
    };
    let start = ticks();
    let n: u32 = 1_000_000;
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, #1",
            "bne 2b",
            n = inout(reg) n => _,
            options(nomem, nostack)
        )
    };
    let end = ticks();
    hprintln!(
        "calibration: a loop of {} instructions counted as {} (two readings alone: {}; one tick is {} instructions)",
        2 * n,
        instructions(start, end),
        empty,
        1_000_000_000 / CPU_HZ
    );
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
