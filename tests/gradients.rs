//! Every layer's backward pass, and a whole network's, against central finite differences.
//!
//! The checked function is `L = Σ c ⊙ y` for fixed random `c`, so that `dL/dy = c` and no
//! loss's own curvature enters. Sums are taken in f64 from the f32 outputs.
//!
//! Tolerance, from the error of a central difference in f32: truncation `h² |f'''| / 6`
//! (about 1e-5 here, with `h = 1e-2` and smooth functions of inputs of order 1) plus
//! rounding `ε |L| / h` with `ε = 6e-8` and `|L|` at most about 10 (about 6e-5). So
//! `abs = 5e-4` holds with margin, while a wrong formula (a dropped term, a factor 2, a
//! transposed product) is off by the gradient's own size, 1e-2 to 1.

mod common;
use common::gradcheck::{check_network, numeric_layer, ABS, REL};
use common::random::random;

use nn::{Backward, Gradients, Layer, Rng, Tape};

/// Checks `layer`'s parameter and input gradients on a random batch.
fn check_layer<L: Layer + Clone>(mut layer: L, batch: usize, seed: u64, x_shift: f32) {
    let mut rng = Rng::seed(seed);
    layer.init(&mut rng);
    // Move parameters off PyTorch's defaults so that, say, a BatchNorm weight of 1
    // cannot hide a missing factor.
    layer.visit_params_mut(&mut |_, p| {
        for v in p.iter_mut() {
            *v += rng.uniform(-0.5, 0.5);
        }
    });
    let x: Vec<f32> = random(&mut rng, batch * L::IN)
        .iter()
        .map(|v| v + x_shift * v.signum())
        .collect();
    let c = random(&mut rng, batch * L::OUT);

    let mut y = vec![0.0; batch * L::OUT];
    let mut cache = vec![0.0; L::cache_len(batch)];
    layer
        .clone()
        .forward_train(&x, &mut y, batch, &mut cache)
        .unwrap();
    let mut grad = vec![0.0; L::PARAMS];
    let mut dx = vec![0.0; batch * L::IN];
    let io = Backward {
        x: &x,
        y: &y,
        dy: &c,
        batch,
        cache: &mut cache,
    };
    layer.backward(io, Some(&mut dx), &mut grad);

    let inputs: Vec<usize> = (0..x.len()).collect();
    let params: Vec<usize> = (0..L::PARAMS).collect();
    let (numeric_dx, numeric) = numeric_layer(&layer, &x, &c, batch, &inputs, &params);
    assert_close!(dx, numeric_dx, rel = REL, abs = ABS, "input gradient");
    assert_close!(grad, numeric, rel = REL, abs = ABS, "parameter gradient");
}

fn zeroed<L: nn::Zeroable>() -> L {
    L::zeroed()
}

#[test]
fn linear_gradients() {
    check_layer(zeroed::<nn::Linear<7, 5>>(), 4, 1, 0.0);
}

#[test]
fn batchnorm_gradients() {
    check_layer(zeroed::<nn::BatchNorm<6>>(), 5, 2, 0.0);
}

#[test]
fn relu_gradients_away_from_the_kink() {
    // Inputs at least 0.05 from 0, so that x ± h never crosses the kink.
    check_layer(zeroed::<nn::ReLU<9>>(), 3, 3, 0.05);
}

#[test]
fn sigmoid_gradients() {
    check_layer(zeroed::<nn::Sigmoid<9>>(), 3, 4, 0.0);
}

#[test]
fn tanh_gradients() {
    check_layer(zeroed::<nn::Tanh<9>>(), 3, 5, 0.0);
}

#[test]
fn leaky_relu_gradients_away_from_the_kink() {
    check_layer(zeroed::<nn::LeakyReLU<9>>(), 3, 11, 0.05);
    check_layer(
        zeroed::<nn::LeakyReLU<9, { 0.2f32.to_bits() }>>(),
        3,
        12,
        0.05,
    );
    check_layer(
        zeroed::<nn::LeakyReLU<9, { (-0.3f32).to_bits() }>>(),
        3,
        13,
        0.05,
    );
}

