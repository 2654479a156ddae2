//! Central finite differences against a layer's or a network's backward pass, shared by
//! `tests/gradients.rs` and `tests/gradients_image.rs` (their headers derive the tolerance).
//!
//! The checked function is `L = Σ c ⊙ y` for fixed random `c`, so that `dL/dy = c` and no
//! loss's own curvature enters. Sums are taken in f64 from the f32 outputs.

use nn::{Gradients, Layer, Network, Rng, Tape};

use super::random::random;

/// The step of the central difference.
pub const H: f32 = 1e-2;
/// Absolute tolerance: truncation about 1e-5 plus rounding about 6e-5, with margin.
pub const ABS: f32 = 5e-4;
/// Relative tolerance.
pub const REL: f32 = 1e-3;

/// `Σ c ⊙ y` of a layer's training forward pass on a fresh copy (batch norm's running
/// statistics change in a training pass, its output does not depend on them).
pub fn objective<L: Layer + Clone>(layer: &L, x: &[f32], c: &[f32], batch: usize) -> f64 {
    let mut l = layer.clone();
    let mut y = vec![0.0; batch * L::OUT];
    let mut cache = vec![0.0; L::cache_len(batch)];
    l.forward_train(x, &mut y, batch, &mut cache).unwrap();
    y.iter().zip(c).map(|(y, c)| *y as f64 * *c as f64).sum()
}

pub fn central<F: FnMut(f32) -> f64>(mut f: F, v: f32) -> f32 {
    ((f(v + H) - f(v - H)) / (2.0 * H as f64)) as f32
}

/// The central difference of `f` in each element `inputs` of `x`.
pub fn numeric_input(x: &[f32], inputs: &[usize], f: impl Fn(&[f32]) -> f64) -> Vec<f32> {
    inputs
        .iter()
        .map(|&i| {
            central(
                |v| {
                    let mut x2 = x.to_vec();
                    x2[i] = v;
                    f(&x2)
                },
                x[i],
            )
        })
        .collect()
}

/// Reads parameter `p`, counting through the tensors that `visit` walks in order, and writes
/// `set` there when given; returns the value it had.
fn nth_param(visit: impl FnOnce(&mut dyn FnMut(&mut [f32])), p: usize, set: Option<f32>) -> f32 {
    let mut k = 0;
    let mut old = 0.0;
    visit(&mut |t| {
        for v in t.iter_mut() {
            if k == p {
                old = *v;
                if let Some(s) = set {
                    *v = s;
                }
            }
            k += 1;
        }
    });
    old
}

/// The central differences of [`objective`] in the input elements `inputs` and in the
/// parameters `params` of `layer` (indices into its parameters, in the order
/// `visit_params_mut` walks them).
pub fn numeric_layer<L: Layer + Clone>(
    layer: &L,
    x: &[f32],
    c: &[f32],
    batch: usize,
    inputs: &[usize],
    params: &[usize],
) -> (Vec<f32>, Vec<f32>) {
    let dx = numeric_input(x, inputs, |x| objective(layer, x, c, batch));
    let dp = params
        .iter()
        .map(|&p| {
            let mut probe = layer.clone();
            let p0 = nth_param(|f| probe.visit_params_mut(&mut |_, t| f(t)), p, None);
            central(
                |v| {
                    nth_param(|f| probe.visit_params_mut(&mut |_, t| f(t)), p, Some(v));
                    objective(&probe, x, c, batch)
                },
                p0,
            )
        })
        .collect();
    (dx, dp)
}

/// Checks every parameter gradient of network `N`, built from `seed` and moved off its
/// initial values, on a random batch.
pub fn check_network<N: Network + Clone>(seed: u64, batch: usize) {
    let mut rng = Rng::seed(9);
    let mut net = N::zeroed();
    net.init_from_seed(seed);
    net.walk_params_mut(&mut |p| {
        for v in p.iter_mut() {
            *v += rng.uniform(-0.3, 0.3);
        }
    });
    let x = random(&mut rng, batch * N::IN);
    let c = random(&mut rng, batch * N::OUT);

    // A fresh copy per evaluation: training passes change running statistics and advance
    // dropout's step, while the output depends on neither.
    let objective = |net: &N| -> f64 {
        let mut net = net.clone();
        let mut tape = Tape::new();
        let y = tape.forward(&mut net, &x).unwrap();
        y.iter().zip(&c).map(|(y, c)| *y as f64 * *c as f64).sum()
    };

    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut trained = net.clone();
    tape.forward(&mut trained, &x).unwrap();
    tape.output_grad_mut().copy_from_slice(&c);
    tape.backward(&trained, &x, &mut grads);

    let numeric: Vec<f32> = (0..N::PARAMS)
        .map(|p| {
            let mut probe = net.clone();
            let p0 = nth_param(|f| probe.walk_params_mut(f), p, None);
            central(
                |v| {
                    nth_param(|f| probe.walk_params_mut(f), p, Some(v));
                    objective(&probe)
                },
                p0,
            )
        })
        .collect();
    assert_close!(
        grads.as_slice(),
        numeric,
        rel = REL,
        abs = ABS,
        "{} gradient",
        N::NAME
    );
}

/// Checks the gradient with respect to the input of network `N`, built from `seed` and
/// moved off its initial values as [`check_network`] moves it, on a random batch: the
/// backward pass started from `dL/dy = c` (`Tape::output_grad_mut`) against central
/// differences in every input element.
pub fn check_input_grad<N: Network + Clone>(seed: u64, batch: usize) {
    let mut rng = Rng::seed(5);
    let mut net = N::zeroed();
    net.init_from_seed(seed);
    net.walk_params_mut(&mut |p| {
        for v in p.iter_mut() {
            *v += rng.uniform(-0.3, 0.3);
        }
    });
    let x = random(&mut rng, batch * N::IN);
    let c = random(&mut rng, batch * N::OUT);
    let mut tape = Tape::<N>::new();
    tape.track_input_grad(true);
    let mut grads = Gradients::new();
    let mut trained = net.clone();
    tape.forward(&mut trained, &x).unwrap();
    tape.output_grad_mut().copy_from_slice(&c);
    tape.backward(&trained, &x, &mut grads);
    let objective = |x: &[f32]| -> f64 {
        let mut probe = net.clone();
        let mut t = Tape::new();
        let y = t.forward(&mut probe, x).unwrap();
        y.iter().zip(&c).map(|(y, c)| *y as f64 * *c as f64).sum()
    };
    let inputs: Vec<usize> = (0..x.len()).collect();
    let numeric = numeric_input(&x, &inputs, objective);
    assert_close!(
        tape.input_grad(),
        numeric,
        rel = REL,
        abs = ABS,
        "{} input gradient",
        N::NAME
    );
}
