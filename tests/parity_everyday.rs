//! Parity with PyTorch for the tools of daily training: RMSprop, Adagrad and Adadelta,
//! `clip_grad_norm_` and `clip_grad_value_`, per-step learning-rate schedules, top-k
//! accuracy, `NLLLoss` and `CrossEntropyLoss` with int64 indices and with probabilities,
//! against `tests/fixtures/everyday.json`, which `tools/make_everyday_fixtures.py` wrote with
//! PyTorch (see its header for how to rerun it). Every element is compared.
//!
//! Tolerances are those of `tests/parity.rs`: `rel = 1e-5`, with an absolute floor of
//! 1e-5 times the tensor's largest magnitude where elements are sums that can cancel. The
//! fixture script certifies that PyTorch's float32 results lie within half of that of
//! float64's, so a failure means a wrong formula, not rounding. Schedules are PyTorch's
//! double-precision values rounded to float32; ours are computed in double from float32
//! settings (0.1f32 is not 0.1), which moves them by about 1e-8 relative: `rel = 1e-6`.

#[macro_use]
mod common;
use common::fixture::{fixture, named, num, nums, shape, values};
use common::max_abs;

use nn::loss::{CrossEntropyLoss, Loss, MseLoss, NllLoss};
use nn::optim::{
    Adadelta, Adagrad, Adam, Anneal, ExponentialLr, LinearLr, LrSchedule, OneCycleLr, Optimizer,
    ReduceLrOnPlateau, RmsProp, Sgd,
};
use nn::{BufferMut, Gradients, Network, Tape};
use serde_json::Value;

nn::network! { struct Small<Linear<6, 5>, Tanh, Linear<5, 3>> }

const REL: f32 = 1e-5;

fn width(v: &Value) -> usize {
    *shape(v).last().unwrap()
}

fn rows<const W: usize>(v: &Value) -> Vec<[f32; W]> {
    assert_eq!(width(v), W);
    values(v)
        .chunks_exact(W)
        .map(|r| r.try_into().unwrap())
        .collect()
}

/// The fixture's network at its initial state.
fn network(fx: &Value) -> Box<Small> {
    let mut net = Small::new(0);
    let state = &fx["network"]["state"];
    net.named_state_mut(&mut |module, name, value| {
        let key = format!("{module}.{name}");
        let BufferMut::F32(dst) = value else {
            panic!("{key}: not a float tensor")
        };
        dst.copy_from_slice(&values(named(state, &key)));
    });
    net
}

fn f(cfg: &Value, key: &str) -> Option<f32> {
    cfg.get(key).map(num)
}

/// Trains with `opt` as the fixture script did; returns the loss of every step.
fn train<O: Optimizer>(fx: &Value, net: &mut Small, opt: &mut O) -> Vec<f32> {
    let x: Vec<[f32; 6]> = rows(&fx["network"]["input"]);
    let y: Vec<[f32; 3]> = rows(&fx["network"]["target"]);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let steps = fx["network"]["steps"].as_u64().unwrap();
    (0..steps)
        .map(|_| {
            opt.zero_grad(&mut grads);
            net.forward_train(&x, &mut tape).unwrap();
            let loss = tape.loss(&MseLoss, &y[..]);
            net.backward(&x, &mut tape, &mut grads);
            opt.step(net, &grads);
            loss
        })
        .collect()
}

fn check_run<O: Optimizer>(fx: &Value, run: &Value, mut opt: O) {
    let name = run["name"].as_str().unwrap();
    let mut net = network(fx);
    let losses = train(fx, &mut net, &mut opt);
    // Each loss is a positive mean of squares: relative alone.
    close_all(
        &losses,
        &nums(&run["losses"]),
        0.0,
        &format!("{name}: losses"),
    );
    let mut offset = 0;
    net.named_params(&mut |module, pname, _, got| {
        let key = format!("{module}.{pname}");
        let want = values(named(&run["params"], &key));
        // Parameters after a few steps: sums of updates that can cancel, so a floor of
        // 1e-5 times the tensor's largest magnitude.
        let floor = REL * max_abs(&want);
        assert_close!(got, want, rel = REL, abs = floor, "{name}: {key}");
        offset += got.len();
    });
    assert_eq!(offset, Small::PARAMS);
}