#[test]
fn elu_gradients_away_from_the_kink() {
    // Even with alpha 1, where ELU's first derivative is continuous, its second jumps at 0,
    // which a central difference across 0 would see.
    check_layer(zeroed::<nn::ELU<9>>(), 3, 14, 0.05);
    check_layer(zeroed::<nn::ELU<9, { 0.5f32.to_bits() }>>(), 3, 15, 0.05);
}

#[test]
fn gelu_gradients() {
    check_layer(zeroed::<nn::GELU<9>>(), 3, 16, 0.0);
    // Inputs out to ±3, where the exact GELU's tail and the tanh's saturation show.
    check_layer(zeroed::<nn::GELU<9>>(), 3, 17, 2.0);
    check_layer(zeroed::<nn::GeluTanh<9>>(), 3, 18, 0.0);
    check_layer(zeroed::<nn::GeluTanh<9>>(), 3, 19, 2.0);
}

#[test]
fn silu_gradients() {
    check_layer(zeroed::<nn::SiLU<9>>(), 3, 20, 0.0);
    check_layer(zeroed::<nn::SiLU<9>>(), 3, 21, 2.0);
}

#[test]
fn softmax_gradients() {
    check_layer(zeroed::<nn::Softmax<7>>(), 3, 22, 0.0);
    check_layer(zeroed::<nn::Softmax<7>>(), 3, 23, 2.0);
}

#[test]
fn log_softmax_gradients() {
    check_layer(zeroed::<nn::LogSoftmax<7>>(), 3, 24, 0.0);
    check_layer(zeroed::<nn::LogSoftmax<7>>(), 3, 25, 2.0);
}

#[test]
fn identity_gradients() {
    check_layer(zeroed::<nn::Identity<5>>(), 3, 26, 0.0);
}

#[test]
fn layernorm_gradients() {
    check_layer(zeroed::<nn::LayerNorm<6>>(), 4, 27, 0.0);
    // One row is enough: the statistics are the row's own.
    check_layer(zeroed::<nn::LayerNorm<6>>(), 1, 28, 0.0);
}

#[test]
fn dropout_gradients() {
    // Finite differences run training passes on copies of the layer, which share its step
    // and so its mask: the checked function is `x ↦ mask ⊙ x`, linear.
    check_layer(zeroed::<nn::Dropout<40>>(), 3, 29, 0.0);
    check_layer(
        zeroed::<nn::Dropout<40, { 0.1f32.to_bits() }>>(),
        3,
        30,
        0.0,
    );
    check_layer(
        zeroed::<nn::Dropout<40, { 1.0f32.to_bits() }>>(),
        3,
        31,
        0.0,
    );
}

nn::network! {
    #[derive(Clone)]
    struct Deep<Linear<6, 8>, Tanh, BatchNorm<8>, Linear<8, 5>, Sigmoid, Linear<5, 3>>
}

/// Backpropagation through time: a gradient reaches each step's input through every later
/// step's state, so a wrong term anywhere in the chain shows in the first steps' inputs.
#[test]
fn gru_gradients() {
    check_layer(zeroed::<nn::GRU<3, 4, 5>>(), 2, 15, 0.0);
    check_layer(zeroed::<nn::GRU<2, 3, 6, true>>(), 3, 16, 0.0);
}

#[test]
fn lstm_gradients() {
    check_layer(zeroed::<nn::LSTM<3, 4, 5>>(), 2, 17, 0.0);
    check_layer(zeroed::<nn::LSTM<2, 3, 6, true>>(), 3, 18, 0.0);
}

/// Stacks (`num_layers`): a gradient reaches the first layer's weights and the input through
/// every layer above, each layer's input gradient the upstream of the one below.
#[test]
fn stacked_recurrent_gradients() {
    check_layer(zeroed::<nn::GRU<3, 4, 5, false, 1>>(), 2, 20, 0.0);
    check_layer(zeroed::<nn::GRU<2, 3, 4, true, 2>>(), 3, 21, 0.0);
    check_layer(zeroed::<nn::LSTM<3, 4, 5, false, 1>>(), 2, 22, 0.0);
    check_layer(zeroed::<nn::LSTM<2, 3, 4, true, 2>>(), 3, 23, 0.0);
}

