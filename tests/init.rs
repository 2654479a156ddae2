//! `nn::init` and `Rng::randn` against `tests/fixtures/init.json`, which
//! `tools/make_loss_fixtures.py` wrote with PyTorch (see its header for how to rerun it):
//! fans, gains and the initialisers' bounds and standard deviations exactly, and the
//! statistics of large draws within what their sample size allows. The layers' own
//! initialisation where PyTorch's is not the obvious one (a transposed convolution's fan in,
//! a layer without bias) against `tests/fixtures/conv_transpose.json`
//! (`tools/make_conv_transpose_fixture.py`).
//!
//! The draws differ from PyTorch's (another generator), so their statistics are compared
//! with the distribution's, not with PyTorch's sample: over n = 200 000 values of a
//! distribution of standard deviation σ and kurtosis κ (3 for a normal, 9/5 for a uniform),
//! the sample mean has standard error σ / √n and the sample standard deviation about
//! σ √((κ − 1) / 4n). Each check allows 5 standard errors, which a correct generator
//! exceeds with probability below 1e-6, while a wrong scale (√2 apart, a variance for a
//! standard deviation) or a shifted mean is hundreds of errors away. PyTorch's own draws,
//! which the fixture holds, pass the same checks: the tolerance is fair to a correct
//! generator.

#[macro_use]
mod common;
use common::fixture::{fixture, num};

use nn::init::{self, FanMode, Nonlinearity};
use nn::{Layer, Rng, Zeroable};
use serde_json::Value;

/// Standard errors each statistic may be off by.
const SIGMAS: f64 = 5.0;

