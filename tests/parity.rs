//! Parity with PyTorch: networks, losses, optimizers and schedules against fixtures that
//! `tools/make_fixtures.py` wrote with PyTorch (see its header for how to rerun it). No
//! Python runs here; every expected number comes from `tests/fixtures/`.
//!
//! Tolerances: `rel = 1e-5` everywhere (f32 has 24 bits, about 6e-8 per rounding, so 1e-5
//! leaves room for a few hundred roundings in a different order but not for a wrong
//! formula). Where an element can be near zero by cancellation, an absolute floor is added;
//! each one is stated where it is used, with its reason. The fixture script certifies that
//! these tolerances are fair: it recomputes everything in float64 and refuses a fixture where
//! PyTorch's own float32 result is more than half a tolerance from float64's, leaving out
//! (and listing) only the few elements that rounding decides whatever the implementation
//! (see [`check_tensor`]). So PyTorch and any correct float32 implementation both sit within
//! half a tolerance of the exact result, and a failure here means a wrong formula.

#[macro_use]
mod common;
use common::fixture::{elements, fixture, named, num, shape};
use common::max_abs;

use nn::loss::{BceWithLogitsLoss, CrossEntropyLoss, L1Loss, Loss, MseLoss, SmoothL1Loss};
use nn::optim::{Adam, CosineAnnealingLr, Optimizer, Sgd, StepLr};
use nn::{BatchNorm, Gradients, Network, Tape};
use serde_json::Value;

nn::network! { struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
nn::network! { struct MseNet<Linear<10, 16>, Tanh, Linear<16, 8>, Sigmoid, Linear<8, 1>> }
nn::network! {
    struct SmoothNet<Linear<64, 32>, ReLU, BatchNorm<32>, Linear<32, 16>, Tanh, Linear<16, 10>>
}

/// The relative tolerance of every check.
const REL: f32 = 1e-5;

/// [`assert_close!`], also noting how much of its tolerance the check used, so that each
/// test can report its closest call (`cargo test --test parity -- --nocapture`).
macro_rules! close {
    ($got:expr, $want:expr, rel = $rel:expr, abs = $abs:expr, $($ctx:tt)+) => {{
        let (got, want): (&[f32], &[f32]) = (&$got[..], &$want[..]);
        let (rel, abs): (f32, f32) = ($rel, $abs);
        assert_close!(got, want, rel = rel, abs = abs, $($ctx)+);
        note_margin(got, want, rel, abs, || format!($($ctx)+));
    }};
}

thread_local! {
    /// The largest share of its tolerance any check of this test used, and which check.
    static CLOSEST: std::cell::RefCell<(f64, String)> = const { std::cell::RefCell::new((0.0, String::new())) };
}

fn note_margin(got: &[f32], want: &[f32], rel: f32, abs: f32, ctx: impl FnOnce() -> String) {
    let used = got
        .iter()
        .zip(want)
        .map(|(g, w)| {
            let tol = rel as f64 * (*w as f64).abs() + abs as f64;
            let diff = (*g as f64 - *w as f64).abs();
            if diff == 0.0 {
                0.0
            } else {
                diff / tol
            }
        })
        .fold(0.0, f64::max);
    CLOSEST.with(|c| {
        let mut c = c.borrow_mut();
        if used > c.0 || c.1.is_empty() {
            *c = (used, ctx());
        }
    });
}

/// Prints the closest call of the test that ran on this thread.
fn report_closest(test: &str) {
    CLOSEST.with(|c| {
        let c = c.borrow();
        eprintln!(
            "{test}: closest check used {:.3} of its tolerance ({})",
            c.0, c.1
        );
    });
}

// -------------------------------------------------------------------------------------
// Reading fixtures

/// A tensor from a fixture: its shape, and its values (every `stride`-th element of the
/// flattened tensor when `stride > 1`), with the flat indices of the elements the fixture
/// script found ill-conditioned (see [`check_tensor`]).
struct Tensor {
    shape: Vec<usize>,
    stride: usize,
    data: Vec<f32>,
    ill_conditioned: Vec<usize>,
}

fn tensor(v: &Value) -> Tensor {
    let shape = shape(v);
    let stride = v.get("stride").map_or(1, |s| s.as_u64().unwrap() as usize);
    let data = elements(v);
    let numel: usize = shape.iter().product();
    assert_eq!(data.len(), numel.div_ceil(stride), "tensor size");
    let ill_conditioned = v.get("ill_conditioned").map_or(Vec::new(), |l| {
        l.as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as usize)
            .collect()
    });
    Tensor {
        shape,
        stride,
        data,
        ill_conditioned,
    }
}

