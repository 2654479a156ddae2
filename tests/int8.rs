//! `nn::int8`'s kernels against TensorFlow Lite Micro, bit for bit: each int8 layer and a
//! small MLP and CNN, converted to int8 by TFLiteConverter and run by TFLite Micro's
//! interpreter (`tools/make_int8_fixtures.py`; committed fixtures in `tests/fixtures/int8/`).
//! Every multiplier, shift and clamp is prepared here from the scales and zero points read out
//! of the `.tflite`, so the preparation (`QuantizeMultiplier`, the activation ranges, ADD's and
//! MEAN's multipliers) is checked with the kernels. And a model TFLite quantised, written by
//! `tools/tflite_to_int8.py` as the int8 file of a declaration, loads into `Quantized<Net>`
//! and runs unchanged. No tolerance: every value must be equal.

mod common;
#[path = "common/int8_models.rs"]
mod int8_models;

use common::int8_graph::check;
use int8_models::{tflite_case, CnnChain, Mlp};

macro_rules! cases {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            assert!(check(stringify!($name)) > 0);
        }
    )*};
}

cases!(
    linear,
    linear_relu,
    linear_relu6,
    conv_same_stride2_relu,
    conv_valid_relu6,
    conv_same_even_kernel,
    conv_1x1,
    depthwise_same_relu,
    depthwise_stride2_multiplier2,
    max_pool,
    max_pool_same,
    avg_pool,
    avg_pool_same,
    global_avg_pool,
    add,
    add_relu,
    mlp,
    cnn,
    residual,
);

cases!(cnn_chain);

/// A model TFLite quantised, written as the int8 file of a declaration by
/// `tools/tflite_to_int8.py`, loads into `Quantized<Net>` and gives TFLite Micro's outputs.
fn tflite_model_runs_unchanged<N: nn::Layer, const I: usize, const O: usize>(case: &str) {
    let (q, x, want) = tflite_case::<N>(case);
    let samples = x.len() / I;
    assert!(samples > 0);
    for (x, want) in x.chunks_exact(I).zip(want.chunks_exact(O)) {
        let x: &[i8; I] = x.try_into().unwrap();
        let got: [i8; O] = q.forward_int8(x);
        assert_eq!(got.as_slice(), want, "{case}");
    }
}

#[test]
fn tflite_mlp_loads_as_the_declaration_and_runs_unchanged() {
    tflite_model_runs_unchanged::<Mlp, 49, 10>("mlp");
}

#[test]
fn tflite_cnn_loads_as_the_declaration_and_runs_unchanged() {
    tflite_model_runs_unchanged::<CnnChain, 144, 10>("cnn_chain");
}

nn::network! {
    /// `depthwise_same_relu` as a declaration, without bias (TFLite folds a zero one in).
    #[input(4, 7, 7)]
    pub struct DepthwiseSame<Conv2d<4, 4, 3, padding = same, groups = 4, bias = false>, ReLU>
}

nn::network! {
    /// `depthwise_stride2_multiplier2`: a depth multiplier of 2, a pair-sided input.
    #[input(3, 8, 9)]
    pub struct DepthwiseMultiplier<Conv2d<3, 6, 3, stride = 2, groups = 3>>
}

nn::network! {
    /// `conv_same_stride2_relu`: TensorFlow's SAME at stride 2, its padding row after.
    #[input(3, 8, 8)]
    pub struct ConvSameStride2<Conv2d<3, 4, 3, stride = 2, padding = same>, ReLU>
}

nn::network! {
    /// `conv_same_even_kernel`: a 4 × 4 kernel under SAME, one more row and column after.
    #[input(2, 6, 7)]
    pub struct ConvSameEven<Conv2d<2, 3, 4, padding = same>>
}

nn::network! {
    /// `conv_valid_relu6`: a pair kernel, ReLU6.
    #[input(3, 7, 6)]
    pub struct ConvPairKernel<Conv2d<3, 5, (3, 2)>, ReLU6>
}