fn shape(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn fans_match_pytorch() {
    let fx = fixture("init.json");
    let fans = fx["fans"].as_array().unwrap();
    assert_eq!(fans.len(), 4);
    for f in fans {
        let s = shape(&f["shape"]);
        let want = (
            f["fan_in"].as_u64().unwrap() as usize,
            f["fan_out"].as_u64().unwrap() as usize,
        );
        assert_eq!(init::calculate_fan_in_and_fan_out(&s), want, "{s:?}");
    }
}

/// The Python float a fixture number stands for. The fixture writes every argument as
/// float32, but the generator passed doubles: `math.sqrt(5)` (the `a` of PyTorch's `Linear`
/// and `Conv2d`), `calculate_gain('tanh')` = 5/3, and decimals such as 0.1. PyTorch
/// computed its bounds from those doubles, so they are recovered here: the constant whose
/// float32 is `v`, or else the shortest decimal that reads back as `v`.
fn python_float(v: f32) -> f64 {
    [5f64.sqrt(), 5.0 / 3.0]
        .into_iter()
        .find(|c| *c as f32 == v)
        .unwrap_or_else(|| v.to_string().parse().unwrap())
}

fn nonlinearity(name: &str, param: Option<f64>) -> Nonlinearity {
    match (name, param) {
        ("linear", None) => Nonlinearity::Linear,
        ("conv2d", None) => Nonlinearity::Conv,
        ("sigmoid", None) => Nonlinearity::Sigmoid,
        ("tanh", None) => Nonlinearity::Tanh,
        ("relu", _) => Nonlinearity::ReLU,
        ("leaky_relu", p) => Nonlinearity::LeakyReLU(p.unwrap_or(0.01)),
        ("selu", None) => Nonlinearity::Selu,
        _ => panic!("unknown nonlinearity {name}"),
    }
}

#[test]
fn gains_match_pytorch_exactly() {
    let fx = fixture("init.json");
    let gains = fx["gains"].as_array().unwrap();
    assert_eq!(gains.len(), 8);
    for g in gains {
        let name = g["nonlinearity"].as_str().unwrap();
        let param = (!g["param"].is_null()).then(|| python_float(num(&g["param"])));
        let got = init::calculate_gain(nonlinearity(name, param)) as f32;
        assert_eq!(got, num(&g["gain"]), "{name} {param:?}");
    }
}

/// Mean, standard deviation (n − 1 in the denominator, as `torch.std`), minimum and
/// maximum, in double precision.
fn stats(v: &[f32]) -> [f64; 4] {
    let n = v.len() as f64;
    let mean = v.iter().map(|x| *x as f64).sum::<f64>() / n;
    let var = v.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let min = v.iter().fold(f64::INFINITY, |m, x| m.min(*x as f64));
    let max = v.iter().fold(f64::NEG_INFINITY, |m, x| m.max(*x as f64));
    [mean, var.sqrt(), min, max]
}

/// Checks the statistics of `n` draws of a distribution of mean `mean`, standard deviation
/// `std`, on `[lo, hi]` for a uniform one (`uniform`) or unbounded.
fn check_draw(
    got: [f64; 4],
    n: usize,
    mean: f64,
    std: f64,
    uniform: Option<(f64, f64)>,
    ctx: &str,
) {
    let n = n as f64;
    let kurtosis = if uniform.is_some() { 1.8 } else { 3.0 };
    let mean_err = std / n.sqrt();
    let std_err = std * ((kurtosis - 1.0) / (4.0 * n)).sqrt();
    assert!(
        (got[0] - mean).abs() <= SIGMAS * mean_err,
        "{ctx}: mean {} is more than {SIGMAS} standard errors ({mean_err:e}) from {mean}",
        got[0]
    );
    assert!(
        (got[1] - std).abs() <= SIGMAS * std_err,
        "{ctx}: standard deviation {} is more than {SIGMAS} standard errors ({std_err:e}) from {std}",
        got[1]
    );
    match uniform {
        Some((lo, hi)) => {
            // Within the bounds, and reaching near both ends: the chance that no value of n
            // falls in an end's last 20/n of the range is (1 − 20/n)^n ≈ e^−20.
            let near = 20.0 * (hi - lo) / n;
            assert!(got[2] >= lo && got[3] <= hi, "{ctx}: outside [{lo}, {hi}]");
            assert!(
                got[2] < lo + near && got[3] > hi - near,
                "{ctx}: ends not reached"
            );
        }
        None => {
            // Normal tails: beyond 3σ each side with probability 0.00135, so n values with
            // none there has probability e^−270; beyond Box–Muller's 6.67σ never.
            for (x, side) in [(got[2], -1.0), (got[3], 1.0)] {
                let z = (x - mean) / std * side;
                assert!((3.0..6.67).contains(&z), "{ctx}: extreme at {z}σ");
            }
        }
    }
}

/// Draws at least `n` values by filling a tensor of `shape` with `fill` again and again.
fn draw_many(
    n: usize,
    shape: &[usize],
    mut fill: impl FnMut(&mut [f32]) -> f32,
) -> (f32, Vec<f32>) {
    let numel: usize = shape.iter().product();
    let mut all = Vec::with_capacity(n + numel);
    let mut w = vec![0.0f32; numel];
    let mut returned = f32::NAN;
    while all.len() < n {
        let r = fill(&mut w);
        assert!(returned.is_nan() || r == returned, "same bound every call");
        returned = r;
        all.extend_from_slice(&w);
    }
    (returned, all)
}

#[test]
fn initialisers_match_pytorch_bounds_and_distributions() {
    let fx = fixture("init.json");
    let n = fx["draw"].as_u64().unwrap() as usize;
    let cases = fx["init"].as_array().unwrap();
    assert_eq!(cases.len(), 27);
    let mut rng = Rng::seed(0);
    let mut seen = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        let args = &case["args"];
        let draw = &case["draw"];
        let torch = [
            num(&draw["mean"]) as f64,
            num(&draw["std"]) as f64,
            num(&draw["min"]) as f64,
            num(&draw["max"]) as f64,
        ];
        let (mean, std, bounds, got) = match kind {
            "normal" | "uniform" | "randn" => {
                let mut v = vec![0.0f32; n];
                let (mean, std, bounds) = match kind {
                    "normal" => {
                        let (m, s) = (num(&args["mean"]), num(&args["std"]));
                        init::normal_(&mut v, m, s, &mut rng);
                        (m as f64, s as f64, None)
                    }
                    "uniform" => {
                        let (a, b) = (num(&args["a"]), num(&args["b"]));
                        init::uniform_(&mut v, a, b, &mut rng);
                        let std = (b - a) as f64 / 12f64.sqrt();
                        ((a + b) as f64 / 2.0, std, Some((a as f64, b as f64)))
                    }
                    _ => {
                        v.iter_mut().for_each(|x| *x = rng.randn());
                        (0.0, 1.0, None)
                    }
                };
                (mean, std, bounds, stats(&v))
            }
            _ => {
                let s = shape(&case["shape"]);
                let want_std = num(&case["std"]);
                let want_bound = num(&case["bound"]);
                let mode = match args.get("mode").and_then(Value::as_str) {
                    None | Some("fan_in") => FanMode::FanIn,
                    Some("fan_out") => FanMode::FanOut,
                    Some(m) => panic!("{name}: mode {m}"),
                };
                let a = args.get("a").map(|a| python_float(num(a)));
                let nl = args.get("nonlinearity").and_then(Value::as_str);
                let nl = || nonlinearity(nl.unwrap_or("leaky_relu"), a);
                let gain = args.get("gain").map(|g| python_float(num(g)));
                let (returned, v) = draw_many(n, &s, |w| match kind {
                    "kaiming_uniform" => init::kaiming_uniform_(w, &s, nl(), mode, &mut rng),
                    "kaiming_normal" => init::kaiming_normal_(w, &s, nl(), mode, &mut rng),
                    "xavier_uniform" => init::xavier_uniform_(w, &s, gain.unwrap(), &mut rng),
                    "xavier_normal" => init::xavier_normal_(w, &s, gain.unwrap(), &mut rng),
                    _ => panic!("{name}: unknown initialiser"),
                });
                let uniform = kind.ends_with("uniform");
                let want = if uniform { want_bound } else { want_std };
                assert_eq!(returned, want, "{name}: bound or standard deviation");
                let b = want_bound as f64;
                (0.0, want_std as f64, uniform.then_some((-b, b)), stats(&v))
            }
        };
        check_draw(got, n, mean, std, bounds, name);
        // PyTorch's own draw passes the same checks.
        check_draw(
            torch,
            n,
            mean,
            std,
            bounds,
            &format!("{name} (PyTorch's draw)"),
        );
        seen += 1;
    }
    assert_eq!(seen, 27);
}