/// The largest share of a tensor's compared elements that may be left out as
/// ill-conditioned; the fixture script refuses fixtures beyond it too.
const MAX_ILL_CONDITIONED: f64 = 0.05;

/// Compares `got`, a whole tensor, with a fixture tensor (only its stored elements, when the
/// fixture keeps every `stride`-th one), within `rel = REL` and `abs`. Returns how many
/// elements it left out as ill-conditioned.
///
/// Ill-conditioned elements are those whose value float32 rounding decides, whatever the
/// implementation: `tools/make_fixtures.py` repeats each computation in float64 from starts
/// perturbed by 2^-20 relative and lists the elements that move by more than half a
/// tolerance. Only optimizer runs have them (Adam divides each gradient element by its own
/// RMS, so an element whose gradient is small through cancellation moves by an amount rounding
/// decides; BatchNorm's running statistics downstream inherit it). Every other element is
/// certified there: PyTorch's float32 value lies within half a tolerance of float64's.
fn check_tensor(got: &[f32], want: &Tensor, abs: f32, ctx: &str) -> usize {
    let numel: usize = want.shape.iter().product();
    assert_eq!(got.len(), numel, "{ctx}: size");
    let mut g = Vec::with_capacity(want.data.len());
    let mut w = Vec::with_capacity(want.data.len());
    for (k, value) in want.data.iter().enumerate() {
        let i = k * want.stride;
        if !want.ill_conditioned.contains(&i) {
            g.push(got[i]);
            w.push(*value);
        }
    }
    let left_out = want.data.len() - w.len();
    assert!(
        left_out as f64 <= MAX_ILL_CONDITIONED * want.data.len() as f64,
        "{ctx}: {left_out} of {} elements ill-conditioned",
        want.data.len()
    );
    close!(g, w, rel = REL, abs = abs, "{ctx}");
    left_out
}

// -------------------------------------------------------------------------------------
// What the tests need of a network beyond `Network`: construction on the heap, and
// BatchNorm's buffers, which are public fields rather than parameters.

/// The callback of [`Fixture::visit_bn`]: `f(layer, running_mean, running_var,
/// num_batches_tracked)`.
type BnVisitor<'a> = dyn FnMut(&str, &mut [f32], &mut [f32], &mut u64) + 'a;

