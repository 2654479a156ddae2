//! Parity with PyTorch for the width-keeping layers, each alone: output and gradients against
//! `tests/fixtures/layers.json`, which `tools/make_layer_fixtures.py` wrote with PyTorch (see
//! its header for how to rerun it); and `Linear` built without bias against
//! `tests/fixtures/conv_transpose.json` (`tools/make_conv_transpose_fixture.py`). No Python
//! runs here.
//!
//! Tolerances, as in `tests/parity.rs`: `rel = 1e-5` everywhere (f32 rounds at 6e-8, so 1e-5
//! leaves room for a few hundred roundings in another order, not for a wrong formula), plus
//! an absolute floor of 1e-5 times the tensor's largest magnitude where an element can be near
//! zero through cancellation; each floor is stated below with its reason. The fixture script
//! certifies the tolerances as fair: it recomputes every case in float64 and refuses it where
//! PyTorch's float32 result is more than half a tolerance from float64's, with the same floors.
//! So a failure here means a wrong formula, not rounding.

#[macro_use]
mod common;
use common::fixture::{fixture, num, shaped};
use common::max_abs;

use std::fmt;

use nn::{Backward, Dropout, Layer, Zeroable};
use serde_json::Value;

/// The relative tolerance of every check.
const REL: f32 = 1e-5;
/// The fixture's rows and features.
const BATCH: usize = 8;
const W: usize = 10;

/// Writes `L` as [`Layer::describe`] does.
struct Describe<L>(std::marker::PhantomData<L>);
impl<L: Layer> fmt::Display for Describe<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        L::describe(f)
    }
}

/// Where a case's comparisons need an absolute floor of `REL × max|want|`.
#[derive(Clone, Copy, Default)]
struct Floors {
    output: bool,
    input_grad: bool,
}

/// The largest share of its tolerance a comparison used, so that each case can report its
/// closest call (`cargo test --test parity_layers -- --nocapture`).
fn used(got: &[f32], want: &[f32], rel: f32, abs: f32) -> f64 {
    got.iter()
        .zip(want)
        .map(|(g, w)| {
            let diff = (*g as f64 - *w as f64).abs();
            if diff == 0.0 {
                0.0
            } else {
                diff / (rel as f64 * (*w as f64).abs() + abs as f64)
            }
        })
        .fold(0.0, f64::max)
}

fn floor(on: bool, want: &[f32]) -> f32 {
    if on {
        REL * max_abs(want)
    } else {
        0.0
    }
}