fn close_all(got: &[f32], want: &[f32], abs: f32, ctx: &str) {
    assert_close!(got, want, rel = REL, abs = abs, "{ctx}");
}

#[test]
fn optimizers_match_pytorch_on_every_element() {
    let fx = fixture("everyday.json");
    let runs = fx["optimizers"].as_array().unwrap();
    assert_eq!(runs.len(), 13);
    for run in runs {
        let c = &run["config"];
        let lr = f(c, "lr");
        match c["kind"].as_str().unwrap() {
            "rmsprop" => {
                let mut o = RmsProp::new(lr.unwrap());
                o.alpha = f(c, "alpha").unwrap_or(o.alpha);
                o.eps = f(c, "eps").unwrap_or(o.eps);
                o.weight_decay = f(c, "weight_decay").unwrap_or(o.weight_decay);
                o.momentum = f(c, "momentum").unwrap_or(o.momentum);
                o.centered = c.get("centered").is_some_and(|v| v.as_bool().unwrap());
                check_run(&fx, run, o);
            }
            "adagrad" => {
                let mut o = Adagrad::new(lr.unwrap());
                o.lr_decay = f(c, "lr_decay").unwrap_or(o.lr_decay);
                o.weight_decay = f(c, "weight_decay").unwrap_or(o.weight_decay);
                o.initial_accumulator_value =
                    f(c, "initial_accumulator_value").unwrap_or(o.initial_accumulator_value);
                o.eps = f(c, "eps").unwrap_or(o.eps);
                check_run(&fx, run, o);
            }
            "adadelta" => {
                // PyTorch's default learning rate is 1.
                let mut o = Adadelta::new(lr.unwrap_or(1.0));
                o.rho = f(c, "rho").unwrap_or(o.rho);
                o.eps = f(c, "eps").unwrap_or(o.eps);
                o.weight_decay = f(c, "weight_decay").unwrap_or(o.weight_decay);
                check_run(&fx, run, o);
            }
            "sgd" => {
                let o = Sgd::new(lr.unwrap())
                    .momentum(f(c, "momentum").unwrap_or(0.0))
                    .dampening(f(c, "dampening").unwrap_or(0.0))
                    .nesterov(c.get("nesterov").is_some_and(|v| v.as_bool().unwrap()))
                    .weight_decay(f(c, "weight_decay").unwrap_or(0.0));
                check_run(&fx, run, o);
            }
            kind @ ("adam" | "adamw") => {
                let lr = lr.unwrap();
                let o = if kind == "adamw" {
                    Adam::adamw(lr)
                } else {
                    Adam::new(lr)
                };
                let (b1, b2) = match c.get("betas") {
                    Some(b) => (b[0].as_f64().unwrap() as f32, b[1].as_f64().unwrap() as f32),
                    None => o.betas,
                };
                let (eps, decay) = (o.eps, o.weight_decay);
                let o = o
                    .betas(b1, b2)
                    .eps(f(c, "eps").unwrap_or(eps))
                    .weight_decay(f(c, "weight_decay").unwrap_or(decay));
                check_run(&fx, run, o);
            }
            other => panic!("unknown optimizer {other}"),
        }
    }
}

