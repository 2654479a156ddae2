//! The image layers' backward passes (`Conv2d`, `Conv2dGeneral`, the pools, `BatchNorm2d`,
//! `Flatten`), and a whole CNN's, against central finite differences, as `tests/gradients.rs`
//! does for the others; and the 1-D layers' (`Conv1d`, `MaxPool1d`, `AvgPool1d`,
//! `AdaptiveAvgPool1d`, `Transpose`), images of one row to the kernels, and a whole network of
//! sequences into a GRU.
//!
//! The checked function is `L = Σ c ⊙ y` for fixed random `c`, so that `dL/dy = c`. Sums are
//! taken in f64 from the f32 outputs. Tolerance, as in `tests/gradients.rs`: with `h = 1e-2`,
//! truncation `h² |f'''| / 6` is 0 for the layers that are linear in the checked value (the
//! convolution in its input and its parameters, the pools between kinks) and about 1e-5 for
//! batch norm; rounding is `ε |L| / h` with `ε = 6e-8`, and the cases keep `|L|` near 10 at
//! most (small batches, parameters moved by at most ±0.5), so about 6e-5. `abs = 5e-4` holds
//! with margin, while a wrong index (a transposed kernel, an off-by-one in the padding, a
//! gradient sent to the wrong element of a window) is off by the gradient's own size.
//!
//! Max pooling is checked on inputs whose values are at least 0.1 apart, so that `x ± h`
//! never changes which element of a window is the largest.

#[macro_use]
mod common;
use common::gradcheck::{check_network, numeric_layer, ABS, REL};
use common::random::random;

use nn::{AdaptiveAvgPool1d, AvgPool1d, Conv1d, MaxPool1d, Transpose};
use nn::{
    AdaptiveAvgPool2d, AvgPool2d, AvgPool2dGeneral, Backward, BatchNorm2d, Conv2d, Conv2dGeneral,
    Flatten, Layer, MaxPool2d, MaxPool2dGeneral, Rng,
};

/// `n` distinct values 0.1 apart, in random order, centred on 0.
fn distinct(rng: &mut Rng, n: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|i| (i as f32 - n as f32 / 2.0) * 0.1).collect();
    rng.shuffle(&mut v);
    v
}

/// Checks `L`'s parameter and input gradients on `x`, a batch of `batch` samples, with
/// parameters moved off PyTorch's defaults by up to `±shift` (so that, say, a batch norm
/// weight of 1 cannot hide a missing factor). With `spot`, only that many input and
/// parameter elements, drawn at random, are checked (for layers too large to check whole).
fn check_on<L: Layer + Clone>(
    batch: usize,
    seed: u64,
    shift: f32,
    x: Vec<f32>,
    spot: Option<usize>,
) {
    let mut rng = Rng::seed(seed);
    let mut layer = L::zeroed();
    layer.init(&mut rng);
    layer.visit_params_mut(&mut |_, p| {
        for v in p.iter_mut() {
            *v += rng.uniform(-shift, shift);
        }
    });
    let c = random(&mut rng, batch * L::OUT);

    let mut y = vec![0.0; batch * L::OUT];
    let mut cache = vec![0.0; L::cache_len(batch)];
    layer
        .clone()
        .forward_train(&x, &mut y, batch, &mut cache)
        .unwrap();
    let mut grad = vec![0.0; L::PARAMS];
    // NaN, so that an element backward forgets to write fails the comparison.
    let mut dx = vec![f32::NAN; batch * L::IN];
    let io = Backward {
        x: &x,
        y: &y,
        dy: &c,
        batch,
        cache: &mut cache,
    };
    layer.backward(io, Some(&mut dx), &mut grad);

    let mut pick = |n: usize| -> Vec<usize> {
        match spot {
            Some(k) => (0..k).map(|_| rng.below(n)).collect(),
            None => (0..n).collect(),
        }
    };
    let (inputs, params) = (pick(x.len()), pick(L::PARAMS));

    let (numeric_dx, numeric) = numeric_layer(&layer, &x, &c, batch, &inputs, &params);
    let dx: Vec<f32> = inputs.iter().map(|&i| dx[i]).collect();
    assert_close!(dx, numeric_dx, rel = REL, abs = ABS, "input gradient");

    let grad: Vec<f32> = params.iter().map(|&p| grad[p]).collect();
    assert_close!(grad, numeric, rel = REL, abs = ABS, "parameter gradient");
}