trait Fixture: Network {
    fn boxed() -> Box<Self>;
    /// Calls `f(layer, running_mean, running_var, num_batches_tracked)` for each BatchNorm.
    fn visit_bn(&mut self, f: &mut BnVisitor<'_>);
}

fn bn<const F: usize>(layer: &str, b: &mut BatchNorm<F>, f: &mut BnVisitor<'_>) {
    f(
        layer,
        &mut b.running_mean,
        &mut b.running_var,
        &mut b.num_batches_tracked,
    );
}

impl Fixture for Mnist {
    fn boxed() -> Box<Self> {
        Mnist::new(0)
    }
    fn visit_bn(&mut self, f: &mut BnVisitor<'_>) {
        bn("2", &mut self.2, f);
    }
}

impl Fixture for MseNet {
    fn boxed() -> Box<Self> {
        MseNet::new(0)
    }
    fn visit_bn(&mut self, _f: &mut BnVisitor<'_>) {}
}

impl Fixture for SmoothNet {
    fn boxed() -> Box<Self> {
        SmoothNet::new(0)
    }
    fn visit_bn(&mut self, f: &mut BnVisitor<'_>) {
        bn("2", &mut self.2, f);
    }
}

/// Every parameter's PyTorch name (`0.weight`) and shape, in `visit_params` order.
fn param_names<N: Network>(net: &N) -> Vec<(String, Vec<usize>)> {
    let mut names = Vec::new();
    net.named_params(&mut |layer, name, shape, _| {
        names.push((format!("{layer}.{name}"), shape.to_vec()))
    });
    names
}

/// Every parameter's values, in `visit_params` order, with its name.
fn params<N: Network>(net: &N) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    net.named_params(&mut |layer, name, _, v| out.push((format!("{layer}.{name}"), v.to_vec())));
    out
}

/// A network holding the fixture's initial state_dict: parameters copied through
/// `visit_params_mut` after checking that names, shapes and order agree with PyTorch's,
/// BatchNorm buffers set through their public fields.
fn load<N: Fixture>(fx: &Value) -> Box<N> {
    let mut net = N::boxed();
    let entries = fx["state_dict"].as_array().unwrap();
    let fixture_params: Vec<(String, Tensor)> = entries
        .iter()
        .filter(|e| e["param"].as_bool().unwrap())
        .map(|e| (e["name"].as_str().unwrap().to_string(), tensor(e)))
        .collect();
    let want: Vec<(String, Vec<usize>)> = fixture_params
        .iter()
        .map(|(n, t)| (n.clone(), t.shape.clone()))
        .collect();
    assert_eq!(
        param_names(&*net),
        want,
        "{}: parameter names, shapes or order differ from PyTorch's state_dict",
        N::NAME
    );
    let mut i = 0;
    net.walk_params_mut(&mut |p| {
        p.copy_from_slice(&fixture_params[i].1.data);
        i += 1;
    });
    assert_eq!(i, fixture_params.len());

    let buffers: Vec<&Value> = entries
        .iter()
        .filter(|e| !e["param"].as_bool().unwrap())
        .collect();
    let mut set = 0;
    net.visit_bn(&mut |layer, mean, var, count| {
        let sd = &fx["state_dict"];
        mean.copy_from_slice(&tensor(named(sd, &format!("{layer}.running_mean"))).data);
        var.copy_from_slice(&tensor(named(sd, &format!("{layer}.running_var"))).data);
        *count = named(sd, &format!("{layer}.num_batches_tracked"))["value"]
            .as_u64()
            .unwrap();
        set += 3;
    });
    assert_eq!(
        set,
        buffers.len(),
        "every buffer of the state_dict has a place"
    );
    net
}

/// Compares every BatchNorm buffer of `net` with a fixture's list of buffers; returns how
/// many elements it left out as ill-conditioned.
fn check_buffers<N: Fixture>(net: &mut N, want: &Value, ctx: &str) -> usize {
    let mut seen = 0;
    let mut left_out = 0;
    net.visit_bn(&mut |layer, mean, var, count| {
        let w_mean = tensor(named(want, &format!("{layer}.running_mean")));
        let w_var = tensor(named(want, &format!("{layer}.running_var")));
        let w_count = named(want, &format!("{layer}.num_batches_tracked"))["value"]
            .as_u64()
            .unwrap();
        // The running mean is 0.9 m + 0.1 × (a batch mean), a sum of the layer's inputs,
        // which can cancel to near zero: an absolute floor of 1e-5 times the largest mean
        // of the layer (the scale of the terms that cancel).
        let floor = REL * max_abs(&w_mean.data);
        left_out += check_tensor(
            mean,
            &w_mean,
            floor,
            &format!("{ctx}: {layer}.running_mean"),
        );
        // The running variance is at least 0.9^k after k batches (it starts at 1 and is a
        // convex blend with non-negative variances): never near zero, so relative alone.
        left_out += check_tensor(var, &w_var, 0.0, &format!("{ctx}: {layer}.running_var"));
        assert_eq!(*count, w_count, "{ctx}: {layer}.num_batches_tracked");
        seen += 3;
    });
    assert_eq!(seen, want.as_array().unwrap().len(), "{ctx}: buffers");
    left_out
}

// -------------------------------------------------------------------------------------
// Losses and targets as a fixture describes them

enum Target {
    Classes(Vec<usize>),
    Values(Vec<f32>),
}

fn target(v: &Value) -> Target {
    if v.is_array() {
        Target::Classes(
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap() as usize)
                .collect(),
        )
    } else {
        Target::Values(tensor(v).data)
    }
}

