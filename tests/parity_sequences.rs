//! Parity with PyTorch for the 1-D layers: `Conv1d` (stride, padding, dilation, groups, without
//! bias, depthwise, causal), `MaxPool1d` (ties included), `AvgPool1d`, `AdaptiveAvgPool1d<1>`,
//! each alone against `tests/fixtures/sequence_layers.json` (describe, output, input gradient,
//! every parameter gradient), and three networks of sequences against
//! `tests/fixtures/sequences.json` (the strict load of PyTorch's state dict, outputs, loss,
//! every gradient, the input's gradient, three Adam steps, eval outputs after them): a keyword
//! spotter's strided, dilated and grouped convolutions with pools, RTNeural's causal stack,
//! a convolution into a GRU through `Transpose` (PyTorch's `x.transpose(1, 2)`), and
//! convolutions with `BatchNorm1d` over `(N, C, L)` (statistics per channel over the batch
//! and the length; the eval outputs read the running statistics the steps moved), in a chain
//! and in a residual block whose forward is written as code. Both
//! files are written by `tools/make_sequence_fixtures.py` with PyTorch; no Python runs here.
//!
//! Tolerances as in `tests/parity_image.rs` (layers) and `tests/parity_mlperf.rs` (networks):
//! `rel = 1e-5` with an absolute floor of 1e-5 times the tensor's largest magnitude where an
//! element is a sum of terms of both signs; each network's tolerance is the one the script
//! certifies against float64 (1e-5, 2e-5 for the spotter, whose trained first weight moves by
//! a quarter of that under a perturbation of 1e-6 of its inputs).

#[macro_use]
mod common;
use common::fixture::fixture;
use common::graph_parity::{check as check_model, Model};
use common::layer_parity::{check, Floors};

use nn::loss::MseLoss;
use nn::{AdaptiveAvgPool1d, AvgPool1d, Conv1d, MaxPool1d};

/// A convolution's output, input gradient and parameter gradients are each a sum of products
/// of both signs: all with floors.
const CONV: Floors = Floors {
    output: true,
    input_grad: true,
    param_grads: true,
};

/// An average pool's output is a sum of both signs; its input gradient is the upstream
/// gradient divided by the window, no sum.
const AVG: Floors = Floors {
    output: true,
    input_grad: false,
    param_grads: false,
};

#[test]
fn conv1d_matches_pytorch() {
    let fx = fixture("sequence_layers.json");
    check::<Conv1d<2, 3, 3, 1, 0, 0, 1, 1, 9, 2>>(&fx, "conv1d", CONV);
    check::<Conv1d<3, 4, 4, 3, 1, 1, 1, 1, 10, 3>>(&fx, "conv1d_s3_p1", CONV);
    check::<Conv1d<4, 6, 3, 1, 2, 2, 2, 2, 11, 2, false>>(&fx, "conv1d_d2_g2_no_bias", CONV);
    check::<Conv1d<3, 3, 5, 1, 2, 2, 1, 3, 8, 1>>(&fx, "conv1d_depthwise", CONV);
    check::<Conv1d<2, 4, 3, 1, 6, 0, 3, 1, 12, 2>>(&fx, "conv1d_causal_d3", CONV);
}

#[test]
fn pools_1d_match_pytorch() {
    let fx = fixture("sequence_layers.json");
    check::<MaxPool1d<3, 2, 2, 0, 9>>(&fx, "max_pool1d_2", Floors::default());
    check::<MaxPool1d<2, 3, 2, 1, 10>>(&fx, "max_pool1d_3_s2_p1", Floors::default());
    check::<AvgPool1d<3, 3, 3, 0, 10>>(&fx, "avg_pool1d_3", AVG);
    check::<AvgPool1d<2, 3, 1, 1, 7>>(&fx, "avg_pool1d_3_s1_p1", AVG);
    check::<AdaptiveAvgPool1d<3, 7>>(&fx, "adaptive_avg_pool1d", AVG);
}

nn::network! {
    /// PyTorch's `nn.Sequential` of the spotter, so that the names are `0.weight`, ...
    #[input(2, 40)]
    struct Spotter<
        Conv1d<2, 8, 5, stride = 2, padding = 2>,
        Tanh,
        AvgPool1d<3, stride = 1, padding = 1>,
        Conv1d<8, 8, 3, dilation = 2, groups = 4, bias = false>,
        Tanh,
        AdaptiveAvgPool1d<1>,
        Flatten,
        Linear<8, 3>,
    >
}

nn::network! {
    #[input(1, 48)]
    struct Stack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

nn::network! {
    #[input(3, 20)]
    struct ConvGru {
        conv: Conv1d<3, 6, 3, padding = 1>,
        act: Tanh,
        steps: Transpose,
        gru: GRU<6, 8, 20, last = true>,
        fc: Linear<8, 2>,
    }
}

nn::network! {
    /// PyTorch's `nn.Sequential`: `BatchNorm1d` after a `Conv1d` normalises each channel
    /// over the batch and the length.
    #[input(2, 16)]
    struct ConvBn<
        Conv1d<2, 6, 3, padding = 1, bias = false>,
        BatchNorm1d<6>,
        ReLU,
        Conv1d<6, 4, 3, bias = false>,
        BatchNorm1d<4>,
        Tanh,
        AdaptiveAvgPool1d<1>,
        Flatten,
        Linear<4, 2>,
    >
}

nn::network! {
    /// PyTorch's `BnBlock`: `BatchNorm1d` in a forward written as code, in a residual block.
    struct BnBlock {
        conv: Conv1d<3, 3, 3, padding = 1, bias = false>,
        bn: BatchNorm1d<3>,
    }
    fn forward(x: Sequence<3, 12>) -> out {
        x + tanh(self.bn(self.conv(x)))
    }
}

/// Runs model `name` of `sequences.json` through the shared network checks.
fn model<N: nn::Network>(net: Box<N>, name: &'static str) {
    let m = Model::new("sequences", name);
    let target = m.target("target");
    check_model(
        net,
        &m,
        &["x"],
        &[("input_grads", "x")],
        &["out"],
        |_, tape| tape.loss(&MseLoss, &target[..]),
    );
}

#[test]
fn a_keyword_spotter_matches_pytorch() {
    model(Spotter::new(0), "spotter");
}

#[test]
fn a_causal_stack_matches_pytorch() {
    model(Stack::new(0), "stack");
}

#[test]
fn a_convolution_into_a_gru_matches_pytorch() {
    model(ConvGru::new(0), "conv_gru");
}

#[test]
fn batch_norm_over_sequences_matches_pytorch() {
    model(ConvBn::new(0), "conv_bn");
}

#[test]
fn batch_norm_in_a_forward_written_as_code_matches_pytorch() {
    model(BnBlock::new(0), "bn_block");
}