/// `randn` is a normal distribution, not only of the right mean and spread: the share of
/// values within one standard deviation is Φ(1) − Φ(−1) = 0.682689, with standard error
/// √(p (1 − p) / n) ≈ 0.00104 over n = 200 000; a uniform of the same spread would give
/// 0.577.
#[test]
fn randn_has_a_normal_shape() {
    let mut rng = Rng::seed(11);
    let n = 200_000;
    let within = (0..n).filter(|_| rng.randn().abs() < 1.0).count() as f64 / n as f64;
    let p = 0.682_689_492;
    let err = (p * (1.0 - p) / n as f64).sqrt();
    assert!(
        (within - p).abs() <= SIGMAS * err,
        "share within 1σ: {within}"
    );
}

#[test]
fn draws_are_deterministic_from_the_seed_and_resumable() {
    let mut a = Rng::seed(5);
    let mut w1 = [0.0f32; 64];
    init::kaiming_normal_(&mut w1, &[8, 8], Nonlinearity::ReLU, FanMode::FanIn, &mut a);
    let mut w2 = [0.0f32; 64];
    init::kaiming_normal_(
        &mut w2,
        &[8, 8],
        Nonlinearity::ReLU,
        FanMode::FanIn,
        &mut Rng::seed(5),
    );
    assert_eq!(w1, w2);
    assert_eq!(a.position(), (5, 128), "two 32-bit draws a normal value");
    let next = a.randn();
    assert_eq!(Rng::resume(5, 128).randn(), next);
    assert_ne!(w1[0], w1[1]);
}

#[test]
fn constants_fill_every_value() {
    let mut w = [f32::NAN; 5];
    init::constant_(&mut w, 0.25);
    assert_eq!(w, [0.25; 5]);
    init::ones_(&mut w);
    assert_eq!(w, [1.0; 5]);
    init::zeros_(&mut w);
    assert_eq!(w.map(f32::to_bits), [0; 5]);
}

#[test]
#[should_panic(expected = "the tensor has 6 values but its shape [2, 4] has 8")]
fn a_shape_that_does_not_fit_the_tensor_panics() {
    init::xavier_uniform_(&mut [0.0; 6], &[2, 4], 1.0, &mut Rng::seed(0));
}

#[test]
#[should_panic(
    expected = "fan in and fan out cannot be computed for a shape of fewer than 2 dimensions ([10])"
)]
fn a_bias_has_no_fans() {
    init::calculate_fan_in_and_fan_out(&[10]);
}

