//! The speed report: one core's FMA peak, then the MNIST network (784-128 ReLU BatchNorm
//! 128-10), the CNN of `examples/cnn.rs`, pytorch/examples' MNIST `Net` and the VAE of
//! `examples/vae.rs`, MLPerf Tiny's DS-CNN and ResNet-8 (`speed/mlperf.rs`) here, PyTorch on
//! the same cases in the same run, and, for the MNIST network and the VAE's training step,
//! the bare matrix products as the floor, and the same network in int8 (`speed/int8.rs`); then the recurrent layers, one step at a time and over a whole signal (`speed/recurrent.rs`).
//!
//! ```text
//! cargo bench --bench speed                                           # one thread
//! cargo bench --bench speed --features threading                      # one and two threads
//! NN_BENCH_THREADS=1,4,16 cargo bench --bench speed --features threading  # these counts
//! NN_BENCH_CASES=gru,lstm cargo bench --bench speed                   # the cases named so
//! ```
//!
//! `NN_BENCH_CASES` keeps the cases whose name contains one of its comma-separated words
//! (`train_step`, `inference`, `cnn`, `net_inference`, `gru_step`, `lstm_signal`, ...), here and
//! in PyTorch's run.
//!
//! Every figure is a median over 7 rounds of the mean time per repetition, the method of
//! `tools/pytorch_bench.py`. PyTorch runs from `NN_BENCH_PYTHON` (default: `.venv/bin/python`,
//! then `python3`) with as many threads as nn, through `tools/pytorch_bench.py` and, for the
//! VAE, `tools/pytorch_vae.py --bench`, whose model is the one its training run uses; without
//! it its columns read `n/a`.
//!
//! "of peak" is the rate achieved, counting 2 flops per multiply-add of the matrix products
//! and convolutions and nothing else (see [`flops`]), over the FMA peak of as many cores as
//! threads (at most the machine's), one core's peak measured first by [`fma_peak`]. nn splits
//! large products over every thread of the pool (`nn::gemm`) and batched convolutions in
//! chunks of 16 samples; the passes around them split by elements, rows or features when
//! large enough (`nn-core/src/kernels/parts.rs`).
//!
//! Products run on the kernel `nn::gemm::kernel()` chose (the widest the CPU has; set
//! `NN_KERNEL=avx2`, `avx512` or `matrixmultiply` to choose). Each of nn's cases alternates,
//! round by round in one process, that kernel with `matrixmultiply` ("mm µs", the same
//! case on `matrixmultiply`), so that a loaded machine slows both alike; "allocs" counts the
//! heap allocations of one steady-state call on the calling thread.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use nn::gemm::{gemm, MatMut, MatRef};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Gradients, Rng, Tape};

