//! Every loss of `nn::loss` under each reduction (`Mean`, `Sum`, `None`), and `BceLoss` on
//! probabilities, against `tests/fixtures/loss_reductions.json`, which
//! `tools/make_loss_fixtures.py` wrote with PyTorch (see its header for how to rerun it).
//!
//! Tolerances are those of the loss parity test in `tests/parity.rs`: `rel = 1e-5`; a
//! reduced value is a positive sum or mean of ordinary size, so relative alone; the terms of
//! 'none' and every gradient element can be zero or cancel (L1 at a zero difference, softmax
//! minus target), so they add an absolute floor of 1e-5 times the tensor's largest
//! magnitude. The fixture script certifies that PyTorch's float32 results lie within half
//! of that of float64's, so a failure means a wrong formula, not rounding.

#[macro_use]
mod common;
use common::fixture::{fixture, named, num, values};
use common::max_abs;

use nn::loss::{
    BceLoss, BceWithLogitsLoss, CrossEntropyLoss, L1Loss, Loss, MseLoss, NllLoss, Reduced,
    Reducible, Reduction, SmoothL1Loss,
};
use nn::{Gradients, Tape};
use serde_json::Value;

const REL: f32 = 1e-5;

/// What a loss gave under one reduction: the value `Loss::loss` returns, the terms
/// `Reduced::losses` returns, and the gradient.
struct Outcome {
    value: f32,
    terms: Vec<f32>,
    grad: Vec<f32>,
}

/// Runs `loss` under `reduction` every way the library offers, checking that the ways agree
/// bit for bit: with and without a gradient, through `Loss::loss` and `Reduced::losses`, and
/// for `Mean`, wrapped or not.
fn run<T: ?Sized, L>(loss: L, out: &[f32], width: usize, t: &T, r: Reduction, name: &str) -> Outcome
where
    L: Reducible<T> + Loss<T> + Copy,
    Reduced<L>: Loss<T>,
{
    let reduced = Reduced::new(loss, r);
    let mut grad = vec![f32::NAN; out.len()];
    let value = reduced.loss(out, width, t, Some(&mut grad));
    let value_only = reduced.loss(out, width, t, None);
    assert_eq!(
        value.to_bits(),
        value_only.to_bits(),
        "{name}: without gradient"
    );
    let mut grad2 = vec![f32::NAN; out.len()];
    let terms = reduced.losses(out, width, t, Some(&mut grad2));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&grad), bits(&grad2), "{name}: gradient of `losses`");
    if r == Reduction::Mean {
        let mut plain = vec![f32::NAN; out.len()];
        let v = loss.loss(out, width, t, Some(&mut plain));
        assert_eq!(
            v.to_bits(),
            value.to_bits(),
            "{name}: Mean is the loss itself"
        );
        assert_eq!(bits(&plain), bits(&grad), "{name}: Mean's gradient");
    }
    Outcome { value, terms, grad }
}

fn classes(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect()
}

/// The loss a fixture case names, run under its reduction.
fn eval(case: &Value, out: &[f32], width: usize, r: Reduction, name: &str) -> Outcome {
    let spec = &case["loss"];
    let t = &case["target"];
    let kind = spec["kind"].as_str().unwrap();
    match kind {
        "mse" => run(MseLoss, out, width, &values(t)[..], r, name),
        "l1" => run(L1Loss, out, width, &values(t)[..], r, name),
        "smooth_l1" => {
            let beta = num(&spec["beta"]);
            run(SmoothL1Loss { beta }, out, width, &values(t)[..], r, name)
        }
        "bce_with_logits" => run(BceWithLogitsLoss, out, width, &values(t)[..], r, name),
        "bce" => run(BceLoss, out, width, &values(t)[..], r, name),
        "cross_entropy" => {
            let ce = CrossEntropyLoss {
                label_smoothing: num(&spec["label_smoothing"]),
            };
            if t.is_array() {
                let c = classes(t);
                let as_usize: Vec<usize> = c.iter().map(|&c| c as usize).collect();
                let a = run(ce, out, width, &c[..], r, name);
                let b = run(ce, out, width, &as_usize[..], r, name);
                assert_eq!(
                    a.value.to_bits(),
                    b.value.to_bits(),
                    "{name}: usize targets"
                );
                a
            } else {
                run(ce, out, width, &values(t)[..], r, name)
            }
        }
        "nll" => run(NllLoss, out, width, &classes(t)[..], r, name),
        _ => panic!("unknown loss {spec}"),
    }
}