/// [`check_on`] with inputs uniform in ±1.
fn check<L: Layer + Clone>(batch: usize, seed: u64, shift: f32) {
    let x = random(&mut Rng::seed(seed + 1000), batch * L::IN);
    check_on::<L>(batch, seed, shift, x, None);
}

/// The training pass, batch inference and one-sample inference give the same output
/// (only batch norm differs between them, and it is not checked here).
fn same_output_every_way<L: Layer + Clone>(batch: usize, seed: u64) {
    let mut rng = Rng::seed(seed);
    let mut layer = L::zeroed();
    layer.init(&mut rng);
    let x = random(&mut rng, batch * L::IN);
    let mut batched = vec![f32::NAN; batch * L::OUT];
    layer.forward_batch(&x, &mut batched, batch, &mut []);
    let mut trained = vec![f32::NAN; batch * L::OUT];
    let mut cache = vec![0.0; L::cache_len(batch)];
    layer
        .clone()
        .forward_train(&x, &mut trained, batch, &mut cache)
        .unwrap();
    let mut single = vec![f32::NAN; batch * L::OUT];
    for (x, y) in x.chunks(L::IN).zip(single.chunks_mut(L::OUT)) {
        layer.forward(x, y);
    }
    // The same sums in other orders (a matrix product's blocks against a direct loop):
    // a few roundings of terms of order 1.
    assert_close!(
        batched,
        single,
        rel = 1e-5,
        abs = 1e-5,
        "batch against one sample"
    );
    assert_close!(
        trained,
        single,
        rel = 1e-5,
        abs = 1e-5,
        "training against one sample"
    );
}

#[test]
fn conv2d_gradients() {
    check::<Conv2d<2, 3, 3, 1, 0, 5, 5>>(2, 1, 0.5);
    // Stride 2 with padding 1; an odd width, so the last column is in no window.
    check::<Conv2d<2, 3, 3, 2, 1, 6, 5>>(2, 2, 0.5);
    // A 1×1 kernel: the patch matrix is the input itself.
    check::<Conv2d<3, 2, 1, 1, 0, 4, 4>>(2, 3, 0.5);
    // Padding wider than half the kernel: whole output rows read only padding.
    check::<Conv2d<2, 2, 3, 1, 2, 3, 4>>(2, 4, 0.5);
    // Stride 3 and padding 1 over a rectangle, and a kernel of even size.
    check::<Conv2d<1, 2, 2, 3, 1, 7, 6>>(3, 5, 0.5);
    // One channel, as the first layer of the example CNN.
    check::<Conv2d<1, 4, 3, 1, 0, 6, 6>>(2, 6, 0.5);
}

#[test]
fn conv2d_gradients_through_blocks() {
    // The batched paths work through a 16384-float block on the stack. 5 × 5 taps by
    // 20 × 20 positions, with 3 output channels (so groups of 6 samples), take it in 5
    // blocks of 4 output rows.
    check::<Conv2d<1, 3, 5, 1, 2, 20, 20>>(2, 8, 0.1);
    same_output_every_way::<Conv2d<1, 3, 5, 1, 2, 20, 20>>(7, 8);
    // 1152 taps: one output row of every tap does not fit, so the taps go in blocks too,
    // their products accumulated. Checked at 40 random elements each way: the whole layer
    // has 32768 inputs.
    type Big = Conv2d<128, 2, 3, 1, 0, 16, 16>;
    let x = random(&mut Rng::seed(1009), Big::IN);
    check_on::<Big>(1, 9, 0.02, x, Some(40));
    same_output_every_way::<Big>(2, 9);
    // `conv::batched`'s unit tests take every plan with small blocks, against the direct
    // loops of the no-heap build.
}

#[test]
fn conv2d_inference_matches_training() {
    same_output_every_way::<Conv2d<2, 3, 3, 1, 0, 5, 5>>(3, 11);
    same_output_every_way::<Conv2d<2, 3, 3, 2, 1, 6, 5>>(3, 12);
    same_output_every_way::<Conv2d<3, 2, 1, 1, 0, 4, 4>>(3, 13);
    same_output_every_way::<Conv2d<2, 2, 3, 1, 2, 3, 4>>(3, 14);
    same_output_every_way::<Conv2d<8, 16, 3, 1, 0, 13, 13>>(4, 15);
}