nn::network! {
    /// The MNIST network: 784-128 ReLU BatchNorm 128-10.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

nn::network! {
    /// The CNN of `examples/cnn.rs`.
    #[input(1, 28, 28)]
    pub struct Cnn<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

nn::network! {
    /// pytorch/examples' MNIST `Net` as it runs in eval mode: its two dropouts are the
    /// identity there and are left out, as is its final `log_softmax`, here and in
    /// `tools/pytorch_bench.py` alike.
    #[input(1, 28, 28)]
    pub struct Net<
        Conv2d<1, 32, 3>, ReLU, Conv2d<32, 64, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<9216, 128>, ReLU, Linear<128, 10>,
    >
}

nn::network! {
    /// pytorch/examples' VAE, as `examples/vae.rs` declares it.
    pub struct Vae {
        fc1: Linear<784, 400>,
        fc21: Linear<400, 20>,
        fc22: Linear<400, 20>,
        fc3: Linear<20, 400>,
        fc4: Linear<400, 784>,
    }
    fn forward(x: Features<784>) -> (recon, mu, logvar) {
        let h1 = relu(self.fc1(x));
        let mu = self.fc21(h1);
        let logvar = self.fc22(h1);
        let std = exp(0.5 * logvar);
        let z = mu + randn_like(std) * std;
        (sigmoid(self.fc4(relu(self.fc3(z)))), mu, logvar)
    }
    fn loss(target: Features<784>) {
        let bce = binary_cross_entropy(recon, target, reduction = sum);
        let kld = -0.5 * sum(1.0 + logvar - mu.pow(2) - logvar.exp());
        bce + kld
    }
}

#[path = "speed/int8.rs"]
mod int8;
#[path = "speed/mlperf.rs"]
mod mlperf;
#[path = "speed/peak.rs"]
mod peak;
#[path = "speed/recurrent.rs"]
mod recurrent;

use peak::{cpuinfo_mhz, fma_peak};

const ROUNDS: usize = 7;

// Counts the allocations of one call of each case (its `peak_bytes` goes unused here).
#[allow(dead_code)]
#[path = "../tests/common/counting.rs"]
mod counting;

/// Whether [`median_us`] alternates the chosen kernel with `matrixmultiply` and counts
/// allocations: while nn's cases run.
static COMPARE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    /// What the last [`median_us`] under [`COMPARE`] saw besides its figure:
    /// `matrixmultiply`'s median µs and the allocations of one call.
    static SIDE: std::cell::Cell<(f64, usize)> = const { std::cell::Cell::new((f64::NAN, 0)) };
}

// FLOP counts: 2 per multiply-add of the matrix products and convolutions, and nothing else.
// Bias adds, activations, pooling, batch norm, the loss and the optimizer's update are
// elementwise and left out, so "of peak" slightly understates the work done. A training step
// does, for each layer with a product, the forward product, the weight gradient and the input
// gradient, each with the same multiply-adds; the first layer's input gradient is the
// exception, as nothing asks for it: `Tape::backward` passes that layer no `dx`, and PyTorch
// skips it for an input without `requires_grad`. So training is 3 × forward − first layer.

/// Multiply-adds of one sample through a convolution with a `k × k` kernel onto a square
/// `out × out` output: each of its `cout · out²` outputs sums `cin · k²` products.
const fn conv_macs(cin: usize, cout: usize, k: usize, out: usize) -> usize {
    cout * out * out * cin * k * k
}

/// Multiply-adds per sample of the MNIST network's products, first layer to last:
/// 100,352 + 1,280 = 101,632 forward, 3 × 101,632 − 100,352 = 204,544 in training, the
/// products of [`train_products`] (checked in `main`).
const MLP_MACS: [usize; 2] = [784 * 128, 128 * 10];

/// Multiply-adds per sample of the CNN's layers: conv1 1→8 k3, 28×28 → 26×26 (48,672; pooled
/// to 13×13), conv2 8→16 k3, 13×13 → 11×11 (139,392; pooled to 5×5), linear 400→10
/// (4,000). Forward 192,064; training 3 × 192,064 − 48,672 = 527,520.
const CNN_MACS: [usize; 3] = [conv_macs(1, 8, 3, 26), conv_macs(8, 16, 3, 11), 400 * 10];

/// Multiply-adds per sample of `Net`'s layers: conv1 1→32 k3, 28×28 → 26×26 (194,688),
/// conv2 32→64 k3, 26×26 → 24×24 (10,616,832; pooled to 12×12, 9,216 values), fc1 9216→128
/// (1,179,648), fc2 128→10 (1,280). Forward 11,992,448.
const NET_MACS: [usize; 4] = [
    conv_macs(1, 32, 3, 26),
    conv_macs(32, 64, 3, 24),
    9216 * 128,
    128 * 10,
];

/// Multiply-adds per sample of the VAE's layers: fc1 784→400 (313,600), fc21 and fc22
/// 400→20 (8,000 each), fc3 20→400 (8,000), fc4 400→784 (313,600). Forward 651,200;
/// training 3 × 651,200 − 313,600 = 1,640,000, the products of [`vae_train_products`].
const VAE_MACS: [usize; 5] = [784 * 400, 400 * 20, 400 * 20, 20 * 400, 400 * 784];

/// Multiply-adds per sample of a forward pass through layers with these products.
fn forward_macs(layers: &[usize]) -> usize {
    layers.iter().sum()
}

/// Multiply-adds per sample of a training step: 3 × forward less the first layer's input
/// gradient.
fn train_macs(layers: &[usize]) -> usize {
    3 * forward_macs(layers) - layers[0]
}

/// FLOPs of one call of a case at `batch`, as counted above.
fn flops(case: &str, batch: usize) -> f64 {
    let per_sample = match case {
        "train_step" => train_macs(&MLP_MACS),
        "inference" | "int8_inference" => forward_macs(&MLP_MACS),
        "cnn_train_step" => train_macs(&CNN_MACS),
        "cnn_inference" => forward_macs(&CNN_MACS),
        "net_inference" => forward_macs(&NET_MACS),
        "vae_train_step" => train_macs(&VAE_MACS),
        "vae_inference" => forward_macs(&VAE_MACS),
        _ => return mlperf::flops(case, batch).unwrap_or(f64::NAN),
    };
    2.0 * (per_sample * batch) as f64
}

/// The cases, as the child process and PyTorch name them.
const CASES: [&str; 7] = [
    "train_step",
    "inference",
    "cnn_train_step",
    "cnn_inference",
    "net_inference",
    "vae_train_step",
    "vae_inference",
];

/// Whether case `case` runs: `NN_BENCH_CASES` (comma-separated) names a part of it, or is
/// unset.
fn wanted(case: &str) -> bool {
    match std::env::var("NN_BENCH_CASES") {
        Ok(list) => list
            .split(',')
            .map(str::trim)
            .any(|w| !w.is_empty() && case.contains(w)),
        Err(_) => true,
    }
}

/// Median over rounds of the mean µs per call; each round lasts about `round_ms`. Under
/// [`COMPARE`], rounds alternate with rounds on `matrixmultiply`, whose median goes to
/// [`SIDE`] with the allocations of one call.
fn median_us(mut f: impl FnMut(), round_ms: f64) -> f64 {
    for _ in 0..20 {
        f();
    }
    let t = Instant::now();
    let mut probe = 0;
    while t.elapsed().as_secs_f64() < 0.02 {
        f();
        probe += 1;
    }
    let per = t.elapsed().as_secs_f64() / probe as f64;
    let reps = ((round_ms / 1e3 / per) as usize).max(3);
    let chosen = nn::gemm::kernel();
    let compare = COMPARE.load(std::sync::atomic::Ordering::Relaxed);
    let allocs = if compare {
        counting::allocations(&mut f).count
    } else {
        0
    };
    let mut round = |kernel| {
        nn::gemm::set_kernel(kernel).expect("a kernel this CPU runs");
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed().as_secs_f64() / reps as f64 * 1e6
    };
    let mut times = Vec::new();
    let mut mm = Vec::new();
    for _ in 0..ROUNDS {
        times.push(round(chosen));
        if compare && chosen != nn::gemm::Kernel::Matrixmultiply {
            mm.push(round(nn::gemm::Kernel::Matrixmultiply));
        }
    }
    nn::gemm::set_kernel(chosen).expect("a kernel this CPU runs");
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let ours = median(times);
    if compare {
        let mm = if mm.is_empty() { ours } else { median(mm) };
        SIDE.with(|s| s.set((mm, allocs)));
    }
    ours
}

/// Runs `f` (one of nn's cases, which ends in [`median_us`]) and returns its figure with
/// `matrixmultiply`'s and the allocations of one call.
fn compared(f: impl FnOnce() -> f64) -> (f64, f64, usize) {
    COMPARE.store(true, std::sync::atomic::Ordering::Relaxed);
    let us = f();
    COMPARE.store(false, std::sync::atomic::Ordering::Relaxed);
    let (mm, allocs) = SIDE.with(|s| s.get());
    (us, mm, allocs)
}

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn train_step(batch: usize) -> f64 {
    let mut rng = Rng::seed(1);
    let mut net = Mnist::new(0);
    let x: Vec<[f32; 784]> = (0..batch)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let y: Vec<usize> = (0..batch).map(|_| rng.below(10)).collect();
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let loss_fn = CrossEntropyLoss::default();
    median_us(
        || {
            opt.zero_grad(&mut grads);
            net.forward_train(&x, &mut tape).unwrap();
            black_box(tape.loss(&loss_fn, &y[..]));
            net.backward(&x, &mut tape, &mut grads);
            opt.step(&mut *net, &grads);
        },
        100.0,
    )
}

fn cnn_train_step(batch: usize) -> f64 {
    let mut rng = Rng::seed(4);
    let mut net = Cnn::new(0);
    let x: Vec<[f32; 784]> = (0..batch)
        .map(|_| core::array::from_fn(|_| rng.uniform(0.0, 1.0)))
        .collect();
    let y: Vec<usize> = (0..batch).map(|_| rng.below(10)).collect();
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let loss_fn = CrossEntropyLoss::default();
    median_us(
        || {
            opt.zero_grad(&mut grads);
            net.forward_train(&x, &mut tape).unwrap();
            black_box(tape.loss(&loss_fn, &y[..]));
            net.backward(&x, &mut tape, &mut grads);
            opt.step(&mut *net, &grads);
        },
        200.0,
    )
}

fn cnn_inference() -> f64 {
    let mut rng = Rng::seed(5);
    let net = Cnn::new(0);
    let x: [f32; 784] = core::array::from_fn(|_| rng.uniform(0.0, 1.0));
    median_us(
        || {
            black_box(net.forward(black_box(&x)));
        },
        100.0,
    )
}

/// The first `n` training images of the committed MNIST split, as `tools/pytorch_vae.py
/// --bench` takes them.
fn mnist_images(n: usize) -> Vec<[f32; 784]> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let data = nn::data::Mnist::load_t10k_split(dir).expect("the committed MNIST images");
    data.train.inputs()[..n].to_vec()
}

