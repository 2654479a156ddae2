//! `nn::int8`'s kernels against TensorFlow Lite Micro, bit for bit: each int8 layer and a
//! small MLP and CNN, converted to int8 by TFLiteConverter and run by TFLite Micro's
//! interpreter (`tools/make_int8_fixtures.py`; committed fixtures in `tests/fixtures/int8/`).
//! Every multiplier, shift and clamp is prepared here from the scales and zero points read out
//! of the `.tflite`, so the preparation (`QuantizeMultiplier`, the activation ranges, ADD's and
//! MEAN's multipliers) is checked with the kernels. No tolerance: every value must be equal.

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