/// Layer `L` as `init` leaves it, against PyTorch's `reset_parameters` for the same module
/// (`case`): the weight's shape and fan in, the bound, a bias or none, and the weight's
/// statistics (our draw, and PyTorch's, checked alike).
fn check_layer_init<L: Layer>(case: &Value) {
    let torch = case["torch"].as_str().unwrap();
    let mut layer = Box::new(L::zeroed());
    layer.init(&mut Rng::seed(7));
    let (mut weight, mut bias, mut shapes) = (Vec::new(), None, Vec::new());
    layer.visit_params(&mut |name, shape, values| {
        shapes.push(shape.to_vec());
        match name {
            "weight" => weight = values.to_vec(),
            _ => bias = Some(values.to_vec()),
        }
    });
    assert_eq!(
        shapes[0],
        shape(&case["weight_shape"]),
        "{torch}: weight shape"
    );
    let fan_in = init::calculate_fan_in_and_fan_out(&shapes[0]).0;
    assert_eq!(
        fan_in as u64,
        case["fan_in"].as_u64().unwrap(),
        "{torch}: fan in"
    );
    assert_eq!(
        bias.is_some(),
        case["has_bias"].as_bool().unwrap(),
        "{torch}: a bias"
    );
    let bound = num(&case["bound"]) as f64;
    assert!(
        ((1.0 / (fan_in as f64).sqrt()) / bound - 1.0).abs() < 1e-7,
        "{torch}: the bound is 1/sqrt(fan_in)"
    );
    // Our bound is computed in float32: within a rounding of PyTorch's.
    let ends = Some((-bound * (1.0 + 1e-6), bound * (1.0 + 1e-6)));
    let n = weight.len();
    let std = bound / 3f64.sqrt();
    check_draw(stats(&weight), n, 0.0, std, ends, torch);
    let d = &case["weight_draw"];
    let theirs = ["mean", "std", "min", "max"].map(|k| num(&d[k]) as f64);
    check_draw(
        theirs,
        n,
        0.0,
        std,
        ends,
        &format!("{torch} (PyTorch's draw)"),
    );
    if let Some(b) = bias {
        assert!(
            b.iter().all(|v| (v.abs() as f64) <= bound * (1.0 + 1e-6)),
            "{torch}: bias outside the bound"
        );
    }
}

/// A transposed convolution's weight is `[CIN, COUT, K, K]`, and PyTorch computes its fan in
/// from dimension 1, as for any weight: `COUT·K·K`, its output channels.
#[test]
fn conv_transpose_initialises_from_its_output_channels_as_pytorch() {
    let fx = fixture("conv_transpose.json");
    let cases = fx["init"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    check_layer_init::<nn::ConvTranspose2d<64, 32, 4, 2, 1, 0, 4, 4>>(&cases[0]);
    check_layer_init::<nn::ConvTranspose2d<16, 48, 3, 1, 0, 0, 4, 4, false>>(&cases[1]);
}

/// A layer without bias draws its weight alone, as PyTorch's `reset_parameters` skips the
/// bias it does not have: the same weight as the layer with a bias from the same seed, and
/// the next draws come sooner. Its bias field holds zeros.
#[test]
fn layers_without_bias_draw_the_weight_alone() {
    fn draws<L: Layer>(layer: &mut L) -> u64 {
        let mut rng = Rng::seed(3);
        layer.init(&mut rng);
        rng.position().1
    }
    let (mut with, mut without) = (
        nn::Linear::<8, 4>::zeroed(),
        nn::Linear::<8, 4, false>::zeroed(),
    );
    let (a, b) = (draws(&mut with), draws(&mut without));
    assert_eq!(with.weight, without.weight);
    assert_eq!(without.bias, [0.0; 4]);
    assert!(b < a, "no draws for a bias: {b} against {a}");
    let (mut with, mut without) = (
        nn::Conv2d::<2, 3, 3, 1, 0, 5, 5>::zeroed(),
        nn::Conv2d::<2, 3, 3, 1, 0, 5, 5, false>::zeroed(),
    );
    let (a, b) = (draws(&mut with), draws(&mut without));
    assert_eq!(with.weight, without.weight);
    assert_eq!(without.bias, [0.0; 3]);
    assert!(b < a, "no draws for a bias: {b} against {a}");
}