/// A VAE training step on `batch` MNIST images: the training forward (which draws the
/// noise), the objective, backward and an Adam step.
fn vae_train_step(batch: usize) -> f64 {
    let mut net = Vae::new(1);
    let x = mnist_images(batch);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut opt = Adam::new(1e-3);
    median_us(
        || {
            opt.zero_grad(&mut grads);
            net.forward_train(&x, &mut tape).unwrap();
            black_box(net.loss(&mut tape, x.as_flattened()));
            net.backward(&x, &mut tape, &mut grads);
            opt.step(&mut *net, &grads);
        },
        200.0,
    )
}

/// The VAE's one-sample forward (no heap), on the first MNIST image. In inference
/// `randn_like` gives zeros and draws nothing; PyTorch's case draws its 20 normals.
fn vae_inference() -> f64 {
    let net = Vae::new(1);
    let x = mnist_images(1)[0];
    median_us(
        || {
            black_box(net.forward(black_box(&x)));
        },
        100.0,
    )
}

/// Median µs of `one` on one image when `batch` is 1, else of `many` on `batch` images; the
/// images drawn from `rng` uniformly in `lo..1`.
fn infer_case(
    batch: usize,
    mut rng: Rng,
    lo: f32,
    round_ms: f64,
    one: impl Fn(&[f32; 784]),
    mut many: impl FnMut(&[[f32; 784]]),
) -> f64 {
    let x: Vec<[f32; 784]> = (0..batch)
        .map(|_| core::array::from_fn(|_| rng.uniform(lo, 1.0)))
        .collect();
    if batch == 1 {
        let x = x[0];
        return median_us(|| one(black_box(&x)), round_ms);
    }
    median_us(|| many(black_box(&x)), round_ms)
}

