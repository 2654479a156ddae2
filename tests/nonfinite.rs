//! NaN and infinities through the activations, pooling, normalisation and softmax layers,
//! as PyTorch propagates them: values and gradients against `tests/fixtures/nonfinite.json`,
//! written by `tools/make_nonfinite_fixture.py` with PyTorch. A NaN input must stay NaN
//! (PyTorch's ReLU keeps it), never silently become a number; losses and optimizers are in
//! `nonfinite_training.rs`.

mod common;

use common::nonfinite::{assert_none, compare, fixture, num, nums};
use nn::{
    Activation, AvgPool2d, Backward, BatchNorm, BatchNorm2d, EluFn, GeluFn, GeluTanhFn, Layer,
    LayerNorm, LeakyReluFn, LogSoftmax, MaxPool2d, ReluFn, SigmoidFn, SiluFn, Softmax, TanhFn,
    Zeroable, ELU_ALPHA, LEAKY_RELU_SLOPE,
};
use serde_json::Value;

fn check<A: Activation>(name: &str, fx: &Value, wrong: &mut Vec<String>) {
    let xs = nums(&fx["x"]);
    for (i, &x) in xs.iter().enumerate() {
        let want_y = num(&fx[name]["y"][i]);
        let want_dy = num(&fx[name]["dy"][i]);
        let y = A::f(x);
        let dy = A::df(x, y);
        compare(wrong, &format!("{name}({x})"), &[y], &[want_y]);
        compare(wrong, &format!("{name}'({x})"), &[dy], &[want_dy]);
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
    assert_none(&wrong);
}

/// Through the layer, in a batch: a NaN input is a NaN output, not 0.
#[test]
fn relu_layer_keeps_nan() {
    let mut y = [0.0; 3];
    nn::ReLU::<3>::default().forward(&[f32::NAN, -1.0, 2.0], &mut y);
    assert!(y[0].is_nan());
    assert_eq!(y[1..], [0.0, 2.0]);
}

/// The layer's case in the fixture.
fn case<'a>(fx: &'a Value, name: &str) -> &'a Value {
    let case = &fx["layers"][name];
    assert!(case.is_object(), "no layer {name:?} in the fixture");
    case
}

/// Initialises the layer, then sets the parameters (`weight`, `bias`) the case gives.
fn set_params<L: Layer>(layer: &mut L, case: &Value) {
    layer.init(&mut nn::Rng::seed(0));
    layer.visit_params_mut(&mut |name, p| p.copy_from_slice(&nums(&case[name])));
}

/// A training pass and its backward on the case's input and upstream gradient, checked
/// against PyTorch's output, input gradient and parameter gradients; returns the cache the
/// training pass left, for the callers that check more.
fn train<L: Layer>(layer: &mut L, name: &str, case: &Value, wrong: &mut Vec<String>) -> Vec<f32> {
    let (x, dy) = (nums(&case["x"]), nums(&case["dy"]));
    let batch = x.len() / L::IN;
    let mut y = vec![0.0; batch * L::OUT];
    let mut cache = vec![0.0; L::cache_len(batch)];
    layer.forward_train(&x, &mut y, batch, &mut cache).unwrap();
    compare(wrong, &format!("{name} output"), &y, &nums(&case["y"]));
    let kept = cache.clone();
    let mut dx = vec![0.0; x.len()];
    let mut grad = vec![0.0; L::PARAMS];
    let io = Backward {
        x: &x,
        y: &y,
        dy: &dy,
        batch,
        cache: &mut cache,
    };
    layer.backward(io, Some(&mut dx), &mut grad);
    compare(
        wrong,
        &format!("{name} input gradient"),
        &dx,
        &nums(&case["dx"]),
    );
    if L::PARAMS > 0 {
        let (gw, gb) = grad.split_at(L::PARAMS / 2);
        compare(
            wrong,
            &format!("{name} weight gradient"),
            gw,
            &nums(&case["grad_weight"]),
        );
        compare(
            wrong,
            &format!("{name} bias gradient"),
            gb,
            &nums(&case["grad_bias"]),
        );
    }
    kept
}

