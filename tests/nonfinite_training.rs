//! NaN and infinities through the losses and the optimizers, as PyTorch propagates them,
//! against `tests/fixtures/nonfinite.json` (written by `tools/make_nonfinite_fixture.py`):
//! each loss's value and gradient on outputs and targets with NaN and infinities, and each
//! optimizer's parameters after a step with NaN and infinite gradients, from NaN and
//! infinite parameters, and after a second, ordinary step.

mod common;

use common::nonfinite::{assert_none, compare, fixture, num, nums};
use nn::loss::{BceWithLogitsLoss, CrossEntropyLoss, L1Loss, Loss, MseLoss, NllLoss, SmoothL1Loss};
use nn::optim::{Adadelta, Adagrad, Adam, Optimizer, RmsProp, Sgd};
use nn::{Gradients, Layer};
use serde_json::Value;

/// An elementwise loss on every (output, target) pair of the fixture, one element at a
/// time (the mean of one element is that element's loss).
fn elementwise<L: Loss<[f32]>>(loss: L, name: &str, fx: &Value, wrong: &mut Vec<String>) {
    let (xs, ts) = (nums(&fx["x"]), nums(&fx["targets"]));
    let mut i = 0;
    for &t in &ts {
        for &x in &xs {
            let mut g = [0.0];
            let l = loss.loss(&[x], 1, &[t][..], Some(&mut g));
            let what = format!("{name}(out {x}, target {t})");
            compare(wrong, &what, &[l], &[num(&fx[name]["loss"][i])]);
            compare(
                wrong,
                &format!("{what} gradient"),
                &g,
                &[num(&fx[name]["grad"][i])],
            );
            i += 1;
        }
    }
}

/// Each row of logits alone (a batch of one) against each target in `targets`, in the
/// fixture's order (targets outside, rows inside).
fn rows<T: ?Sized, L: Loss<T>>(
    loss: &L,
    what: &str,
    fx: &Value,
    want: &Value,
    targets: &[&T],
    wrong: &mut Vec<String>,
) {
    let rows: Vec<Vec<f32>> = fx["rows"].as_array().unwrap().iter().map(nums).collect();
    let mut i = 0;
    for (k, t) in targets.iter().enumerate() {
        for row in &rows {
            let mut g = [0.0; 3];
            let l = loss.loss(row, 3, t, Some(&mut g));
            let at = format!("{what}({row:?}, target #{k})");
            compare(wrong, &at, &[l], &[num(&want["loss"][i])]);
            let want_g = &nums(&want["grad"])[3 * i..3 * i + 3];
            compare(wrong, &format!("{at} gradient"), &g, want_g);
            i += 1;
        }
    }
}

#[test]
fn elementwise_losses_propagate_nan_and_infinities_as_pytorch() {
    let fx = &fixture()["losses"];
    let mut wrong = Vec::new();
    elementwise(MseLoss, "MSELoss", fx, &mut wrong);
    elementwise(L1Loss, "L1Loss", fx, &mut wrong);
    elementwise(SmoothL1Loss { beta: 1.0 }, "SmoothL1Loss", fx, &mut wrong);
    elementwise(BceWithLogitsLoss, "BCEWithLogitsLoss", fx, &mut wrong);
    assert_none(&wrong);
}