/// `Net` on one image (`forward`, no heap) or a batch (`forward_batch` through a tape).
fn net_inference(batch: usize) -> f64 {
    let net = Net::new(0);
    let mut tape = Tape::new();
    infer_case(
        batch,
        Rng::seed(6),
        0.0,
        200.0,
        |x| {
            black_box(net.forward(x));
        },
        |x| {
            black_box(net.forward_batch(x, &mut tape));
        },
    )
}

/// The MNIST network on one row or a batch.
fn inference(batch: usize) -> f64 {
    let net = Mnist::new(0);
    let mut tape = Tape::new();
    infer_case(
        batch,
        Rng::seed(2),
        -1.0,
        100.0,
        |x| {
            black_box(net.forward(x));
        },
        |x| {
            black_box(net.forward_batch(x, &mut tape));
        },
    )
}

/// One product `C (m×n) ← A (m×k) B (k×n)` with the strides the layers use.
struct Product {
    m: usize,
    k: usize,
    n: usize,
    a_t: bool,
    b_t: bool,
}

/// The matrix products of a step alone, through `nn::gemm` on the chosen kernel.
fn floor(products: &[Product]) -> f64 {
    let mut rng = Rng::seed(3);
    let bufs: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = products
        .iter()
        .map(|p| {
            (
                random(&mut rng, p.m * p.k),
                random(&mut rng, p.k * p.n),
                vec![0.0; p.m * p.n],
            )
        })
        .collect();
    let mut bufs = bufs;
    median_us(
        || {
            for (p, (a, b, c)) in products.iter().zip(&mut bufs) {
                let a = if p.a_t {
                    MatRef::row_major(a, p.k, p.m).t()
                } else {
                    MatRef::row_major(a, p.m, p.k)
                };
                let b = if p.b_t {
                    MatRef::row_major(b, p.n, p.k).t()
                } else {
                    MatRef::row_major(b, p.k, p.n)
                };
                gemm(1.0, a, b, 0.0, MatMut::row_major(c, p.m, p.n));
            }
            black_box(&bufs);
        },
        100.0,
    )
}