/// One-layer fixture `case` (its TFLite parameters and TFLite Micro's outputs) written as the
/// int8 file of a declaration whose only layer is `0`, loaded into `Quantized<N>` (the layer's
/// geometry and its activation from the declaration) and run: TFLite Micro's outputs exactly.
fn declared_layer_gives_tflite_micro_outputs<N: nn::Layer, const I: usize, const O: usize>(
    case: &str,
) {
    use serde_json::{json, Map, Value};
    let cases = common::fixture::fixture("int8/cases.json");
    let graph = &cases[case];
    let op = &graph["ops"][0];
    let tensor = |t: &Value| &graph["tensors"][t.as_str().unwrap()];
    let (x, y) = (tensor(&op["inputs"][0]), tensor(&op["output"]));
    let bytes = common::fixture::bytes(&format!("int8/{case}.safetensors"));
    let file = nn_safetensors::File::parse(&bytes).unwrap();
    // The int8 file: the fixture's weight, scales and biases, the activations' quantisation.
    let mut tensors: Vec<(String, &str, Vec<usize>, Vec<u8>)> = Vec::new();
    for name in ["0.weight", "0.weight_scale", "0.bias"] {
        let t = file.tensor(name).unwrap();
        let dtype = match t.dtype() {
            nn_safetensors::Dtype::I8 => "I8",
            nn_safetensors::Dtype::I32 => "I32",
            _ => "F32",
        };
        tensors.push((name.into(), dtype, t.shape().to_vec(), t.data().to_vec()));
    }
    for (side, q) in [("input", x), ("output", y)] {
        let scale = q["scale"].as_f64().unwrap() as f32;
        let zero_point = q["zero_point"].as_i64().unwrap() as i32;
        tensors.push((
            format!("0.{side}_scale"),
            "F32",
            vec![1],
            scale.to_le_bytes().to_vec(),
        ));
        tensors.push((
            format!("0.{side}_zero_point"),
            "I32",
            vec![1],
            zero_point.to_le_bytes().to_vec(),
        ));
    }
    let (mut header, mut data) = (Map::new(), Vec::new());
    for (name, dtype, shape, bytes) in &tensors {
        let offsets = [data.len(), data.len() + bytes.len()];
        data.extend_from_slice(bytes);
        header.insert(
            name.clone(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": offsets}),
        );
    }
    let header = Value::Object(header).to_string();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    let path =
        std::env::temp_dir().join(format!("nn-int8-{case}-{}.safetensors", std::process::id()));
    std::fs::write(&path, out).unwrap();
    let q = nn::int8::Quantized::<N>::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();

    let (x, want) = (
        common::int8_graph::i8s(&file, "input0"),
        common::int8_graph::i8s(&file, "output"),
    );
    assert!(x.len() / I > 0 && x.len() % I == 0 && want.len() == x.len() / I * O);
    for (x, want) in x.chunks_exact(I).zip(want.chunks_exact(O)) {
        let x: &[i8; I] = x.try_into().unwrap();
        let got: [i8; O] = q.forward_int8(x);
        assert_eq!(got.as_slice(), want, "{case}");
    }
}

#[test]
fn declared_depthwise_same_gives_tflite_micro_outputs() {
    declared_layer_gives_tflite_micro_outputs::<DepthwiseSame, 196, 196>("depthwise_same_relu");
}

#[test]
fn declared_depthwise_multiplier_gives_tflite_micro_outputs() {
    declared_layer_gives_tflite_micro_outputs::<DepthwiseMultiplier, 216, 72>(
        "depthwise_stride2_multiplier2",
    );
}

#[test]
fn declared_same_stride2_gives_tflite_micro_outputs() {
    declared_layer_gives_tflite_micro_outputs::<ConvSameStride2, 192, 64>("conv_same_stride2_relu");
}

#[test]
fn declared_same_even_kernel_gives_tflite_micro_outputs() {
    declared_layer_gives_tflite_micro_outputs::<ConvSameEven, 84, 126>("conv_same_even_kernel");
}

#[test]
fn declared_pair_kernel_gives_tflite_micro_outputs() {
    declared_layer_gives_tflite_micro_outputs::<ConvPairKernel, 126, 125>("conv_valid_relu6");
}
