//! The trained MNIST MLP and CNN quantised to int8 in Rust, beside their f32 forms.
//!
//! ```text
//! cargo run --release --example mnist_int8
//! cargo run --release --example mnist_int8 -- --save data/weights
//! ```
//!
//! Loads `data/weights/mnist.safetensors` (784-128 ReLU BatchNorm 128-10) and
//! `data/weights/cnn.safetensors` (`examples/cnn.rs`'s network), quantises each with
//! `nn::int8::Quantized::quantize` calibrated on the first `CALIBRATION` training images of
//! the 8,000 / 2,000 split `examples/mnist.rs` trains on, and prints the accuracy of both
//! forms on the 2,000 held-out images, the bytes of their weights, and the time of one sample
//! and of a batch of 64 in each form (medians of rounds alternating the two).
//!
//! With `--save DIR`, it also writes the two int8 networks as `DIR/mnist_int8.safetensors`
//! and `DIR/cnn_int8.safetensors` (the int8 file the README describes), which
//! `examples/embedded_int8` bakes into a Cortex-M0 and a Cortex-M4F build.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use nn::int8::{Quantized, Workspace};
use nn::Layer;

nn::network! {
    /// The MNIST network: 784 pixels in, 10 class logits out.
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

/// Samples per batch in the timings.
const BATCH: usize = 64;

/// Rounds of the timings, each form once per round.
const ROUNDS: usize = 21;

/// Training images the activation ranges are measured on.
const CALIBRATION: usize = 1000;

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

fn compare<N: Layer>(
    name: &str,
    net: &N,
    f32_forward: impl Fn(&[f32; 784]) -> [f32; 10],
    data: &nn::data::Mnist,
    save: Option<&Path>,
) -> Result<(), Box<dyn Error>> {
    let calibration: Vec<f32> = data.train.inputs()[..CALIBRATION]
        .iter()
        .flatten()
        .copied()
        .collect();
    let q = Quantized::quantize(net, &calibration)?;
    if let Some(path) = save {
        q.save(path)?;
        println!("{name}: int8 network written to {}", path.display());
    }
    let test = &data.test;
    let (mut f32_right, mut int8_right, mut agree) = (0, 0, 0);
    for (x, &label) in test.inputs().iter().zip(test.targets()) {
        let a = argmax(&f32_forward(x));
        let b = q.predict(x);
        f32_right += usize::from(a == label);
        int8_right += usize::from(b == label);
        agree += usize::from(a == b);
    }
    // Inference times, the two forms alternating round by round, medians of `ROUNDS`.
    let xs = &test.inputs()[..BATCH * 4];
    let flat: Vec<f32> = xs.iter().flatten().copied().collect();
    let (mut y_f32, mut y_int8) = (vec![0.0; BATCH * 10], vec![0.0; BATCH * 10]);
    let mut cache = vec![0.0; N::cache_len(BATCH)];
    let mut ws = Workspace::default();
    let mut times = [[0.0f64; 4]; ROUNDS];
    for round in &mut times {
        let t = Instant::now();
        let s: usize = xs.iter().map(|x| argmax(&f32_forward(x))).sum();
        round[0] = t.elapsed().as_secs_f64() / xs.len() as f64;
        let t = Instant::now();
        let s2: usize = xs.iter().map(|x| argmax(&q.forward::<784, 10>(x))).sum();
        round[1] = t.elapsed().as_secs_f64() / xs.len() as f64;
        let t = Instant::now();
        for x in flat.chunks_exact(BATCH * 784) {
            net.forward_batch(x, &mut y_f32, BATCH, &mut cache);
        }
        round[2] = t.elapsed().as_secs_f64() / xs.len() as f64;
        let t = Instant::now();
        for x in flat.chunks_exact(BATCH * 784) {
            q.forward_batch(x, &mut y_int8, &mut ws);
        }
        round[3] = t.elapsed().as_secs_f64() / xs.len() as f64;
        std::hint::black_box((s, s2, &y_f32, &y_int8));
    }
    let [t_f32, t_int8, b_f32, b_int8] = [0, 1, 2, 3].map(|k| {
        let mut t = times.map(|round| round[k]);
        t.sort_by(f64::total_cmp);
        t[ROUNDS / 2] * 1e6
    });
    let n = test.len() as f64;
    let (f, i) = (100.0 * f32_right as f64 / n, 100.0 * int8_right as f64 / n);
    println!(
        "{name}: f32 {f:.2}%, int8 {i:.2}% ({:+.2} points), same class on {agree} of {} images; \
         weights {} bytes in f32, {} in int8 (with biases and multipliers)",
        i - f,
        test.len(),
        4 * N::PARAMS,
        q.weight_bytes(),
    );
    println!(
        "  on this host, per sample: one sample f32 {t_f32:.2} µs, int8 {t_int8:.2} µs; \
         batch of {BATCH} f32 {b_f32:.2} µs, int8 {b_int8:.2} µs (quantising the input included)"
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let save = match args.as_slice() {
        [] => None,
        [flag, dir] if flag == "--save" => Some(Path::new(dir).to_path_buf()),
        _ => return Err("usage: mnist_int8 [--save DIR]".into()),
    };
    let file = |name: &str| save.as_ref().map(|dir| dir.join(name));
    let data = nn::data::Mnist::load_t10k_split(root.join("data/mnist"))?;
    println!(
        "calibrated on the first {CALIBRATION} of {} training images; tested on the {} held out",
        data.train.len(),
        data.test.len()
    );
    let mut mlp = Mnist::new(0);
    mlp.load(root.join("data/weights/mnist.safetensors"))?;
    compare(
        "MLP 784-128-10",
        &*mlp,
        |x| mlp.forward(x),
        &data,
        file("mnist_int8.safetensors").as_deref(),
    )?;
    let mut cnn = Cnn::new(0);
    cnn.load(root.join("data/weights/cnn.safetensors"))?;
    compare(
        "CNN",
        &*cnn,
        |x| cnn.forward(x),
        &data,
        file("cnn_int8.safetensors").as_deref(),
    )?;
    Ok(())
}
