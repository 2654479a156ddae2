//! Post-training quantisation in Rust (`nn::int8::Quantized`): the trained MNIST MLP and CNN
//! (`data/weights/`) quantised on 300 training images keep their accuracy on the 2,000
//! held-out images within half a point of their f32 forms; layers without an int8 form are
//! refused with the layer named; the int8 file round-trips, and a wrong file is refused with
//! the file, the tensor and both shapes or types named.

mod common;

use std::path::Path;

use nn::int8::{Int8FileError, QuantizeError, Quantized};
use nn::Layer;

nn::network! {
    /// The MNIST MLP.
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
    /// A layer without an int8 form.
    pub struct WithTanh { fc: Linear<4, 4>, act: Tanh, out: Linear<4, 2> }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

/// (f32 accuracy, int8 accuracy) in percent on the held-out images.
fn accuracies<N: Layer>(net: &N, forward: impl Fn(&[f32; 784]) -> [f32; 10]) -> (f64, f64) {
    let data = nn::data::Mnist::load_t10k_split(root().join("data/mnist")).unwrap();
    let calibration: Vec<f32> = data.train.inputs()[..1000]
        .iter()
        .flatten()
        .copied()
        .collect();
    let q = Quantized::quantize(net, &calibration).unwrap();
    let (mut a, mut b) = (0, 0);
    for (x, &y) in data.test.inputs().iter().zip(data.test.targets()) {
        a += usize::from(argmax(&forward(x)) == y);
        b += usize::from(q.predict(x) == y);
    }
    let n = data.test.len() as f64 / 100.0;
    (a as f64 / n, b as f64 / n)
}

#[test]
fn mnist_mlp_keeps_its_accuracy() {
    let mut net = Mnist::new(0);
    net.load(root().join("data/weights/mnist.safetensors"))
        .unwrap();
    let (f, i) = accuracies(&*net, |x| net.forward(x));
    assert!(f > 96.0, "f32 {f}%");
    assert!((f - i).abs() <= 0.5, "f32 {f}%, int8 {i}%");
}

#[test]
fn mnist_cnn_keeps_its_accuracy() {
    let mut net = Cnn::new(0);
    net.load(root().join("data/weights/cnn.safetensors"))
        .unwrap();
    let (f, i) = accuracies(&*net, |x| net.forward(x));
    assert!(f > 98.0, "f32 {f}%");
    assert!((f - i).abs() <= 0.5, "f32 {f}%, int8 {i}%");
}

#[test]
fn dequantised_outputs_follow_the_f32_ones() {
    // On a calibration input, every dequantised logit is within a few output steps of f32.
    let mut net = Mnist::new(0);
    net.load(root().join("data/weights/mnist.safetensors"))
        .unwrap();
    let data = nn::data::Mnist::load_t10k_split(root().join("data/mnist")).unwrap();
    let calibration: Vec<f32> = data.train.inputs()[..200]
        .iter()
        .flatten()
        .copied()
        .collect();
    let q = Quantized::quantize(&*net, &calibration).unwrap();
    let step = q.output_quant().scale;
    for x in &data.train.inputs()[..20] {
        let (want, got): ([f32; 10], [f32; 10]) = (net.forward(x), q.forward(x));
        for (w, g) in want.iter().zip(&got) {
            assert!((w - g).abs() <= 8.0 * step, "{g} against {w} (step {step})");
        }
    }
}

#[test]
fn a_layer_without_an_int8_form_is_named() {
    let net = WithTanh::new(0);
    let err = Quantized::quantize(&*net, &[0.5; 8]).err().unwrap();
    assert!(
        matches!(&err, QuantizeError::Unsupported { layer, kind, .. } if layer == "act" && kind == "Tanh"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "layer `act` (`Tanh`) cannot be quantised: no int8 layer of this kind"
    );
    let err = Quantized::quantize(&*Mnist::new(0), &[0.5; 100])
        .err()
        .unwrap();
    assert_eq!(
        err,
        QuantizeError::Calibration {
            len: 100,
            width: 784
        }
    );
}

/// A change to one tensor of a file: its name, shape and bytes.
type Change = dyn Fn(&str, &mut Vec<usize>, &mut Vec<u8>);

#[test]
fn the_int8_file_round_trips_and_is_checked() {
    let mut net = Cnn::new(0);
    net.load(root().join("data/weights/cnn.safetensors"))
        .unwrap();
    let data = nn::data::Mnist::load_t10k_split(root().join("data/mnist")).unwrap();
    let calibration: Vec<f32> = data.train.inputs()[..50]
        .iter()
        .flatten()
        .copied()
        .collect();
    let q = Quantized::quantize(&*net, &calibration).unwrap();
    let dir = std::env::temp_dir().join(format!("nn-int8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cnn_int8.safetensors");
    q.save(&path).unwrap();
    let back = Quantized::<Cnn>::load(&path).unwrap();
    for x in &data.test.inputs()[..20] {
        let (a, b): ([f32; 10], [f32; 10]) = (q.forward(x), back.forward(x));
        assert_eq!(a, b);
    }

    // An f32 file where int8 is needed: the first weight's type is named.
    let err = Quantized::<Cnn>::load(root().join("data/weights/cnn.safetensors"))
        .err()
        .unwrap();
    assert!(
        matches!(&err, Int8FileError::Dtype { tensor, expected: "I8", found: "F32", .. } if tensor == "0.weight"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with(
            "cnn.safetensors: tensor `0.weight` has type F32, but the int8 network's is I8"
        ),
        "{err}"
    );

    // A scale count that is not the layer's output channels, a zero point out of range.
    let bytes = std::fs::read(&path).unwrap();
    let file = nn_safetensors::File::parse(&bytes).unwrap();
    let rewrite = |change: &Change| {
        let tensors: Vec<(&str, &str, Vec<usize>, Vec<u8>)> = file
            .tensors()
            .iter()
            .map(|t| {
                let (mut shape, mut data) = (t.shape().to_vec(), t.data().to_vec());
                change(t.name(), &mut shape, &mut data);
                (t.name(), t.dtype().name(), shape, data)
            })
            .collect();
        let bad = dir.join("bad.safetensors");
        common::int8_graph::write_safetensors(&bad, &tensors);
        Quantized::<Cnn>::load(&bad).err().unwrap()
    };
    let err = rewrite(&|name, shape, data| {
        if name == "3.weight_scale" {
            shape[0] = 15;
            data.truncate(15 * 4);
        }
    });
    assert!(
        matches!(&err, Int8FileError::Shape { tensor, expected, found, .. }
        if tensor == "3.weight_scale" && expected == &[16] && found == &[15]),
        "{err}"
    );
    let err = rewrite(&|name, _, data| {
        if name == "7.output_zero_point" {
            data.copy_from_slice(&200i32.to_le_bytes());
        }
    });
    assert!(err.to_string().ends_with(
        "bad.safetensors: tensor `7.output_zero_point` holds 200, which is not a valid int8 zero point (-128..=127)"
    ), "{err}");

    // A layer whose input quantisation is not what the layer before it wrote: its zero point,
    // then its scale, named with the tensor it should equal and both values.
    let zero_point = |name: &str| {
        let t = file.tensor(name).unwrap();
        i32::from_le_bytes(t.data().try_into().unwrap())
    };
    let made = zero_point("3.output_zero_point");
    let err = rewrite(&move |name, _, data| {
        if name == "7.input_zero_point" {
            data.copy_from_slice(&(made + 1).to_le_bytes());
        }
    });
    assert!(
        matches!(&err, Int8FileError::Quantization { tensor, source, found, expected, .. }
        if tensor == "7.input_zero_point" && source == "3.output_zero_point"
            && *found == (made + 1).to_string() && *expected == made.to_string()),
        "{err}"
    );
    assert!(
        err.to_string().ends_with(&format!(
            "bad.safetensors: tensor `7.input_zero_point` holds {}, but the value the layer \
             reads is quantised by `3.output_zero_point`, which holds {made}; a layer's input \
             quantisation is the output quantisation of the layer before it: write both the same",
            made + 1
        )),
        "{err}"
    );
    let err = rewrite(&|name, _, data| {
        if name == "7.input_scale" {
            let s = f32::from_le_bytes(data[..4].try_into().unwrap());
            data.copy_from_slice(&(s * 2.0).to_le_bytes());
        }
    });
    assert!(
        matches!(&err, Int8FileError::Quantization { tensor, source, .. }
        if tensor == "7.input_scale" && source == "3.output_scale"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