#[test]
fn every_loss_under_every_reduction_matches_pytorch() {
    let fx = fixture("loss_reductions.json");
    let cases = fx["losses"].as_array().unwrap();
    assert_eq!(cases.len(), 33, "11 losses × 3 reductions");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (base, reduction) = name.rsplit_once('/').unwrap();
        let r = match reduction {
            "mean" => Reduction::Mean,
            "sum" => Reduction::Sum,
            "none" => Reduction::None,
            _ => panic!("{name}: unknown reduction"),
        };
        let shape = common::fixture::shape(&case["input"]);
        let out = values(&case["input"]);
        let width = *shape.last().unwrap();
        let got = eval(case, &out, width, r, name);

        if r == Reduction::None {
            let want = values(&case["value"]);
            let floor = REL * max_abs(&want);
            assert_close!(got.terms, want, rel = REL, abs = floor, "{name}: terms");
            // Training on 'none' is `loss.backward(ones)`: the sum, PyTorch's 'sum' value.
            let sum = num(&named(&fx["losses"], &format!("{base}/sum"))["value"]);
            assert_close!([got.value], [sum], rel = REL, abs = 0.0, "{name}: sum");
        } else {
            let want = num(&case["value"]);
            assert_close!([got.value], [want], rel = REL, abs = 0.0, "{name}: value");
            // The terms are those of 'none' whatever the reduction.
            let none = values(&named(&fx["losses"], &format!("{base}/none"))["value"]);
            let floor = REL * max_abs(&none);
            assert_close!(got.terms, none, rel = REL, abs = floor, "{name}: terms");
        }
        let want_grad = values(&case["grad"]);
        let floor = REL * max_abs(&want_grad);
        assert_close!(
            got.grad,
            want_grad,
            rel = REL,
            abs = floor,
            "{name}: gradient"
        );
    }
}

/// The fixture's BCELoss case holds 0 and 1 exactly and 1e-30, where the log is clamped at
/// -100 and the gradient's denominator at 1e-12: the values that only the clamps give.
#[test]
fn bce_clamps_as_pytorch_at_zero_and_one() {
    let p = [0.0, 1.0, 0.0, 1.0, 1e-30];
    let t = [0.0, 1.0, 0.25, 0.75, 1.0];
    let mut grad = [0.0; 5];
    let terms = BceLoss
        .reduction(Reduction::None)
        .losses(&p, 1, &t[..], Some(&mut grad));
    // −log(1e-30) = 69.0776 is above the clamp; 0.25 · 100 = 25 is the clamp's.
    let want = [0.0, 0.0, 25.0, 25.0, 69.07755];
    assert_close!(terms, want, rel = 1e-6, abs = 0.0, "terms");
    // p (1 − p) is 0 at 0 and 1, and 1e-30 just above: all three take the floor 1e-12.
    let want = [0.0, 0.0, -0.25 / 1e-12, 0.25 / 1e-12, (1e-30 - 1.0) / 1e-12];
    assert_close!(grad, want, rel = 1e-6, abs = 0.0, "gradient");
}

#[test]
#[should_panic(expected = "BCELoss: input 1.5 is not a probability in [0, 1]")]
fn bce_refuses_inputs_outside_zero_one() {
    BceLoss.loss(&[0.5, 1.5], 1, &[1.0, 1.0][..], None);
}

#[test]
#[should_panic(expected = "BCELoss: target -1 is not a probability in [0, 1]")]
fn bce_refuses_targets_outside_zero_one() {
    BceLoss.loss(&[0.5], 1, &[-1.0][..], None);
}

#[test]
fn bce_lets_a_nan_input_through_as_nan() {
    let mut g = [0.0];
    assert!(BceLoss
        .loss(&[f32::NAN], 1, &[1.0][..], Some(&mut g))
        .is_nan());
    assert!(g[0].is_nan());
}

#[test]
#[should_panic(expected = "NLLLoss: 2 unreduced losses, but room for 3")]
fn unreduced_terms_need_room_for_each_row() {
    let mut each = [0.0; 3];
    NllLoss.reduce(
        &[-1.0; 4],
        2,
        &[0usize, 1][..],
        Reduction::None,
        Some(&mut each),
        None,
    );
}

nn::network! { struct Prob<Linear<3, 2>, Sigmoid> }

/// The parameter gradients of one step of `Prob` under `loss`.
fn step_grads<L: Loss<[[f32; 2]]>>(loss: &L) -> (f32, Vec<f32>) {
    let net = &mut Prob::new(3);
    let x = [
        [0.5, -1.0, 2.0],
        [1.0, 0.0, -0.5],
        [0.25, 0.5, 0.75],
        [-1.0, 2.0, 0.0],
    ];
    let y = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.0]];
    let mut tape = Tape::new();
    let mut grads = Gradients::<Prob>::new();
    net.forward_train(&x, &mut tape).unwrap();
    let value = tape.loss(loss, &y);
    net.backward(&x, &mut tape, &mut grads);
    (value, grads.as_slice().to_vec())
}

/// `Tape::loss` trains on BCELoss and on every reduction. The output has 8 elements, so the
/// mean is the sum times 1/8, a power of two: every gradient of 'sum' (and of 'none', which
/// trains as 'sum') is exactly 8 times the mean's, bit for bit.
#[test]
fn the_tape_trains_on_bce_under_each_reduction() {
    let (mean, g_mean) = step_grads(&BceLoss);
    let (sum, g_sum) = step_grads(&BceLoss.reduction(Reduction::Sum));
    let (none, g_none) = step_grads(&BceLoss.reduction(Reduction::None));
    assert!(mean > 0.0 && g_mean.iter().any(|g| *g != 0.0));
    assert_eq!(sum, none);
    assert_eq!(g_sum, g_none);
    let scaled: Vec<f32> = g_mean.iter().map(|g| g * 8.0).collect();
    assert_eq!(g_sum, scaled);
    assert_close!([sum], [mean * 8.0], rel = 1e-6, abs = 0.0, "sum of 8 terms");
}