/// Evaluates the loss a fixture names, writing its gradient into `grad`.
fn eval_loss(spec: &Value, out: &[f32], width: usize, t: &Target, grad: Option<&mut [f32]>) -> f32 {
    let kind = spec["kind"].as_str().unwrap();
    match (kind, t) {
        ("cross_entropy", Target::Classes(c)) => {
            let loss = CrossEntropyLoss {
                label_smoothing: num(&spec["label_smoothing"]),
            };
            loss.loss(out, width, &c[..], grad)
        }
        ("mse", Target::Values(v)) => MseLoss.loss(out, width, &v[..], grad),
        ("l1", Target::Values(v)) => L1Loss.loss(out, width, &v[..], grad),
        ("smooth_l1", Target::Values(v)) => SmoothL1Loss {
            beta: num(&spec["beta"]),
        }
        .loss(out, width, &v[..], grad),
        ("bce_with_logits", Target::Values(v)) => BceWithLogitsLoss.loss(out, width, &v[..], grad),
        _ => panic!("unknown loss {spec}"),
    }
}

/// `tape.loss(..)` with the fixture's loss, by way of the output gradient `Tape::loss`
/// would fill (the loss types differ per kind, so they are dispatched here).
fn tape_loss<N: Network>(tape: &mut Tape<N>, spec: &Value, t: &Target) -> f32 {
    match (spec["kind"].as_str().unwrap(), t) {
        ("cross_entropy", Target::Classes(c)) => tape.loss(
            &CrossEntropyLoss {
                label_smoothing: num(&spec["label_smoothing"]),
            },
            &c[..],
        ),
        ("mse", Target::Values(v)) => tape.loss(&MseLoss, &v[..]),
        _ => panic!("unsupported network loss {spec}"),
    }
}

// -------------------------------------------------------------------------------------
// Optimizers as a fixture describes them

enum Opt {
    Sgd(Sgd),
    Adam(Adam),
}

impl Opt {
    /// The optimizer PyTorch's constructor arguments `cfg` describe, checked against the
    /// hyperparameters PyTorch resolved (`param_groups[0]`), so defaults are compared too.
    fn from_fixture(cfg: &Value, torch_group: &Value) -> Opt {
        let f = |k: &str| cfg.get(k).map(num);
        let lr = f("lr").unwrap();
        let g = |k: &str| num(&torch_group[k]);
        match cfg["kind"].as_str().unwrap() {
            "sgd" => {
                let mut o = Sgd::new(lr);
                if let Some(m) = f("momentum") {
                    o = o.momentum(m);
                }
                if let Some(d) = f("dampening") {
                    o = o.dampening(d);
                }
                if let Some(n) = cfg.get("nesterov") {
                    o = o.nesterov(n.as_bool().unwrap());
                }
                if let Some(w) = f("weight_decay") {
                    o = o.weight_decay(w);
                }
                assert_eq!(
                    (o.lr, o.momentum, o.dampening, o.weight_decay),
                    (g("lr"), g("momentum"), g("dampening"), g("weight_decay")),
                    "SGD hyperparameters differ from PyTorch's for {cfg}"
                );
                assert_eq!(o.nesterov, torch_group["nesterov"].as_bool().unwrap());
                Opt::Sgd(o)
            }
            kind @ ("adam" | "adamw") => {
                let mut o = if kind == "adam" {
                    Adam::new(lr)
                } else {
                    Adam::adamw(lr)
                };
                if let Some(b) = cfg.get("betas") {
                    o = o.betas(num(&b[0]), num(&b[1]));
                }
                if let Some(e) = f("eps") {
                    o = o.eps(e);
                }
                if let Some(w) = f("weight_decay") {
                    o = o.weight_decay(w);
                }
                let betas = &torch_group["betas"];
                assert_eq!(
                    (o.lr, o.betas, o.eps, o.weight_decay, o.decoupled),
                    (
                        g("lr"),
                        (num(&betas[0]), num(&betas[1])),
                        g("eps"),
                        g("weight_decay"),
                        kind == "adamw"
                    ),
                    "Adam hyperparameters differ from PyTorch's for {cfg}"
                );
                Opt::Adam(o)
            }
            other => panic!("unknown optimizer {other}"),
        }
    }