/// `Conv2dGeneral<CIN, COUT, G, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, H, W, CIN / G, BIAS>`.
#[test]
fn general_conv2d_gradients() {
    // Depthwise, 3 × 3, stride 2, padding 1, without bias.
    type Dw = Conv2dGeneral<3, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 7, 6, 1, false>;
    check::<Dw>(2, 51, 0.5);
    same_output_every_way::<Dw>(3, 51);
    // Two groups, a 3 × 2 kernel dilated by 2, padding (2, 1).
    type Grouped = Conv2dGeneral<4, 6, 2, 3, 2, 1, 1, 2, 2, 1, 1, 2, 2, 5, 5, 2, true>;
    check::<Grouped>(2, 52, 0.5);
    same_output_every_way::<Grouped>(3, 52);
    // TensorFlow's `same` at stride 2: a 10 × 4 kernel on 49 × 10, 4 + 5 rows and 1 + 1
    // columns of padding (the DS-CNN's first layer, on fewer channels).
    type Same = Conv2dGeneral<1, 2, 1, 10, 4, 2, 2, 4, 5, 1, 1, 1, 1, 49, 10, 1, true>;
    assert_eq!((Same::OH, Same::OW), (25, 5));
    check::<Same>(1, 53, 0.5);
    same_output_every_way::<Same>(2, 53);
    // A rectangular stride, and padding only at the end.
    type Odd = Conv2dGeneral<2, 2, 1, 2, 3, 1, 2, 0, 1, 0, 1, 1, 1, 5, 6, 2, true>;
    check::<Odd>(2, 54, 0.5);
    // Dilation as a pair: 2 down the rows, 1 across.
    type Dilated = Conv2dGeneral<2, 3, 1, 3, 3, 1, 1, 2, 2, 1, 1, 2, 1, 6, 5, 2, true>;
    assert_eq!((Dilated::OH, Dilated::OW), (6, 5));
    check::<Dilated>(2, 55, 0.5);
    same_output_every_way::<Dilated>(3, 55);
}

#[test]
fn general_pool_gradients() {
    // Overlapping windows (stride 2 under a 3 × 3 window) and −∞ padding.
    type Max = MaxPool2dGeneral<2, 3, 3, 2, 2, 1, 1, 7, 6>;
    check_on::<Max>(2, 61, 0.0, distinct(&mut Rng::seed(61), 2 * Max::IN), None);
    same_output_every_way::<Max>(2, 61);
    // A rectangular window with padding counted in the divisor.
    type Avg = AvgPool2dGeneral<2, 2, 3, 1, 1, 1, 1, 5, 4>;
    check::<Avg>(2, 62, 0.0);
    same_output_every_way::<Avg>(2, 62);
    type Pair = AvgPool2dGeneral<3, 25, 5, 25, 5, 0, 0, 25, 5>;
    check::<Pair>(2, 63, 0.0);
    type Global = AdaptiveAvgPool2d<3, 4, 5>;
    check::<Global>(2, 64, 0.0);
    same_output_every_way::<Global>(2, 64);
}

#[test]
fn max_pool_gradients_away_from_ties() {
    type A = MaxPool2d<2, 2, 5, 4>;
    check_on::<A>(2, 21, 0.0, distinct(&mut Rng::seed(21), 2 * A::IN), None);
    type B = MaxPool2d<1, 3, 7, 8>;
    check_on::<B>(2, 22, 0.0, distinct(&mut Rng::seed(22), 2 * B::IN), None);
    same_output_every_way::<B>(2, 23);
}

#[test]
fn avg_pool_gradients() {
    check::<AvgPool2d<2, 2, 5, 4>>(2, 31, 0.0);
    check::<AvgPool2d<3, 3, 7, 8>>(2, 32, 0.0);
    same_output_every_way::<AvgPool2d<3, 3, 7, 8>>(2, 33);
}

#[test]
fn batch_norm_2d_gradients() {
    check::<BatchNorm2d<3, 2, 3>>(4, 41, 0.5);
    // One sample is a batch of 6 values per channel.
    check::<BatchNorm2d<2, 2, 3>>(1, 42, 0.5);
}