fn train_products(b: usize) -> Vec<Product> {
    let p = |m, k, n, a_t, b_t| Product { m, k, n, a_t, b_t };
    vec![
        p(b, 784, 128, false, true), // X W1ᵀ
        p(b, 128, 10, false, true),  // H W2ᵀ
        p(10, b, 128, true, false),  // dW2 = dYᵀ H
        p(b, 10, 128, false, false), // dH = dY W2
        p(128, b, 784, true, false), // dW1 = dHᵀ X
    ]
}

/// The VAE's products in a training step: the forward's five, then each layer's weight
/// gradient and, but for fc1's, its input gradient.
fn vae_train_products(b: usize) -> Vec<Product> {
    let p = |m, k, n, a_t, b_t| Product { m, k, n, a_t, b_t };
    let mut ps = Vec::new();
    // (in, out) of fc1, fc21, fc22, fc3, fc4.
    let layers = [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)];
    for &(i, o) in &layers {
        ps.push(p(b, i, o, false, true)); // X Wᵀ
    }
    for (l, &(i, o)) in layers.iter().enumerate() {
        ps.push(p(o, b, i, true, false)); // dW = dYᵀ X
        if l > 0 {
            ps.push(p(b, o, i, false, false)); // dX = dY W
        }
    }
    ps
}

fn infer_products(b: usize) -> Vec<Product> {
    vec![
        Product {
            m: b,
            k: 784,
            n: 128,
            a_t: false,
            b_t: true,
        },
        Product {
            m: b,
            k: 128,
            n: 10,
            a_t: false,
            b_t: true,
        },
    ]
}

/// Our cases, as (case, batch, µs, floor µs, `matrixmultiply`'s µs, allocations per call).
fn ours() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut push = |case: &'static str, b: usize, run: &mut dyn FnMut() -> f64, floor: f64| {
        let (us, mm, allocs) = compared(run);
        rows.push((case, b, us, floor, mm, allocs));
    };
    if wanted("train_step") {
        for b in [16, 64, 256] {
            push(
                "train_step",
                b,
                &mut || train_step(b),
                floor(&train_products(b)),
            );
        }
    }
    if wanted("inference") {
        for b in [1, 64] {
            push(
                "inference",
                b,
                &mut || inference(b),
                floor(&infer_products(b)),
            );
        }
    }
    if wanted("cnn_train_step") {
        push("cnn_train_step", 64, &mut || cnn_train_step(64), f64::NAN);
    }
    if wanted("cnn_inference") {
        push("cnn_inference", 1, &mut cnn_inference, f64::NAN);
    }
    if wanted("net_inference") {
        for b in [1, 64] {
            push("net_inference", b, &mut || net_inference(b), f64::NAN);
        }
    }
    if wanted("vae_train_step") {
        push(
            "vae_train_step",
            128,
            &mut || vae_train_step(128),
            floor(&vae_train_products(128)),
        );
    }
    if wanted("vae_inference") {
        push("vae_inference", 1, &mut vae_inference, f64::NAN);
    }
    for (case, b, mut run) in mlperf::ours(wanted).into_iter().chain(int8::ours(wanted)) {
        push(case, b, &mut *run, f64::NAN);
    }
    rows
}

/// One of nn's rows: case, batch, µs, floor µs, `matrixmultiply`'s µs, allocations per call.
type Row = (&'static str, usize, f64, f64, f64, usize);

/// PyTorch's side, script by script, each printing rows in one format: the cases of
/// `tools/pytorch_bench.py`, then the VAE's, timed by the script whose model its training
/// comparison uses, then MLPerf Tiny's DS-CNN and ResNet-8, the ports of
/// `tools/mlperf_models.py`.
const PYTORCH_SCRIPTS: [(&str, &[&str]); 3] = [
    ("tools/pytorch_bench.py", &[]),
    ("tools/pytorch_vae.py", &["--bench"]),
    ("tools/pytorch_mlperf_bench.py", &[]),
];

fn pytorch(threads: usize) -> Vec<(String, usize, f64)> {
    let python = std::env::var("NN_BENCH_PYTHON").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
        if std::path::Path::new(venv).exists() {
            venv.to_string()
        } else {
            "python3".to_string()
        }
    });
    PYTORCH_SCRIPTS
        .iter()
        .flat_map(|(script, args)| pytorch_script(&python, script, args, threads))
        .collect()
}