    fn zero_grad<N: Network>(&self, grads: &mut Gradients<N>) {
        match self {
            Opt::Sgd(o) => o.zero_grad(grads),
            Opt::Adam(o) => o.zero_grad(grads),
        }
    }

    fn step<N: Network>(&mut self, net: &mut N, grads: &Gradients<N>) {
        match self {
            Opt::Sgd(o) => o.step(net, grads),
            Opt::Adam(o) => o.step(net, grads),
        }
    }
}

// -------------------------------------------------------------------------------------
// The network checks

/// Eval-mode output before training, train-mode output, loss, every gradient, BatchNorm's
/// buffers after the train forward, and eval-mode output after it.
fn check_forward_backward<N: Fixture>(file: &str) {
    let fx = fixture(file);
    let mut net = load::<N>(&fx);
    let x = tensor(&fx["input"]).data;
    let t = target(&fx["target"]);
    let batch = fx["batch"].as_u64().unwrap() as usize;
    assert_eq!(x.len(), batch * N::IN);
    let mut tape = Tape::<N>::new();

    // Eval mode, running statistics as initialised. Output elements are sums of products
    // that can cancel to near zero; their rounding error scales with the terms, not the
    // sum, so the floor is 1e-5 times the largest output magnitude.
    let want = tensor(&fx["eval_before_training"]).data;
    let floor = REL * max_abs(&want);
    let got = tape.infer(&net, &x).to_vec();
    close!(
        got,
        want,
        rel = REL,
        abs = floor,
        "{file}: eval output, batch path"
    );
    // The one-sample path (its own matrix-vector kernel) must agree too.
    for (r, (xr, wr)) in x.chunks(N::IN).zip(want.chunks(N::OUT)).enumerate() {
        let mut y = vec![0.0; N::OUT];
        net.forward_slice(xr, &mut y);
        close!(
            y,
            wr,
            rel = REL,
            abs = floor,
            "{file}: eval output, one sample, row {r}"
        );
    }

    // Train mode: batch statistics, and the running ones updated. Floor as above.
    let want = tensor(&fx["train"]["output"]).data;
    let got = tape.forward(&mut net, &x).unwrap().to_vec();
    let floor = REL * max_abs(&want);
    close!(got, want, rel = REL, abs = floor, "{file}: train output");

    // The loss is a positive scalar of ordinary size: relative alone.
    let loss = tape_loss(&mut tape, &fx["loss"], &t);
    let want_loss = num(&fx["train"]["loss"]);
    close!([loss], [want_loss], rel = REL, abs = 0.0, "{file}: loss");

    let mut grads = Gradients::<N>::new();
    tape.backward(&net, &x, &mut grads);
    for (name, _) in param_names(&*net) {
        let want = tensor(named(&fx["train"]["grads"], &name)).data;
        let got = grads.get(&net, &name).unwrap();
        // A gradient element is a sum over the batch (and over later layers) that can
        // cancel: a bias feeding BatchNorm through a ReLU that passes the whole batch has
        // a gradient of exactly zero in exact arithmetic, computed as rounding noise by
        // both sides. The floor is 1e-5 times the tensor's largest gradient, the scale of
        // the terms that cancel.
        let floor = REL * max_abs(&want);
        close!(
            got,
            want,
            rel = REL,
            abs = floor,
            "{file}: gradient of {name}"
        );
    }
    let ctx = format!("{file}: after train forward");
    // The fixture script certifies every element here (none is left out).
    assert_eq!(check_buffers(&mut *net, &fx["train"]["buffers"], &ctx), 0);

    // Eval mode with the updated running statistics. Floor as for the first eval output.
    let want = tensor(&fx["eval_after_train_forward"]).data;
    let got = tape.infer(&net, &x).to_vec();
    let floor = REL * max_abs(&want);
    close!(
        got,
        want,
        rel = REL,
        abs = floor,
        "{file}: eval output after the train forward"
    );
}