nn::network! {
    /// Recurrent layers between others: the GRU's input gradient flows back into a `Linear`.
    struct Recurrent<Linear<4, 6>, GRU<2, 3, 3>, LSTM<3, 2, 3, last = true>, Linear<2, 2>>
}

#[test]
fn network_of_recurrent_layers_gradients() {
    check_network::<Recurrent>(19, 3);
}

#[test]
fn whole_network_gradients() {
    check_network::<Deep>(7, 4);
}

nn::network! {
    // The smooth new layers (LeakyReLU's and ELU's kinks are checked layer by layer).
    #[derive(Clone)]
    struct MoreDeep<
        Linear<6, 8>, LayerNorm<8>, GELU<tanh>, Dropout<0.25>, Linear<8, 8>, SiLU, Identity, GELU,
        Linear<8, 5>, LogSoftmax
    >
}

#[test]
fn network_of_new_layers_gradients() {
    check_network::<MoreDeep>(8, 4);
}

#[test]
fn gradients_accumulate_until_zeroed() {
    let mut net = Deep::new(1);
    let x = [[0.5f32; 6]; 3];
    let mut tape = Tape::new();
    let mut once = Gradients::new();
    let mut twice = Gradients::new();
    for grads in [&mut once, &mut twice] {
        net.forward_train(&x, &mut tape).unwrap();
        tape.output_grad_mut().fill(1.0);
        net.backward(&x, &mut tape, grads);
    }
    net.forward_train(&x, &mut tape).unwrap();
    tape.output_grad_mut().fill(1.0);
    net.backward(&x, &mut tape, &mut twice);
    let doubled: Vec<f32> = once.as_slice().iter().map(|g| 2.0 * g).collect();
    // Two passes over different running statistics give the same batch statistics, so
    // the sums agree to rounding.
    assert_close!(twice.as_slice(), doubled, rel = 1e-5, abs = 1e-6);
    twice.zero();
    assert!(twice.as_slice().iter().all(|g| *g == 0.0));
    assert!(once.get(&net, "3.weight").is_some_and(|g| g.len() == 40));
    assert!(once.get(&net, "1.weight").is_none());
}

nn::network! {
    #[derive(Clone)]
    struct Res<Linear<6, 8>, Tanh, Residual<Linear<8, 8>, Sigmoid, Linear<8, 8>>, BatchNorm<8>, Linear<8, 3>>
}

nn::network! {
    #[derive(Clone)]
    struct ResFirst<Residual<Linear<5, 7>, Tanh, Linear<7, 5>>, Linear<5, 2>>
}

#[test]
fn residual_block_gradients() {
    check_network::<Res>(13, 4);
    check_network::<ResFirst>(14, 3);
}

#[test]
fn residual_block_adds_its_input() {
    let net = Res::new(3);
    let x = [0.3f32, -0.2, 0.5, 1.0, -1.0, 0.25];
    // By hand: h = tanh(fc0 x); r = h + fc2(sigmoid(fc0 h)) (the block, `2`, is a
    // sequence of its own); then batch norm and the last layer.
    let mut h = [0.0; 8];
    let mut a = [0.0; 8];
    let mut b = [0.0; 8];
    let mut r = [0.0; 8];
    let mut y = [0.0; 3];
    net.0.forward(&x, &mut a);
    net.1.forward(&a, &mut h);
    let block = &net.2 .0;
    block.0.forward(&h, &mut a);
    block.1.forward(&a, &mut b);
    block.2.forward(&b, &mut a);
    for j in 0..8 {
        a[j] += h[j];
    }
    net.3.forward(&a, &mut r);
    net.4.forward(&r, &mut y);
    assert_close!(net.forward(&x), y, rel = 1e-6, abs = 1e-6);
    let mut tape = Tape::new();
    let batch = net.forward_batch(&[x, x], &mut tape).to_vec();
    for row in batch {
        // The batched path uses matrixmultiply, the one-sample path its own kernel.
        assert_close!(row, y, rel = 1e-5, abs = 1e-6);
    }
    let summary = Res::summary().to_string();
    assert!(summary.contains("2: Residual<Sequential>"), "{summary}");
    assert!(summary.contains("    0: Linear<8, 8>"), "{summary}");
}