/// Checks layer `L` against the fixture case `name`: the training pass's output, the
/// inference passes (which must give the same numbers: only dropout has a training mode),
/// the input gradient and, for layers with parameters, the parameter gradients.
fn check<L: Layer + Clone>(fx: &Value, name: &str, floors: Floors) {
    let case = fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name:?} in the fixture"));
    assert_eq!(
        Describe::<L>(Default::default()).to_string(),
        case["network"].as_str().unwrap(),
        "{name}: `describe` and the fixture's spelling"
    );
    let mut layer = L::zeroed();
    layer.init(&mut nn::Rng::seed(0));
    if let Some(params) = case.get("params") {
        let mut i = 0;
        layer.visit_params_mut(&mut |pname, p| {
            let want = &params[i];
            assert_eq!(
                pname,
                want["name"].as_str().unwrap(),
                "{name}: parameter order"
            );
            p.copy_from_slice(&shaped(want, &[W]));
            i += 1;
        });
        assert_eq!(i, params.as_array().unwrap().len(), "{name}: parameters");
    }
    let x = shaped(&case["input"], &[BATCH, W]);
    let c = shaped(&case["upstream"], &[BATCH, W]);
    let want_y = shaped(&case["output"], &[BATCH, W]);
    let want_dx = shaped(&case["input_grad"], &[BATCH, W]);

    let mut y = vec![f32::NAN; BATCH * W];
    let mut cache = vec![f32::NAN; L::cache_len(BATCH)];
    layer
        .clone()
        .forward_train(&x, &mut y, BATCH, &mut cache)
        .unwrap();
    let out_floor = floor(floors.output, &want_y);
    assert_close!(y, want_y, rel = REL, abs = out_floor, "{name}: output");

    let mut batch = vec![f32::NAN; BATCH * W];
    layer.forward_batch(&x, &mut batch, BATCH, &mut []);
    let mut one = vec![f32::NAN; BATCH * W];
    for (x, y) in x.chunks_exact(W).zip(one.chunks_exact_mut(W)) {
        layer.forward(x, y);
    }
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&batch),
        bits(&y),
        "{name}: batch inference differs from training"
    );
    assert_eq!(
        bits(&one),
        bits(&y),
        "{name}: one-sample inference differs from training"
    );

    let mut dx = vec![f32::NAN; BATCH * W];
    let mut grad = vec![0.0; L::PARAMS];
    let io = Backward {
        x: &x,
        y: &y,
        dy: &c,
        batch: BATCH,
        cache: &mut cache,
    };
    layer.backward(io, Some(&mut dx), &mut grad);
    let grad_floor = floor(floors.input_grad, &want_dx);
    assert_close!(
        dx,
        want_dx,
        rel = REL,
        abs = grad_floor,
        "{name}: input gradient"
    );
    let mut closest = vec![
        (used(&y, &want_y, REL, out_floor), "output"),
        (used(&dx, &want_dx, REL, grad_floor), "input gradient"),
    ];

    if let Some(want) = case.get("param_grads") {
        let want: Vec<f32> = want
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| shaped(g, &[W]))
            .collect();
        // Each is a sum over the 8 rows of terms of mixed sign (dy · x̂ and dy); in this
        // fixture none cancels to near zero (the script certifies PyTorch's float32 within
        // 0.05 tolerance of float64's without a floor): relative alone.
        assert_close!(
            grad,
            want,
            rel = REL,
            abs = 0.0,
            "{name}: parameter gradients"
        );
        closest.push((used(&grad, &want, REL, 0.0), "parameter gradients"));
    }
    let (share, what) = closest
        .into_iter()
        .fold((0.0, "every value bit-identical"), |a, b| {
            if b.0 > a.0 {
                b
            } else {
                a
            }
        });
    eprintln!("{name}: closest check used {share:.3} of its tolerance ({what})");
}

#[test]
fn leaky_relu_matches_pytorch() {
    // y = x or slope · x, dx = dy or slope · dy: one rounding each, no cancellation.
    let fx = fixture("layers.json");
    check::<nn::LeakyReLU<W>>(&fx, "leaky_relu", Floors::default());
    check::<nn::LeakyReLU<W, { 0.2f32.to_bits() }>>(&fx, "leaky_relu_0_2", Floors::default());
}

#[test]
fn elu_matches_pytorch() {
    // y = α expm1(x), dx = dy α eˣ: accurate functions times constants, no cancellation
    // (expm1, as PyTorch uses, is exact near 0 where eˣ − 1 would cancel).
    let fx = fixture("layers.json");
    check::<nn::ELU<W>>(&fx, "elu", Floors::default());
    check::<nn::ELU<W, { 0.5f32.to_bits() }>>(&fx, "elu_0_5", Floors::default());
}

#[test]
fn gelu_matches_pytorch() {
    // Output: x/2 (1 + erf(x/√2)) (or 1 + tanh(..)) cancels in the left tail, where the sum
    // is far below its terms (x = −5 gives 6e-7 from 1 − 0.9999994): its absolute error is
    // ε|x|/2 whatever the implementation, which only a floor of the output's scale covers.
    // Input gradient: Φ(x) + x φ(x) cancels where the derivative crosses zero (x ≈ −0.75)
    // and in the same tail. Floors: 1e-5 times the tensor's largest magnitude.
    let fx = fixture("layers.json");
    let floors = Floors {
        output: true,
        input_grad: true,
    };
    check::<nn::GELU<W>>(&fx, "gelu", floors);
    check::<nn::GeluTanh<W>>(&fx, "gelu_tanh", floors);
}

