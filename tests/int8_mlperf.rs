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
use nn::Rng;

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

/// The DS-CNN as `examples/mlperf.rs --save` trained it briefly (its batch norms' running
/// statistics moved off 0 and 1, so the folding is exercised).
fn ds_cnn() -> Box<DsCnn> {
    let mut net = DsCnn::new(0);
    net.load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/weights/ds_cnn.safetensors"
    ))
    .unwrap();
    net
}

/// `n` seeded inputs of the DS-CNN, side by side.
fn inputs(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = Rng::seed(seed);
    (0..n * DsCnn::IN).map(|_| rng.randn()).collect()
}

#[test]
fn ds_cnn_quantises_from_its_declaration_and_follows_the_f32_network() {
    let net = ds_cnn();
    let q = Quantized::quantize(&*net, &inputs(1, 64)).unwrap();
    // Written and read back: the same network, bit for bit.
    let path = std::env::temp_dir().join(format!("nn-int8-ds-cnn-{}.safetensors", std::process::id()));
    q.save(&path).unwrap();
    let back = Quantized::<DsCnn>::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();

    let step = q.output_quant().scale;
    let (mut same_class, mut worst, mut total) = (0, 0.0f32, 0);
    let mut range = 0.0f32;
    let mut classes = [0usize; 12];
    let held_out = inputs(2, 200);
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
            range = range.max(w.abs());
        }
        total += 1;
    }
    println!(
        "DS-CNN int8 against f32 on {total} seeded inputs: top class equal on {same_class}, \
         largest logit difference {worst:.4} ({:.1} output steps of {step:.5}; logits up to {range:.3}); f32 classes {classes:?}",
        worst / step
    );
    assert!(same_class * 10 >= total * 9, "top class equal on {same_class} of {total}");
    assert!(worst <= 0.1 * range, "largest difference {worst} for logits up to {range}");
}
