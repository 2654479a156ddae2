//! `nn::int8`'s kernels against TensorFlow Lite Micro, bit for bit: each int8 layer and a
//! small MLP and CNN, converted to int8 by TFLiteConverter and run by TFLite Micro's
//! interpreter (`tools/make_int8_fixtures.py`; committed fixtures in `tests/fixtures/int8/`).
//! Every multiplier, shift and clamp is prepared here from the scales and zero points read out
//! of the `.tflite`, so the preparation (`QuantizeMultiplier`, the activation ranges, ADD's and
//! MEAN's multipliers) is checked with the kernels. And a model TFLite quantised, written by
//! `tools/tflite_to_int8.py` as the int8 file of a declaration, loads into `Quantized<Net>`
//! and runs unchanged. No tolerance: every value must be equal.

mod common;

use common::int8_graph::check;

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
);

cases!(cnn_chain);

nn::network! {
    /// The fixtures' MLP, as a declaration.
    pub struct Mlp<Linear<49, 64>, ReLU, Linear<64, 32>, ReLU, Linear<32, 10>>
}

nn::network! {
    /// The fixtures' chain CNN: TFLite's SAME at stride 1 and kernel 3 is `padding = 1`.
    #[input(1, 12, 12)]
    pub struct CnnChain<
        Conv2d<1, 4, 3, padding = 1>, ReLU, MaxPool2d<2>,
        Conv2d<4, 8, 3>, ReLU, AvgPool2d<2>,
        Flatten, Linear<32, 10>,
    >
}

/// A model TFLite quantised, written as the int8 file of a declaration by
/// `tools/tflite_to_int8.py`, loads into `Quantized<Net>` and gives TFLite Micro's outputs.
fn tflite_model_runs_unchanged<N: nn::Layer, const I: usize, const O: usize>(case: &str) {
    use nn::int8::Quantized;
    let q = Quantized::<N>::load(common::fixture::path(&format!(
        "int8/{case}_file.safetensors"
    )))
    .unwrap();
    let bytes = common::fixture::bytes(&format!("int8/{case}.safetensors"));
    let file = nn_safetensors::File::parse(&bytes).unwrap();
    let (x, want) = (
        common::int8_graph::i8s(&file, "input0"),
        common::int8_graph::i8s(&file, "output"),
    );
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