#[test]
fn mobile_activations_match_pytorch() {
    // ReLU6, Hardsigmoid, Hardswish: piecewise linear (Hardswish quadratic between its
    // kinks), no sum that cancels: relative alone. The input's rows hold the kinks at 0 and
    // ±3, where the derivative is PyTorch's choice at the point itself.
    let fx = fixture("layers.json");
    check::<nn::ReLU6<W>>(&fx, "relu6", Floors::default());
    check::<nn::Hardsigmoid<W>>(&fx, "hardsigmoid", Floors::default());
    check::<nn::Hardswish<W>>(&fx, "hardswish", Floors::default());
}

#[test]
fn silu_matches_pytorch() {
    // Output: x σ(x), a product: relative alone. Input gradient: σ(x)(1 + x(1 − σ(x)))
    // crosses zero at x ≈ −1.28, where the sum cancels: floor.
    check::<nn::SiLU<W>>(
        &fixture("layers.json"),
        "silu",
        Floors {
            output: false,
            input_grad: true,
        },
    );
}

#[test]
fn softmax_matches_pytorch() {
    // Output: exp(x − max) / Σ, positive terms only: relative alone (including the rows of
    // ±1e4 and around 1e4, which only max-subtraction keeps finite and exact). Input
    // gradient: y (dy − Σ dy·y), whose difference cancels: floor.
    check::<nn::Softmax<W>>(
        &fixture("layers.json"),
        "softmax",
        Floors {
            output: false,
            input_grad: true,
        },
    );
}

#[test]
fn log_softmax_matches_pytorch() {
    // Output: (x − max) − log Σ; input gradient: dy − softmax · Σ dy. Both differences could
    // cancel in principle; in this fixture none comes near (the script certifies PyTorch's
    // float32 within 0.15 tolerance of float64's without a floor): relative alone.
    check::<nn::LogSoftmax<W>>(&fixture("layers.json"), "log_softmax", Floors::default());
}

#[test]
fn identity_matches_pytorch() {
    check::<nn::Identity<W>>(&fixture("layers.json"), "identity", Floors::default());
}

#[test]
fn layer_norm_matches_pytorch() {
    // Output: (x − mean)/σ · weight + bias, whose two terms cancel. Input gradient:
    // (g − mean(g) − x̂ mean(g x̂))/σ, a difference of sums that cancels. Floors. Rows 0 and
    // 1 sit at means 10 and −50, which a one-pass variance would get wrong.
    check::<nn::LayerNorm<W>>(
        &fixture("layers.json"),
        "layer_norm",
        Floors {
            output: true,
            input_grad: true,
        },
    );
}

/// `Linear<6, 5, bias = false>`, PyTorch's `nn.Linear(6, 5, bias=False)`: the weight alone,
/// in the state dict and the gradients. Its output, input gradient and weight gradient are
/// sums of products of both signs: floors.
#[test]
fn linear_without_bias_matches_pytorch() {
    use common::layer_parity::{check, Floors};
    let all = Floors {
        output: true,
        input_grad: true,
        param_grads: true,
    };
    check::<nn::Linear<6, 5, false>>(&fixture("conv_transpose.json"), "linear_no_bias", all);
}