/// Each optimizer configuration: 5 steps on the fixture's batch from the initial state,
/// checking each step's loss and then every parameter and buffer.
fn check_optimizers<N: Fixture>(file: &str) {
    let fx = fixture(file);
    let x = tensor(&fx["input"]).data;
    let t = target(&fx["target"]);
    let steps = fx["steps"].as_u64().unwrap() as usize;
    let runs = fx["optimizers"].as_array().unwrap();
    assert_eq!(runs.len(), 9);
    for run in runs {
        let name = run["name"].as_str().unwrap();
        let ctx = format!("{file}: {name}");
        let mut net = load::<N>(&fx);
        let mut opt = Opt::from_fixture(&run["config"], &run["torch_param_group"]);
        let mut tape = Tape::<N>::new();
        let mut grads = Gradients::<N>::new();
        let want_losses: Vec<f32> = run["losses"].as_array().unwrap().iter().map(num).collect();
        assert_eq!(want_losses.len(), steps);
        for (s, want_loss) in want_losses.iter().enumerate() {
            opt.zero_grad(&mut grads);
            tape.forward(&mut net, &x).unwrap();
            let loss = tape_loss(&mut tape, &fx["loss"], &t);
            tape.backward(&net, &x, &mut grads);
            opt.step(&mut *net, &grads);
            // A loss of ordinary size (these runs do not reach zero loss): relative alone.
            close!(
                [loss],
                [*want_loss],
                rel = REL,
                abs = 0.0,
                "{ctx}: loss at step {s}"
            );
        }
        let mut left_out = 0;
        let mut compared = 0;
        for (pname, got) in params(&*net) {
            let want = tensor(named(&run["params"], &pname));
            // Parameters start spread around zero (uniform in ±1/sqrt(in)), so some are near
            // zero after 5 steps; their error comes from the starting values and the updates,
            // whose scale is the tensor's, not the element's. Floor: 1e-5 times the tensor's
            // largest magnitude.
            let floor = REL * max_abs(&want.data);
            let ctx = format!("{ctx}: {pname} after {steps} steps");
            left_out += check_tensor(&got, &want, floor, &ctx);
            compared += want.data.len();
        }
        let buffers = &run["buffers"];
        left_out += check_buffers(&mut *net, buffers, &format!("{ctx}: after {steps} steps"));
        eprintln!(
            "{ctx}: {compared} parameter values compared, less {left_out} values (parameters \
             or running statistics) left out as ill-conditioned"
        );
    }
}

#[test]
fn mnist_network_forward_backward() {
    check_forward_backward::<Mnist>("net_mnist.json");
    report_closest("mnist_network_forward_backward");
}

#[test]
fn mnist_network_optimizers() {
    check_optimizers::<Mnist>("net_mnist.json");
    report_closest("mnist_network_optimizers");
}

#[test]
fn mse_network_forward_backward() {
    check_forward_backward::<MseNet>("net_mse.json");
    report_closest("mse_network_forward_backward");
}

#[test]
fn mse_network_optimizers() {
    check_optimizers::<MseNet>("net_mse.json");
    report_closest("mse_network_optimizers");
}

#[test]
fn label_smoothing_network_forward_backward() {
    check_forward_backward::<SmoothNet>("net_smooth.json");
    report_closest("label_smoothing_network_forward_backward");
}

#[test]
fn label_smoothing_network_optimizers() {
    check_optimizers::<SmoothNet>("net_smooth.json");
    report_closest("label_smoothing_network_optimizers");
}

// -------------------------------------------------------------------------------------
// Losses alone, schedules, determinism

#[test]
fn losses_match_pytorch() {
    let fx = fixture("losses.json");
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = tensor(&case["input"]);
        let width = *input.shape.last().unwrap();
        let t = target(&case["target"]);
        let mut grad = vec![f32::NAN; input.data.len()];
        let value = eval_loss(&case["loss"], &input.data, width, &t, Some(&mut grad));
        let value_only = eval_loss(&case["loss"], &input.data, width, &t, None);
        let want = num(&case["value"]);
        // Every case's loss is a positive mean of ordinary size: relative alone.
        close!([value], [want], rel = REL, abs = 0.0, "{name}: loss");
        assert_eq!(
            value.to_bits(),
            value_only.to_bits(),
            "{name}: loss without gradient"
        );
        let want_grad = tensor(&case["grad"]).data;
        // Gradient elements are exact zeros (L1 at a zero difference, saturated logits) or
        // differences such as softmax − target that cancel: the floor is 1e-5 times the
        // largest gradient element, the scale of the terms that cancel.
        let floor = REL * max_abs(&want_grad);
        close!(grad, want_grad, rel = REL, abs = floor, "{name}: gradient");
    }
    report_closest("losses_match_pytorch");
}