#[test]
fn gradient_clipping_matches_pytorch() {
    let fx = fixture("everyday.json");
    let clip = &fx["clip"];
    let start = values(&clip["grads"]);
    let cases = clip["norm"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let max_norm = num(&case["max_norm"]);
        let norm_type = match &case["norm_type"] {
            Value::String(s) if s == "inf" => f32::INFINITY,
            v => num(v),
        };
        let mut grads = Gradients::<Small>::new();
        grads.as_mut_slice().copy_from_slice(&start);
        let total = grads.clip_grad_norm(max_norm, norm_type);
        let ctx = format!("clip_grad_norm_({max_norm}, {norm_type})");
        // A norm is a positive sum of magnitudes: relative alone.
        close_all(&[total], &[num(&case["total_norm"])], 0.0, &ctx);
        // Each gradient is scaled by one coefficient: relative alone.
        close_all(grads.as_slice(), &values(&case["grads"]), 0.0, &ctx);
    }
    let v = &clip["value"];
    let mut grads = Gradients::<Small>::new();
    grads.as_mut_slice().copy_from_slice(&start);
    grads.clip_grad_value(num(&v["clip_value"]));
    // Clamping rounds nothing: exact.
    assert_eq!(grads.as_slice(), values(&v["grads"]), "clip_grad_value_");
}

/// The learning rates (and momenta) of `s` before each of `steps` steps and after the
/// last, applied to `opt` as a training loop does.
fn per_step<S: LrSchedule, O: Optimizer>(
    mut s: S,
    mut opt: O,
    steps: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (mut lrs, mut moms) = (Vec::new(), Vec::new());
    for i in 0..=steps {
        s.apply(&mut opt);
        lrs.push(opt.lr());
        moms.push(opt.momentum().unwrap());
        if i < steps {
            s.step();
        }
    }
    (lrs, moms)
}

fn close_schedule(got: &[f32], want: &Value, name: &str) {
    let want = nums(want);
    // See the header: float32 settings against PyTorch's doubles, and rates far from 0.
    assert_close!(got, want, rel = 1e-6, abs = 0.0, "{name}");
}

#[test]
fn lr_schedules_match_pytorch() {
    let fx = fixture("everyday.json");
    let all = &fx["schedules"];
    let sgd = || Sgd::new(0.1).momentum(0.9);

    let s = named(all, "linear_lr_default");
    let steps = nums(&s["lr"]).len() - 1;
    let (lrs, _) = per_step(LinearLr::new(num(&s["base_lr"])), sgd(), steps);
    close_schedule(&lrs, &s["lr"], "LinearLR defaults");

    let s = named(all, "linear_lr");
    let sched = LinearLr::new(num(&s["base_lr"]))
        .start_factor(num(&s["start_factor"]))
        .end_factor(num(&s["end_factor"]))
        .total_iters(s["total_iters"].as_u64().unwrap());
    let (lrs, _) = per_step(sched, sgd(), nums(&s["lr"]).len() - 1);
    close_schedule(&lrs, &s["lr"], "LinearLR");

    let s = named(all, "exponential_lr");
    let sched = ExponentialLr::new(num(&s["base_lr"]), num(&s["gamma"]));
    let (lrs, _) = per_step(sched, sgd(), nums(&s["lr"]).len() - 1);
    close_schedule(&lrs, &s["lr"], "ExponentialLR");

    let s = named(all, "one_cycle_lr");
    let total = s["total_steps"].as_u64().unwrap();
    let (lrs, moms) = per_step(
        OneCycleLr::new(num(&s["max_lr"]), total),
        sgd(),
        total as usize,
    );
    close_schedule(&lrs, &s["lr"], "OneCycleLR lr");
    close_schedule(&moms, &s["momentum"], "OneCycleLR momentum");

    let s = named(all, "one_cycle_lr_three_phase_linear_adam");
    let total = s["total_steps"].as_u64().unwrap();
    let sched = OneCycleLr::new(num(&s["max_lr"]), total)
        .pct_start(num(&s["pct_start"]))
        .anneal(Anneal::Linear)
        .div_factor(num(&s["div_factor"]))
        .final_div_factor(num(&s["final_div_factor"]))
        .momentum_range(num(&s["base_momentum"]), num(&s["max_momentum"]))
        .three_phase(true);
    let (lrs, moms) = per_step(sched, nn::optim::Adam::new(0.1), total as usize);
    close_schedule(&lrs, &s["lr"], "OneCycleLR three-phase lr");
    close_schedule(&moms, &s["momentum"], "OneCycleLR three-phase beta1");

    for name in ["reduce_lr_on_plateau", "reduce_lr_on_plateau_default"] {
        let s = named(all, name);
        let mut sched = ReduceLrOnPlateau::new(num(&s["initial_lr"]));
        if let Some(factor) = s.get("factor") {
            sched = sched
                .factor(num(factor))
                .patience(s["patience"].as_u64().unwrap())
                .cooldown(s["cooldown"].as_u64().unwrap())
                .min_lr(num(&s["min_lr"]));
        }
        let mut opt = sgd();
        let lrs: Vec<f32> = nums(&s["metrics"])
            .into_iter()
            .map(|m| {
                sched.step(m);
                sched.apply(&mut opt);
                opt.lr()
            })
            .collect();
        close_schedule(&lrs, &s["lr"], name);
    }
}