#[test]
fn flatten_gradients() {
    check::<Flatten<12>>(3, 51, 0.0);
}

nn::network! {
    // Every image layer in one network, with the smooth activations (max pooling and ReLU
    // are checked alone, away from their kinks). Each is spelled as a full path, which
    // `network!` takes as a layer of the user's, with every size given.
    #[derive(Clone)]
    struct SmallCnn<
        nn::Conv2d<1, 3, 3, 1, 1, 6, 6>, nn::BatchNorm2d<3, 6, 6>, Tanh,
        nn::Conv2d<3, 4, 3, 2, 1, 6, 6>, nn::AvgPool2d<4, 3, 3, 3>, SiLU, nn::Flatten<4>,
        Linear<4, 3>
    >
}

#[test]
fn whole_cnn_gradients() {
    check_network::<SmallCnn>(61, 3);
}

/// `Conv1d<CIN, COUT, K, S, PL, PR, D, G, L, CIN / G, BIAS>`.
#[test]
fn conv1d_gradients() {
    // Stride 2 and padding 2: the last input in no window.
    type Strided = Conv1d<2, 3, 5, 2, 2, 2, 1, 1, 12, 2>;
    check::<Strided>(2, 71, 0.5);
    same_output_every_way::<Strided>(3, 71);
    // Two groups, dilation 2, without bias.
    type Grouped = Conv1d<4, 6, 3, 1, 2, 2, 2, 2, 9, 2, false>;
    check::<Grouped>(2, 72, 0.5);
    same_output_every_way::<Grouped>(3, 72);
    // Causal, dilation 3: 6 zeros before the sequence, none after.
    type Causal = Conv1d<2, 4, 3, 1, 6, 0, 3, 1, 10, 2>;
    check::<Causal>(2, 73, 0.5);
    same_output_every_way::<Causal>(3, 73);
}

#[test]
fn pool_1d_gradients() {
    type Max = MaxPool1d<2, 3, 2, 1, 11>;
    check_on::<Max>(2, 81, 0.0, distinct(&mut Rng::seed(81), 2 * Max::IN), None);
    same_output_every_way::<Max>(2, 81);
    type Avg = AvgPool1d<3, 3, 1, 1, 8>;
    check::<Avg>(2, 82, 0.0);
    same_output_every_way::<Avg>(2, 82);
    check::<AdaptiveAvgPool1d<3, 7>>(2, 83, 0.0);
    check::<Transpose<3, 5>>(2, 84, 0.0);
}

nn::network! {
    // A sequence network into a GRU, every layer smooth.
    #[derive(Clone)]
    #[input(2, 12)]
    struct SmallSequence<
        Conv1d<2, 4, 3, stride = 2, padding = 1>, Tanh, AvgPool1d<2, stride = 1>,
        Conv1d<4, 4, 2, dilation = 2, groups = 2, padding = causal>, Transpose,
        GRU<4, 5, 5, last = true>, Linear<5, 2>
    >
}

#[test]
fn whole_sequence_network_gradients() {
    check_network::<SmallSequence>(62, 3);
}

nn::network! {
    /// A dilation pair as declared: 2 down the rows, 1 across.
    #[input(2, 6, 5)]
    struct DilatedNet<Conv2d<2, 3, 3, padding = (2, 1), dilation = (2, 1)>>
}

#[test]
fn a_dilation_pair_declares_the_general_convolution() {
    type Dilated = Conv2dGeneral<2, 3, 1, 3, 3, 1, 1, 2, 2, 1, 1, 2, 1, 6, 5, 2, true>;
    let net = DilatedNet::new(9);
    let mut conv: Dilated = nn::Zeroable::zeroed();
    conv.weight = net.0.weight;
    conv.bias = net.0.bias;
    let x = random(&mut Rng::seed(10), 2 * 6 * 5);
    let (mut a, mut b) = ([0.0f32; 3 * 6 * 5], [0.0f32; 3 * 6 * 5]);
    Layer::forward(&*net, &x, &mut a);
    conv.forward(&x, &mut b);
    assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
    let s = nn::Summary::<DilatedNet>::new().to_string();
    assert!(
        s.contains("Conv2d<2, 3, 3, padding = (2, 1), dilation = (2, 1)>  [batch, 3, 6, 5]"),
        "{s}"
    );
}
