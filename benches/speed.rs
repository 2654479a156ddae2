//! The speed report: the MNIST network (784-128 ReLU BatchNorm 128-10) here, PyTorch on the same cases in the
//! same run, and the bare matrix products as the floor.
//!
//! ```text
//! cargo bench --bench speed                        # one thread
//! cargo bench --bench speed --features threading   # adds the two-thread rows
//! ```
//!
//! Every figure is a median over 7 rounds of the mean time per repetition, the method of
//! `tools/pytorch_bench.py`. PyTorch runs from `NN_BENCH_PYTHON` (default: `.venv/bin/python`,
//! then `python3`); without it its columns read `n/a`.

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use nn::gemm::{gemm, MatMut, MatRef};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
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

const ROUNDS: usize = 7;

/// Median over rounds of the mean µs per call; each round lasts about `round_ms`.
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
    let mut times: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64 * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[ROUNDS / 2]
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

fn inference(batch: usize) -> f64 {
    let mut rng = Rng::seed(2);
    let net = Mnist::new(0);
    let x: Vec<[f32; 784]> = (0..batch)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    if batch == 1 {
        let x = x[0];
        return median_us(
            || {
                black_box(net.forward(black_box(&x)));
            },
            100.0,
        );
    }
    let mut tape = Tape::new();
    median_us(
        || {
            black_box(net.forward_batch(black_box(&x), &mut tape));
        },
        100.0,
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

/// The matrix products of a step alone, through bare `matrixmultiply`.
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

/// Our cases, as (case, batch, µs, floor µs).
fn ours() -> Vec<(&'static str, usize, f64, f64)> {
    let mut rows = Vec::new();
    for b in [16, 64, 256] {
        rows.push(("train_step", b, train_step(b), floor(&train_products(b))));
    }
    for b in [1, 64] {
        rows.push(("inference", b, inference(b), floor(&infer_products(b))));
    }
    rows.push(("cnn_train_step", 64, cnn_train_step(64), f64::NAN));
    rows.push(("cnn_inference", 1, cnn_inference(), f64::NAN));
    rows
}

fn pytorch(threads: usize) -> Vec<(String, usize, f64)> {
    let python = std::env::var("NN_BENCH_PYTHON").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
        if std::path::Path::new(venv).exists() {
            venv.to_string()
        } else {
            "python3".to_string()
        }
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/pytorch_bench.py");
    let out = match Command::new(&python)
        .arg(script)
        .arg("--threads")
        .arg(threads.to_string())
        .output()
    {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!(
                "PyTorch benchmark failed ({python}): {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            return Vec::new();
        }
        Err(e) => {
            eprintln!("PyTorch benchmark not run ({python}): {e}");
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
            Some((
                field("case")?,
                field("batch")?.parse().ok()?,
                field("us")?.parse().ok()?,
            ))
        })
        .collect()
}

fn table(title: &str, ours: &[(&str, usize, f64, f64)], torch: &[(String, usize, f64)]) {
    println!("\n{title}");
    println!(
        "{:<14} {:>6} {:>12} {:>12} {:>9} {:>12} {:>10}",
        "case", "batch", "nn µs", "PyTorch µs", "speed-up", "floor µs", "of floor"
    );
    for (case, b, us, fl) in ours {
        let t = torch
            .iter()
            .find(|(c, tb, _)| c == case && tb == b)
            .map(|r| r.2);
        let (tcol, ratio) = match t {
            Some(t) => (format!("{t:.1}"), format!("{:.2}×", t / us)),
            None => ("n/a".into(), "n/a".into()),
        };
        // The CNN's rows have no bare-product floor.
        let (fcol, frac) = if fl.is_nan() {
            ("-".to_string(), "-".to_string())
        } else {
            (format!("{fl:.1}"), format!("{:.0}%", 100.0 * fl / us))
        };
        println!("{case:<14} {b:>6} {us:>12.1} {tcol:>12} {ratio:>9} {fcol:>12} {frac:>10}");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a child run measures one thread count and prints rows.
    if let Ok(threads) = std::env::var("NN_BENCH_CHILD") {
        // With the `threading` feature, everything runs on its pool (one thread or two).
        #[cfg(feature = "threading")]
        let rows = nn::gemm::parallel(ours);
        #[cfg(not(feature = "threading"))]
        let rows = ours();
        for (case, b, us, fl) in rows {
            println!("{case} {b} {us} {fl} {threads}");
        }
        return;
    }
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "machine: {machine}, {} logical CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let threads: &[usize] = if cfg!(feature = "threading") {
        &[1, 2]
    } else {
        &[1]
    };
    let exe = std::env::current_exe().expect("the benchmark's own path");
    for &t in threads {
        // The thread pool is sized once per process, so each thread count runs in a
        // child process of its own.
        let out = Command::new(&exe)
            .env("NN_BENCH_CHILD", t.to_string())
            .env("RAYON_NUM_THREADS", t.to_string())
            .output()
            .expect("running the benchmark child");
        let rows: Vec<(&'static str, usize, f64, f64)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let case = match *f.first()? {
                    "train_step" => "train_step",
                    "inference" => "inference",
                    "cnn_train_step" => "cnn_train_step",
                    "cnn_inference" => "cnn_inference",
                    _ => return None,
                };
                Some((
                    case,
                    f[1].parse().ok()?,
                    f[2].parse().ok()?,
                    f[3].parse().ok()?,
                ))
            })
            .collect();
        let torch = pytorch(t);
        table(
            &format!(
                "{t} thread{}: median µs per call",
                if t == 1 { "" } else { "s" }
            ),
            &rows,
            &torch,
        );
    }
}