#[test]
fn top_k_accuracy_matches_pytorch() {
    let fx = fixture("everyday.json");
    let m = &fx["metrics"];
    let logits = values(&m["logits"]);
    let w = width(&m["logits"]);
    let target: Vec<usize> = m["target"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    for k in 1..=3 {
        let want = &m["top_k"][k.to_string()];
        let correct = nn::metrics::top_k_correct(&logits, w, &target, k);
        assert_eq!(correct as u64, want["correct"].as_u64().unwrap(), "top-{k}");
        // A count over a count, rounded once as PyTorch's mean rounds it.
        assert_eq!(
            nn::metrics::top_k_accuracy(&logits, w, &target, k),
            num(&want["accuracy"]),
            "top-{k}"
        );
    }
    assert_eq!(
        nn::metrics::accuracy(&logits, w, &target),
        nn::metrics::top_k_accuracy(&logits, w, &target, 1)
    );
}

#[test]
fn nll_and_cross_entropy_targets_match_pytorch() {
    let fx = fixture("everyday.json");
    let cases = fx["losses"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = values(&case["input"]);
        let w = width(&case["input"]);
        let mut grad = vec![f32::NAN; input.len()];
        let spec = &case["loss"];
        let ce = CrossEntropyLoss {
            label_smoothing: spec.get("label_smoothing").map_or(0.0, num),
        };
        let (value, value_only) = match (&case["target"], spec["kind"].as_str().unwrap()) {
            (Value::Array(t), kind) => {
                // Class indices, read as PyTorch's int64.
                let t: Vec<i64> = t.iter().map(|v| v.as_i64().unwrap()).collect();
                let as_usize: Vec<usize> = t.iter().map(|&c| c as usize).collect();
                let loss: &dyn Fn(Option<&mut [f32]>) -> f32 = match kind {
                    "nll" => &|g| NllLoss.loss(&input, w, &t[..], g),
                    _ => &|g| ce.loss(&input, w, &t[..], g),
                };
                let v = loss(Some(&mut grad));
                let usize_value = match kind {
                    "nll" => NllLoss.loss(&input, w, &as_usize[..], None),
                    _ => ce.loss(&input, w, &as_usize[..], None),
                };
                assert_eq!(v.to_bits(), usize_value.to_bits(), "{name}: usize targets");
                (v, loss(None))
            }
            (t, _) => {
                let t = values(t);
                let v = ce.loss(&input, w, &t[..], Some(&mut grad));
                (v, ce.loss(&input, w, &t[..], None))
            }
        };
        assert_eq!(
            value.to_bits(),
            value_only.to_bits(),
            "{name}: without gradient"
        );
        // A positive mean of ordinary size: relative alone.
        close_all(
            &[value],
            &[num(&case["value"])],
            0.0,
            &format!("{name}: loss"),
        );
        let want = values(&case["grad"]);
        // softmax − target cancels: floor 1e-5 times the largest element, as parity.rs.
        close_all(
            &grad,
            &want,
            REL * max_abs(&want),
            &format!("{name}: gradient"),
        );
    }
}

#[test]
fn probability_rows_and_one_hot_indices_agree() {
    // A one-hot probability target is the class-index loss, with label smoothing too.
    let logits = [0.3, -1.2, 2.0, 0.5, 0.1, -0.4];
    for eps in [0.0, 0.2] {
        let ce = CrossEntropyLoss {
            label_smoothing: eps,
        };
        let (mut g1, mut g2) = ([0.0; 6], [0.0; 6]);
        let a = ce.loss(&logits, 3, &[2usize, 0][..], Some(&mut g1));
        let b = ce.loss(
            &logits,
            3,
            &[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]][..],
            Some(&mut g2),
        );
        assert_close!([a], [b], rel = 1e-6, abs = 0.0, "loss, eps {eps}");
        assert_close!(g1, g2, rel = 1e-6, abs = 1e-7, "gradient, eps {eps}");
    }
}