#[test]
fn max_pool_routes_nan_and_infinities_as_pytorch() {
    let fx = fixture();
    let case = case(&fx, "MaxPool2d");
    let mut wrong = Vec::new();
    type Pool = MaxPool2d<1, 2, 4, 8>;
    let mut pool = MaxPool2d::<1, 2, 4, 8>;
    train(&mut pool, "MaxPool2d", case, &mut wrong);

    // Inference, and the backward without a training pass before it (the no-heap build's
    // path), which finds each window's maximum again.
    let (x, dy) = (nums(&case["x"]), nums(&case["dy"]));
    let mut y = vec![0.0; Pool::OUT];
    pool.forward(&x, &mut y);
    compare(&mut wrong, "MaxPool2d inference", &y, &nums(&case["y"]));
    let mut dx = vec![f32::NAN; Pool::IN];
    let io = Backward {
        x: &x,
        y: &y,
        dy: &dy,
        batch: 1,
        cache: &mut [],
    };
    pool.backward(io, Some(&mut dx), &mut []);
    compare(
        &mut wrong,
        "MaxPool2d gradient without cache",
        &dx,
        &nums(&case["dx"]),
    );
    assert_none(&wrong);
}

#[test]
fn avg_pool_propagates_nan_and_infinities_as_pytorch() {
    let fx = fixture();
    let mut wrong = Vec::new();
    let case = case(&fx, "AvgPool2d");
    train(&mut AvgPool2d::<1, 2, 4, 8>, "AvgPool2d", case, &mut wrong);
    assert_none(&wrong);
}

/// The running statistics after the training pass, and inference with the initial ones.
fn check_buffers<L: Layer>(layer: &L, name: &str, case: &Value, wrong: &mut Vec<String>) {
    layer.visit_buffers(&mut |buffer, _, value| {
        if let nn::Buffer::F32(v) = value {
            compare(wrong, &format!("{name} {buffer}"), v, &nums(&case[buffer]));
        }
    });
}

#[test]
fn batch_norm_propagates_nan_and_infinities_as_pytorch() {
    let fx = fixture();
    let mut wrong = Vec::new();
    let case = case(&fx, "BatchNorm");
    let mut bn = BatchNorm::<4>::zeroed();
    set_params(&mut bn, case);
    let fresh = bn.clone();
    train(&mut bn, "BatchNorm", case, &mut wrong);
    check_buffers(&bn, "BatchNorm", case, &mut wrong);
    let x = nums(&case["x"]);
    let mut y = vec![0.0; x.len()];
    fresh.forward_batch(&x, &mut y, 3, &mut []);
    compare(
        &mut wrong,
        "BatchNorm inference",
        &y,
        &nums(&case["eval_y"]),
    );

    let case = &fx["layers"]["BatchNorm2d"];
    let mut bn = BatchNorm2d::<4, 1, 1>::zeroed();
    set_params(&mut bn, case);
    train(&mut bn, "BatchNorm2d", case, &mut wrong);
    check_buffers(&bn, "BatchNorm2d", case, &mut wrong);
    assert_none(&wrong);
}

#[test]
fn layer_norm_propagates_nan_and_infinities_as_pytorch() {
    let fx = fixture();
    let mut wrong = Vec::new();
    let case = case(&fx, "LayerNorm");
    let mut ln = LayerNorm::<4>::zeroed();
    set_params(&mut ln, case);
    train(&mut ln, "LayerNorm", case, &mut wrong);
    assert_none(&wrong);
}

#[test]
fn softmax_propagates_nan_and_infinities_as_pytorch() {
    let fx = fixture();
    let mut wrong = Vec::new();
    train(
        &mut Softmax::<3>,
        "Softmax",
        case(&fx, "Softmax"),
        &mut wrong,
    );
    train(
        &mut LogSoftmax::<3>,
        "LogSoftmax",
        case(&fx, "LogSoftmax"),
        &mut wrong,
    );
    assert_none(&wrong);
}
