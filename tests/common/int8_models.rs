//! The int8 fixtures' TFLite models as declarations, and their files as the tests read them
//! (`tests/int8.rs`, `tests/int8_batch.rs`).

use nn::int8::Quantized;

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

/// Fixture `case` TFLite quantised: its int8 file loaded as declaration `N`, and its inputs
/// and TFLite Micro's int8 outputs, every sample's one after another.
pub fn tflite_case<N: nn::Layer>(case: &str) -> (Quantized<N>, Vec<i8>, Vec<i8>) {
    let q = Quantized::<N>::load(crate::common::fixture::path(&format!(
        "int8/{case}_file.safetensors"
    )))
    .unwrap();
    let bytes = crate::common::fixture::bytes(&format!("int8/{case}.safetensors"));
    let file = nn_safetensors::File::parse(&bytes).unwrap();
    let x = crate::common::int8_graph::i8s(&file, "input0");
    let want = crate::common::int8_graph::i8s(&file, "output");
    (q, x, want)
}