#[test]
fn lr_schedules_match_pytorch() {
    let fx = fixture("schedules.json");
    let s = &fx["step_lr"];
    let step = StepLr {
        base_lr: num(&s["base_lr"]),
        step_size: s["step_size"].as_u64().unwrap() as u32,
        gamma: num(&s["gamma"]),
    };
    let want: Vec<f32> = s["lr"].as_array().unwrap().iter().map(num).collect();
    let got: Vec<f32> = (0..want.len() as u32).map(|e| step.lr(e)).collect();
    // Learning rates are positive and far from zero (the smallest is eta_min = 1e-3):
    // relative alone.
    close!(got, want, rel = REL, abs = 0.0, "StepLR");

    let c = &fx["cosine_annealing_lr"];
    let cosine = CosineAnnealingLr {
        base_lr: num(&c["base_lr"]),
        t_max: c["t_max"].as_u64().unwrap() as u32,
        eta_min: num(&c["eta_min"]),
    };
    let want: Vec<f32> = c["lr"].as_array().unwrap().iter().map(num).collect();
    let got: Vec<f32> = (0..want.len() as u32).map(|e| cosine.lr(e)).collect();
    close!(got, want, rel = REL, abs = 0.0, "CosineAnnealingLR");
    report_closest("lr_schedules_match_pytorch");
}

/// Trains a network built from `seed` for `steps` steps on the fixture's batch and returns
/// its parameters' and BatchNorm buffers' bits.
fn train_bits<N: Fixture>(file: &str, seed: u64, steps: usize, mut opt: Opt) -> Vec<u32> {
    let fx = fixture(file);
    let x = tensor(&fx["input"]).data;
    let t = target(&fx["target"]);
    let mut net = N::boxed();
    net.init_from_seed(seed);
    let mut tape = Tape::<N>::new();
    let mut grads = Gradients::<N>::new();
    for _ in 0..steps {
        opt.zero_grad(&mut grads);
        tape.forward(&mut net, &x).unwrap();
        tape_loss(&mut tape, &fx["loss"], &t);
        tape.backward(&net, &x, &mut grads);
        opt.step(&mut *net, &grads);
    }
    let mut bits: Vec<u32> = params(&*net)
        .into_iter()
        .flat_map(|(_, v)| v.into_iter().map(f32::to_bits))
        .collect();
    net.visit_bn(&mut |_, mean, var, count| {
        bits.extend(mean.iter().chain(var.iter()).map(|v| v.to_bits()));
        bits.push(*count as u32);
    });
    bits
}

#[test]
fn training_is_deterministic() {
    let init = |seed| {
        let mut n = Mnist::new(0);
        n.init(seed);
        params(&*n)
    };
    assert_eq!(init(11), init(11), "same seed, same initial weights");
    assert_ne!(init(11), init(12), "another seed, other weights");

    let adam = || Opt::Adam(Adam::new(1e-2));
    let a = train_bits::<Mnist>("net_mnist.json", 11, 8, adam());
    let b = train_bits::<Mnist>("net_mnist.json", 11, 8, adam());
    assert!(a == b, "Mnist: two runs from one seed differ");
    let untrained = train_bits::<Mnist>("net_mnist.json", 11, 0, adam());
    assert!(a != untrained, "Mnist: training changed nothing");

    let nesterov = || Opt::Sgd(Sgd::new(0.05).momentum(0.9).nesterov(true));
    let a = train_bits::<SmoothNet>("net_smooth.json", 5, 8, nesterov());
    let b = train_bits::<SmoothNet>("net_smooth.json", 5, 8, nesterov());
    assert!(a == b, "SmoothNet: two runs from one seed differ");
    let a = train_bits::<MseNet>("net_mse.json", 5, 8, nesterov());
    let b = train_bits::<MseNet>("net_mse.json", 5, 8, nesterov());
    assert!(a == b, "MseNet: two runs from one seed differ");
}