#[test]
fn dropout_matches_pytorch_given_its_mask() {
    // PyTorch's mask is random: read it from its output (the input has no zeros), then check
    // that the kept elements are scaled as ours are and that our backward, given that mask
    // in its cache, gives PyTorch's input gradient. Both are one rounding (x · s, dy · s):
    // relative alone, and dropped elements are exactly 0 on both sides.
    const P: u32 = 0.3f32.to_bits();
    type D = Dropout<W, P>;
    let fx = fixture("layers.json");
    let case = &fx["dropout"];
    assert_eq!(num(&case["p"]), D::P, "the fixture's p");
    assert_eq!(
        Describe::<D>(Default::default()).to_string(),
        case["network"].as_str().unwrap()
    );
    let x = shaped(&case["input"], &[BATCH, W]);
    let c = shaped(&case["upstream"], &[BATCH, W]);
    let y = shaped(&case["output"], &[BATCH, W]);
    let want_dx = shaped(&case["input_grad"], &[BATCH, W]);
    assert!(x.iter().all(|v| *v != 0.0));
    let mut mask: Vec<f32> = y
        .iter()
        .map(|y| if *y == 0.0 { 0.0 } else { D::SCALE })
        .collect();
    let kept = mask.iter().filter(|m| **m != 0.0).count();
    assert!(0 < kept && kept < mask.len());
    let ours: Vec<f32> = x.iter().zip(&mask).map(|(x, m)| x * m).collect();
    assert_close!(
        ours,
        y,
        rel = REL,
        abs = 0.0,
        "dropout output, PyTorch's mask"
    );

    let layer = D::zeroed();
    let mut dx = vec![f32::NAN; BATCH * W];
    let io = Backward {
        x: &x,
        y: &y,
        dy: &c,
        batch: BATCH,
        cache: &mut mask,
    };
    layer.backward(io, Some(&mut dx), &mut []);
    assert_close!(dx, want_dx, rel = REL, abs = 0.0, "dropout input gradient");
}

nn::network! {
    #[derive(Clone)]
    struct ResidualNet<Linear<6, 8>, Tanh, Residual<Linear<8, 8>, Sigmoid, Linear<8, 8>>, Linear<8, 3>>
}

/// A network with a residual block against PyTorch's `out(h + block(h))`, `h = tanh(fc0(x))`:
/// output, every parameter's gradient, and the one-sample path. Floors of `REL · max|b|`:
/// every value is a sum of 6 or 8 products through two layers, which can cancel (the script
/// shows PyTorch's own float32 needs them).
#[test]
fn residual_network_matches_pytorch() {
    use nn::{Gradients, Tape};
    let fx = fixture("layers.json");
    let case = &fx["residual"];
    let mut net = ResidualNet::new(0);
    // PyTorch's parameters in order: fc0, block.0, block.2, out; ours 0, 2, 4, 6.
    let params = case["params"].as_array().unwrap();
    let mut i = 0;
    net.walk_params_mut(&mut |p| {
        let want = &params[i];
        let shape: Vec<usize> = want["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(
            p.len(),
            shape.iter().product::<usize>(),
            "parameter {i}: {}",
            want["name"]
        );
        p.copy_from_slice(&shaped(want, &shape));
        i += 1;
    });
    assert_eq!(i, params.len());
    let x = shaped(&case["input"], &[BATCH, 6]);
    let c = shaped(&case["upstream"], &[BATCH, 3]);
    let want_y = shaped(&case["output"], &[BATCH, 3]);

    let rows: Vec<[f32; 6]> = x.chunks_exact(6).map(|r| r.try_into().unwrap()).collect();
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let y = net
        .forward_train(&rows, &mut tape)
        .unwrap()
        .as_flattened()
        .to_vec();
    assert_close!(
        y,
        want_y,
        rel = REL,
        abs = floor(true, &want_y),
        "residual: output"
    );
    tape.output_grad_mut().copy_from_slice(&c);
    net.backward(&rows, &mut tape, &mut grads);
    for want in case["param_grads"].as_array().unwrap() {
        let torch_name = want["name"].as_str().unwrap();
        // The block is layer `2` here, its layers numbered inside it as in PyTorch's
        // `nn.Sequential`: `block.0.weight` is `2.0.weight`.
        let (head, rest) = torch_name.split_once('.').unwrap();
        let ours = match head {
            "fc0" => "0",
            "block" => "2",
            _ => "3",
        };
        let key = format!("{ours}.{rest}");
        let got = grads
            .get(&net, &key)
            .unwrap_or_else(|| panic!("no gradient {key}"));
        let shape: Vec<usize> = want["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let w = shaped(want, &shape);
        assert_close!(
            got,
            w,
            rel = REL,
            abs = floor(true, &w),
            "residual: gradient of {torch_name} ({key})"
        );
    }
    for (row, want) in rows.iter().zip(want_y.chunks_exact(3)) {
        assert_close!(
            net.forward(row),
            want,
            rel = REL,
            abs = floor(true, &want_y),
            "residual: one sample"
        );
    }
}
