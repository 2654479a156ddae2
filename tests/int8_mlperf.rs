//! MLPerf Tiny's keyword-spotting DS-CNN (`examples/mlperf/models.rs`) quantised from its
//! declaration by `nn::int8::Quantized`: the 10 × 4 stride-2 convolution with TensorFlow's
//! `SAME` padding, the 3 × 3 depthwise layers, the 1 × 1 layers (each without bias where the
//! declaration says so), every `BatchNorm2d` folded into its convolution, the 25 × 5 average
//! pool. The int8 file is written and read back, and the int8 network follows the f32 one on
//! seeded inputs.

#[path = "../examples/mlperf/models.rs"]
#[allow(dead_code)]
mod models;

use models::DsCnn;
use nn::int8::Quantized;
use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, Optimizer};
use nn::{Gradients, Rng, Tape};

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

/// Twelve seeded templates, one per class, and `n` inputs around them (noise of a third of
/// the templates' spread), side by side, with their classes.
fn inputs(seed: u64, n: usize) -> (Vec<f32>, Vec<usize>) {
    let mut templates = Rng::seed(7);
    let templates: Vec<f32> = (0..12 * DsCnn::IN).map(|_| templates.randn()).collect();
    let mut rng = Rng::seed(seed);
    let (mut x, mut classes) = (Vec::with_capacity(n * DsCnn::IN), Vec::with_capacity(n));
    for i in 0..n {
        let class = i % 12;
        let t = &templates[class * DsCnn::IN..][..DsCnn::IN];
        x.extend(t.iter().map(|t| t + 0.33 * rng.randn()));
        classes.push(class);
    }
    (x, classes)
}

/// The DS-CNN from a seed, trained briefly on those synthetic classes (its batch norms'
/// running statistics move off 0 and 1, so the folding is exercised).
fn ds_cnn() -> Box<DsCnn> {
    let mut net = DsCnn::new(3);
    let (x, y) = inputs(5, 24);
    let (mut tape, mut grads) = (Tape::<DsCnn>::new(), Gradients::<DsCnn>::new());
    let mut adam = Adam::new(3e-3);
    for _ in 0..STEPS {
        grads.zero();
        tape.forward(&mut net, &x).expect("finite activations");
        tape.loss(&CrossEntropyLoss::default(), &y[..]);
        tape.backward(&net, &x, &mut grads);
        adam.step(&mut *net, &grads);
    }
    // Forward passes alone, so that the running statistics settle on the trained weights'.
    for _ in 0..SETTLE {
        tape.forward(&mut net, &x).expect("finite activations");
    }
    net
}

const STEPS: usize = 25;
const SETTLE: usize = 25;

#[test]
fn ds_cnn_quantises_from_its_declaration_and_follows_the_f32_network() {
    let net = ds_cnn();
    let q = Quantized::quantize(&*net, &inputs(1, 24).0).unwrap();
    // Written and read back: the same network, bit for bit.
    let path =
        std::env::temp_dir().join(format!("nn-int8-ds-cnn-{}.safetensors", std::process::id()));
    q.save(&path).unwrap();
    let back = Quantized::<DsCnn>::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();

    let step = q.output_quant().scale;
    let (mut same_class, mut worst, mut total, mut sum) = (0, 0.0f32, 0, 0.0f32);
    let mut range = 0.0f32;
    let mut classes = [0usize; 12];
    let (held_out, _) = inputs(2, 48);
    for x in held_out.chunks_exact(DsCnn::IN) {
        let x: &[f32; 490] = x.try_into().unwrap();
        let want: [f32; 12] = net.forward(x);
        let got: [f32; 12] = q.forward(x);
        let again: [f32; 12] = back.forward(x);
        assert_eq!(got, again, "the int8 file read back differs");
        classes[argmax(&want)] += 1;
        same_class += usize::from(argmax(&want) == argmax(&got));
        for (w, g) in want.iter().zip(&got) {
            worst = worst.max((w - g).abs());
            sum += (w - g).abs();
            range = range.max(w.abs());
        }
        total += 1;
    }
    println!(
        "DS-CNN int8 against f32 on {total} seeded inputs: top class equal on {same_class}, \
         largest logit difference {worst:.4} ({:.1} output steps of {step:.5}), mean {:.4}; \
         logits up to {range:.3}; f32 classes {classes:?}",
        worst / step,
        sum / (12 * total) as f32
    );
    assert!(
        same_class * 10 >= total * 9,
        "top class equal on {same_class} of {total}"
    );
    assert!(
        worst <= 0.1 * range,
        "largest difference {worst} for logits up to {range}"
    );
}