#[test]
#[should_panic(expected = "CrossEntropyLoss: target -1 at row 1 is not a class index below 3")]
fn negative_int64_target_names_its_row() {
    CrossEntropyLoss::default().loss(&[0.0; 6], 3, &[0i64, -1][..], None);
}

#[test]
#[should_panic(expected = "ignore_index (-100) is not supported")]
fn ignore_index_is_explained() {
    NllLoss.loss(&[0.0; 6], 3, &[-100i64, 1][..], None);
}

#[test]
#[should_panic(expected = "NLLLoss: target 3 at row 0 is not a class index below 3")]
fn out_of_range_nll_target_names_its_row() {
    NllLoss.loss(&[0.0; 6], 3, &[3usize, 1][..], None);
}

/// The metrics on typed rows (`Vec<[f32; 5]>`, as `predict` returns them) give PyTorch's
/// counts and accuracies, as the flat form does.
#[test]
fn top_k_accuracy_on_rows_matches_pytorch() {
    let fx = fixture("everyday.json");
    let m = &fx["metrics"];
    let rows = rows::<5>(&m["logits"]);
    let target: Vec<usize> = m["target"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    for k in 1..=3 {
        let want = &m["top_k"][k.to_string()];
        let correct = nn::metrics::top_k_correct_rows(&rows, &target, k);
        assert_eq!(correct as u64, want["correct"].as_u64().unwrap(), "top-{k}");
        assert_eq!(
            nn::metrics::top_k_accuracy_rows(&rows, &target, k),
            num(&want["accuracy"]),
            "top-{k}"
        );
    }
    assert_eq!(
        nn::metrics::accuracy_rows(&rows, &target),
        num(&m["top_k"]["1"]["accuracy"])
    );
}

/// `Loss::loss_rows` on typed rows gives PyTorch's value and gradient, in rows, for class
/// indices and for probability rows.
#[test]
fn losses_on_rows_match_pytorch() {
    let fx = fixture("everyday.json");
    let ce = CrossEntropyLoss::default();
    for name in ["cross_entropy_int64", "cross_entropy_probabilities"] {
        let case = named(&fx["losses"], name);
        let input = rows::<5>(&case["input"]);
        let mut grad = vec![[f32::NAN; 5]; input.len()];
        let value = match &case["target"] {
            Value::Array(t) => {
                let t: Vec<i64> = t.iter().map(|v| v.as_i64().unwrap()).collect();
                ce.loss_rows(&input, &t[..], Some(&mut grad))
            }
            t => ce.loss_rows(&input, &rows::<5>(t)[..], Some(&mut grad)),
        };
        close_all(
            &[value],
            &[num(&case["value"])],
            0.0,
            &format!("{name}: loss"),
        );
        let want = values(&case["grad"]);
        close_all(
            grad.as_flattened(),
            &want,
            REL * max_abs(&want),
            &format!("{name}: gradient"),
        );
    }
}
