//! MLPerf Tiny's keyword-spotting DS-CNN (`examples/mlperf/models.rs`) quantised from its
//! declaration by `nn::int8::Quantized`: the 10 × 4 stride-2 convolution with TensorFlow's
//! `SAME` padding, the 3 × 3 depthwise layers, the 1 × 1 layers, every `BatchNorm2d` folded
//! into its convolution, the 25 × 5 average pool. The int8 file is written and read back, and
//! the int8 network follows the f32 one on seeded inputs. The int8 file baked
//! (`data/weights/ds_cnn_int8.safetensors`, written by `cargo run --release --example
//! mlperf_int8 -- --save`) gives exactly `Quantized::load`'s outputs.

#[path = "../examples/mlperf/models.rs"]
#[allow(dead_code)]
mod models;

#[path = "../examples/mlperf/synthetic.rs"]
mod synthetic;

use models::DsCnn;
use nn::int8::Quantized;
use synthetic::{ds_cnn, inputs};

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

#[test]
fn ds_cnn_quantises_from_its_declaration_and_follows_the_f32_network() {
    let net = ds_cnn();
    // Calibrated on eight inputs of each class: the output's range is the calibration's, and a
    // held-out logit past it saturates (as in TFLite). With two per class the held-out set's
    // largest logit lay 12% above the calibrated range once training summed its gradients in
    // another order.
    let q = Quantized::quantize(&*net, &inputs(1, 96).0).unwrap();
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

nn::network! {
    /// The DS-CNN's int8 form, baked: `examples/mlperf/models.rs`'s declaration with
    /// `dtype = int8`.
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

#[test]
fn baked_ds_cnn_equals_the_loaded_file_bit_for_bit() {
    let q = Quantized::<DsCnn>::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/weights/ds_cnn_int8.safetensors"
    ))
    .unwrap();
    static BAKED: DsCnnInt8 = DsCnnInt8::WEIGHTS;
    let baked = &BAKED;
    assert_eq!(DsCnnInt8::INPUT, q.input_quant());
    let (x, _) = inputs(3, 24);
    let (mut differing, mut classes) = (0, std::collections::BTreeSet::new());
    for x in x.chunks_exact(DsCnn::IN) {
        let x: &[f32; 490] = x.try_into().unwrap();
        let xq = DsCnnInt8::quantize(x);
        let (want, got): ([i8; 12], [i8; 12]) = (q.forward_int8(&xq), baked.forward(&xq));
        differing += usize::from(want != got);
        classes.insert((0..12).fold(0, |b, k| if want[k] > want[b] { k } else { b }));
    }
    // The inputs reach the classes: the outputs compared are not one answer repeated.
    assert_eq!(classes.len(), 12);
    assert_eq!(differing, 0, "{differing} of 24 inputs differ");
}