/// The rows one of PyTorch's scripts prints, or none where it fails.
fn pytorch_script(
    python: &str,
    script: &str,
    args: &[&str],
    threads: usize,
) -> Vec<(String, usize, f64)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let mut cmd = Command::new(python);
    cmd.arg(&path)
        .args(args)
        .arg("--threads")
        .arg(threads.to_string());
    // `NN_BENCH_CASES` keeps the cases named, on both sides; the VAE's script times the VAE
    // alone.
    if let Ok(cases) = std::env::var("NN_BENCH_CASES") {
        if script.ends_with("pytorch_bench.py") || script.ends_with("pytorch_mlperf_bench.py") {
            cmd.arg("--cases").arg(cases);
        } else if !cases.split(',').any(|c| script.contains(c.trim())) {
            return Vec::new();
        }
    }
    let out = match cmd.output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!(
                "PyTorch benchmark {script} failed ({python}): {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            return Vec::new();
        }
        Err(e) => {
            eprintln!("PyTorch benchmark {script} not run ({python}): {e}");
            return Vec::new();
        }
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let field = |k: &str| {
                let at = l.find(&format!("\"{k}\": "))? + k.len() + 4;
                let rest = &l[at..];
                let end = rest.find([',', '}'])?;
                Some(rest[..end].trim().trim_matches('"').to_string())
            };
            // The recurrent cases are keyed by their hidden size.
            let size = field("hidden").or_else(|| field("batch"))?;
            Some((
                field("case")?,
                size.parse().ok()?,
                field("us")?.parse().ok()?,
            ))
        })
        .collect()
}

/// A fraction as a percentage, with a decimal below 10%.
fn percent(x: f64) -> String {
    if x < 0.0995 {
        format!("{:.1}%", 100.0 * x)
    } else {
        format!("{:.0}%", 100.0 * x)
    }
}

