//! NaN and infinities through the activations, as PyTorch propagates them: values and
//! gradients against `tests/fixtures/nonfinite.json`, written by
//! `tools/make_nonfinite_fixture.py` with PyTorch. A NaN input must stay NaN (PyTorch's
//! ReLU keeps it), never silently become a number.

use nn::{
    Activation, EluFn, GeluFn, GeluTanhFn, LeakyReluFn, ReluFn, SigmoidFn, SiluFn, TanhFn,
    ELU_ALPHA, LEAKY_RELU_SLOPE,
};
use serde_json::Value;

fn fixture() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nonfinite.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run tools/make_nonfinite_fixture.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn num(v: &Value) -> f32 {
    match v.as_str() {
        Some("nan") => f32::NAN,
        Some("inf") => f32::INFINITY,
        Some("-inf") => f32::NEG_INFINITY,
        _ => v.as_f64().unwrap() as f32,
    }
}

fn same(got: f32, want: f32) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= 1e-6 + 1e-5 * want.abs()
}

fn check<A: Activation>(name: &str, fx: &Value, wrong: &mut Vec<String>) {
    let xs: Vec<f32> = fx["x"].as_array().unwrap().iter().map(num).collect();
    for (i, &x) in xs.iter().enumerate() {
        let want_y = num(&fx[name]["y"][i]);
        let want_dy = num(&fx[name]["dy"][i]);
        let y = A::f(x);
        let dy = A::df(x, y);
        if !same(y, want_y) {
            wrong.push(format!("{name}({x}) = {y}, PyTorch {want_y}"));
        }
        if !same(dy, want_dy) {
            wrong.push(format!("{name}'({x}) = {dy}, PyTorch {want_dy}"));
        }
    }
}

#[test]
fn activations_propagate_nan_and_infinities_as_pytorch() {
    let fx = fixture();
    let mut wrong = Vec::new();
    check::<ReluFn>("ReLU", &fx, &mut wrong);
    check::<SigmoidFn>("Sigmoid", &fx, &mut wrong);
    check::<TanhFn>("Tanh", &fx, &mut wrong);
    check::<LeakyReluFn<LEAKY_RELU_SLOPE>>("LeakyReLU", &fx, &mut wrong);
    check::<EluFn<ELU_ALPHA>>("ELU", &fx, &mut wrong);
    check::<GeluFn>("GELU", &fx, &mut wrong);
    check::<GeluTanhFn>("GELU<tanh>", &fx, &mut wrong);
    check::<SiluFn>("SiLU", &fx, &mut wrong);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Through the layer, in a batch: a NaN input is a NaN output, not 0.
#[test]
fn relu_layer_keeps_nan() {
    use nn::Layer;
    let mut y = [0.0; 3];
    nn::ReLU::<3>::default().forward(&[f32::NAN, -1.0, 2.0], &mut y);
    assert!(y[0].is_nan());
    assert_eq!(y[1..], [0.0, 2.0]);
}