#[test]
fn classification_losses_propagate_nan_and_infinities_as_pytorch() {
    let fx = &fixture()["losses"];
    let mut wrong = Vec::new();
    let soft: Vec<Vec<f32>> = fx["soft_targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(nums)
        .collect();
    let soft: Vec<&[f32]> = soft.iter().map(Vec::as_slice).collect();
    for eps in [0.0, 0.1] {
        let ce = CrossEntropyLoss {
            label_smoothing: eps,
        };
        let want = &fx[format!("CrossEntropyLoss({eps:?})")];
        let what = format!("CrossEntropyLoss(ε = {eps})");
        let classes: [&[usize]; 2] = [&[0], &[1]];
        rows(&ce, &what, fx, &want["classes"], &classes, &mut wrong);
        rows(&ce, &what, fx, &want["probabilities"], &soft, &mut wrong);
    }
    let classes: [&[i64]; 2] = [&[0], &[1]];
    rows(
        &NllLoss,
        "NLLLoss",
        fx,
        &fx["NLLLoss"],
        &classes,
        &mut wrong,
    );
    assert_none(&wrong);
}

// Eight parameters, as the fixture's one tensor (every update is elementwise).
nn::network! { struct Eight<Linear<1, 4>> }

fn read(net: &mut Eight) -> Vec<f32> {
    let mut out = Vec::new();
    net.walk_params_mut(&mut |p| out.extend_from_slice(p));
    out
}

/// Two steps of `opt` from the fixture's parameters with its two gradients.
fn steps<O: Optimizer>(mut opt: O, name: &str, fx: &Value, wrong: &mut Vec<String>) {
    let mut net = Eight::new(0);
    let start = nums(&fx["params"]);
    let mut at = 0;
    net.walk_params_mut(&mut |p| {
        p.copy_from_slice(&start[at..at + p.len()]);
        at += p.len();
    });
    let want = fx[name]
        .as_array()
        .unwrap_or_else(|| panic!("no optimizer {name:?} in the fixture"));
    for (step, (g, want)) in fx["grads"].as_array().unwrap().iter().zip(want).enumerate() {
        let mut grads = Gradients::<Eight>::new();
        grads.as_mut_slice().copy_from_slice(&nums(g));
        opt.step(&mut *net, &grads);
        compare(
            wrong,
            &format!("{name} step {}", step + 1),
            &read(&mut net),
            &nums(want),
        );
    }
}

#[test]
fn optimizers_propagate_nan_and_infinities_as_pytorch() {
    let fx = &fixture()["optimizers"];
    let mut wrong = Vec::new();
    let w = &mut wrong;
    steps(Sgd::new(0.1), "Sgd", fx, w);
    steps(Sgd::new(0.1).weight_decay(0.01), "Sgd(weight_decay)", fx, w);
    steps(Sgd::new(0.1).momentum(0.9), "Sgd(momentum)", fx, w);
    let damped = Sgd::new(0.1).momentum(0.9).dampening(0.1);
    steps(damped, "Sgd(dampening)", fx, w);
    let nesterov = Sgd::new(0.1).momentum(0.9).nesterov(true);
    steps(nesterov, "Sgd(nesterov)", fx, w);
    let decayed = Sgd::new(0.1).momentum(0.9).weight_decay(0.01);
    steps(decayed, "Sgd(momentum, weight_decay)", fx, w);
    steps(Adam::new(0.01), "Adam", fx, w);
    steps(
        Adam::new(0.01).weight_decay(0.01),
        "Adam(weight_decay)",
        fx,
        w,
    );
    steps(Adam::adamw(0.01), "AdamW", fx, w);
    steps(
        Adam::adamw(0.01).weight_decay(0.0),
        "AdamW(weight_decay=0)",
        fx,
        w,
    );
    steps(RmsProp::new(0.01), "RmsProp", fx, w);
    steps(RmsProp::new(0.01).momentum(0.9), "RmsProp(momentum)", fx, w);
    steps(
        RmsProp::new(0.01).centered(true),
        "RmsProp(centered)",
        fx,
        w,
    );
    steps(
        RmsProp::new(0.01).weight_decay(0.01),
        "RmsProp(weight_decay)",
        fx,
        w,
    );
    steps(Adagrad::new(0.1), "Adagrad", fx, w);
    steps(
        Adagrad::new(0.1).weight_decay(0.01),
        "Adagrad(weight_decay)",
        fx,
        w,
    );
    steps(Adadelta::new(1.0), "Adadelta", fx, w);
    steps(
        Adadelta::new(1.0).weight_decay(0.01),
        "Adadelta(weight_decay)",
        fx,
        w,
    );
    assert_none(&wrong);
}