/// One thread count's table; `peak` is the FMA peak of the cores its threads can use, in
/// GFLOP/s.
fn table(title: &str, ours: &[Row], torch: &[(String, usize, f64)], peak: f64) {
    println!("\n{title}");
    println!(
        "{:<18} {:>6} {:>10} {:>11} {:>9} {:>8} {:>16} {:>10} {:>9} {:>10} {:>8} {:>7}",
        "case",
        "batch",
        "nn µs",
        "PyTorch µs",
        "speed-up",
        "of peak",
        "PyTorch of peak",
        "floor µs",
        "of floor",
        "mm µs",
        "mm peak",
        "allocs"
    );
    for (case, b, us, fl, mm, allocs) in ours {
        // GFLOP/s is FLOPs per ns: FLOPs / (µs · 1e3).
        let of_peak = |us: f64| percent(flops(case, *b) / (us * 1e3) / peak);
        let t = torch
            .iter()
            .find(|(c, tb, _)| c == case && tb == b)
            .map(|r| r.2);
        let (tcol, ratio, tpeak) = match t {
            Some(t) => (format!("{t:.1}"), format!("{:.2}×", t / us), of_peak(t)),
            None => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        // Only the MNIST network's rows and the VAE's training step have a bare-product
        // floor.
        let (fcol, frac) = if fl.is_nan() {
            ("-".to_string(), "-".to_string())
        } else {
            (format!("{fl:.1}"), format!("{:.0}%", 100.0 * fl / us))
        };
        let peak = of_peak(*us);
        let mm_peak = of_peak(*mm);
        println!(
            "{case:<18} {b:>6} {us:>10.1} {tcol:>11} {ratio:>9} {peak:>8} {tpeak:>16} \
             {fcol:>10} {frac:>9} {mm:>10.1} {mm_peak:>8} {allocs:>7}"
        );
    }
}

/// The thread counts to measure: one without the `threading` feature, else those of
/// `NN_BENCH_THREADS` (comma-separated, default `1,2`).
fn thread_counts() -> Vec<usize> {
    let var = std::env::var("NN_BENCH_THREADS").ok();
    if !cfg!(feature = "threading") {
        if var.is_some() {
            eprintln!(
                "NN_BENCH_THREADS is read with `--features threading` only; running one thread"
            );
        }
        return vec![1];
    }
    let Some(var) = var else {
        return vec![1, 2];
    };
    let counts: Result<Vec<usize>, _> = var.split(',').map(|t| t.trim().parse()).collect();
    match counts {
        Ok(counts) if counts.iter().all(|&t| t > 0) => counts,
        _ => {
            eprintln!(
                "NN_BENCH_THREADS is `{var}`; expected thread counts above 0 separated by commas, \
                 such as `1,2,4,8,16`"
            );
            std::process::exit(2);
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a child run measures one thread count and prints rows.
    if let Ok(threads) = std::env::var("NN_BENCH_CHILD") {
        // With the `threading` feature, everything runs on its pool (of `threads` threads).
        #[cfg(feature = "threading")]
        let rows = nn::gemm::parallel(ours);
        #[cfg(not(feature = "threading"))]
        let rows = ours();
        for (case, b, us, fl, mm, allocs) in rows {
            println!("{case} {b} {us} {fl} {threads} {mm} {allocs}");
        }
        // One thread: a step is sequential, and nothing in it splits over a pool.
        if threads == "1" {
            for (case, hidden, us) in recurrent::ours(wanted) {
                println!("{case} {hidden} {us} NaN {threads}");
            }
        }
        return;
    }
    let product_macs = |ps: Vec<Product>| ps.iter().map(|p| p.m * p.k * p.n).sum::<usize>();
    assert_eq!(product_macs(train_products(1)), train_macs(&MLP_MACS));
    assert_eq!(product_macs(infer_products(1)), forward_macs(&MLP_MACS));
    assert_eq!(product_macs(vae_train_products(1)), train_macs(&VAE_MACS));
    let threads = thread_counts();
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {machine}, {cores} logical CPUs");
    println!(
        "products: the `{}` kernel (NN_KERNEL chooses), against `matrixmultiply` in \
         alternate rounds (mm)",
        nn::gemm::kernel().name()
    );
    let (peak, unit) = fma_peak();
    println!("one core's FMA peak: {peak:.1} GFLOP/s ({})", unit.name());
    // The clock the peak implies, if the core has two FMA pipes of this width.
    let per_cycle = 2 * unit.lanes() * 2;
    let reported = cpuinfo_mhz().map_or(String::new(), |mhz| {
        format!(
            "; /proc/cpuinfo: {mhz:.0} MHz × {per_cycle} = {:.1} GFLOP/s",
            mhz * per_cycle as f64 / 1e3
        )
    });
    println!(
        "  = {:.2} GHz × {per_cycle} flops/cycle (two {}-lane FMA pipes){reported}",
        peak / per_cycle as f64,
        unit.lanes()
    );
    let exe = std::env::current_exe().expect("the benchmark's own path");
    for t in threads {
        // The thread pool is sized once per process, so each thread count runs in a
        // child process of its own.
        let out = Command::new(&exe)
            .env("NN_BENCH_CHILD", t.to_string())
            .env("RAYON_NUM_THREADS", t.to_string())
            .output()
            .expect("running the benchmark child");
        if !out.status.success() {
            eprintln!(
                "the {t}-thread run failed: {}",
                String::from_utf8_lossy(&out.stderr).trim_end()
            );
        }
        let rows: Vec<Row> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let name = *f.first()?;
                let case = *CASES
                    .iter()
                    .chain(&recurrent::CASES)
                    .chain(&mlperf::CASES)
                    .chain(&int8::CASES)
                    .find(|c| **c == name)?;
                Some((
                    case,
                    f.get(1)?.parse().ok()?,
                    f.get(2)?.parse().ok()?,
                    f.get(3)?.parse().ok()?,
                    f.get(5).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN),
                    f.get(6).and_then(|v| v.parse().ok()).unwrap_or(0),
                ))
            })
            .collect();
        let (rnn, rows): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|r| recurrent::CASES.contains(&r.0));
        let torch = pytorch(t);
        // Threads past the core count share cores, and so their peak.
        let used = t.min(cores);
        let rnn: Vec<(&str, usize, f64)> =
            rnn.into_iter().map(|(c, h, us, ..)| (c, h, us)).collect();
        if !rows.is_empty() {
            table(
                &format!(
                    "{t} thread{}: median µs per call; of peak: of {:.1} GFLOP/s \
                     ({used} × one core's)",
                    if t == 1 { "" } else { "s" },
                    peak * used as f64,
                ),
                &rows,
                &torch,
                peak * used as f64,
            );
        }
        recurrent::table(&rnn, &torch);
    }
}
