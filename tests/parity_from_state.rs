//! Parity with PyTorch for recurrent layers called with their initial state, `gru(x, h0)` and
//! `lstm(x, (h0, c0))`, one layer and two, against the "from_state" cases of
//! `tests/fixtures/recurrent.json` (written by `tools/make_recurrent_fixtures.py`): outputs,
//! every parameter gradient, and the gradients with respect to the input, `h0` and `c0`.
//! The layer alone ([`nn::FromState`]) here; in a forward written as code further down.
//!
//! Tolerances as in `tests/parity_recurrent.rs`: `rel = 1e-5` plus a floor of 1e-5 times the
//! tensor's largest magnitude, which the script certifies against float64.

#[macro_use]
mod common;
use common::fixture::{fixture, tensor};
use common::max_abs;

use nn::{Backward, FromState, Layer, GRU, LSTM};
use serde_json::Value;

const REL: f32 = 1e-5;

fn check(got: &[f32], want: &Value, ctx: &str) {
    let want = tensor(want).1;
    assert_close!(got, want, rel = REL, abs = REL * max_abs(&want), "{ctx}");
}

fn case(kind: &str, layers: u64) -> Value {
    let fx = fixture("recurrent.json");
    fx["from_state"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind && c["layers"] == layers)
        .unwrap()
        .clone()
}

/// `[L, B, H]` as rows: sample `b`'s `[L, H]`.
fn per_sample(t: &[f32], layers: usize, batch: usize, h: usize) -> Vec<Vec<f32>> {
    (0..batch)
        .map(|b| {
            (0..layers)
                .flat_map(|l| t[(l * batch + b) * h..][..h].to_vec())
                .collect()
        })
        .collect()
}

/// Rows of `[B, L, H]` back to PyTorch's `[L, B, H]`.
fn per_layer(rows: &[Vec<f32>], layers: usize, h: usize) -> Vec<f32> {
    (0..layers)
        .flat_map(|l| {
            rows.iter()
                .flat_map(move |r| r[l * h..(l + 1) * h].to_vec())
        })
        .collect()
}

/// The layer `L` fed the case's state: forward (one row and a batch), training pass,
/// backward, all against PyTorch.
fn check_case<L: Layer + Clone>(case: &Value, lstm: bool)
where
    FromState<L>: Layer,
{
    let ctx = case["kind"].as_str().unwrap().to_string() + " from a given state";
    let [batch, layers, h] =
        ["batch", "layers", "hidden"].map(|k| case[k].as_u64().unwrap() as usize);
    let mut layer: L = nn::Zeroable::zeroed();
    let mut seen = 0;
    layer.visit_params_mut(&mut |name, values| {
        values.copy_from_slice(&tensor(&case["params"][name]).1);
        seen += 1;
    });
    assert_eq!(seen, 4 * layers);
    let x = tensor(&case["input"]).1;
    let h0 = per_sample(&tensor(&case["h0"]).1, layers, batch, h);
    let c0 = lstm.then(|| per_sample(&tensor(&case["c0"]).1, layers, batch, h));
    let seq = x.len() / batch;
    let mut rows = Vec::new();
    for s in 0..batch {
        rows.extend(&x[s * seq..(s + 1) * seq]);
        rows.extend(&h0[s]);
        if let Some(c0) = &c0 {
            rows.extend(&c0[s]);
        }
    }
    let width = <FromState<L> as Layer>::IN;
    assert_eq!(rows.len(), batch * width, "{ctx}: row width");
    let wrapped = FromState::of(&layer);

    let mut y = vec![f32::NAN; batch * L::OUT];
    wrapped.forward_batch(&rows, &mut y, batch, &mut []);
    check(&y, &case["output"], &format!("{ctx}: output"));
    for s in 0..batch {
        let mut one = vec![f32::NAN; L::OUT];
        wrapped.forward(&rows[s * width..(s + 1) * width], &mut one);
        assert_eq!(one, y[s * L::OUT..(s + 1) * L::OUT], "{ctx}: one row");
    }

    let mut trained = layer.clone();
    let train = FromState::of_mut(&mut trained);
    let mut cache = vec![f32::NAN; <FromState<L> as Layer>::cache_len(batch)];
    let mut y_train = vec![f32::NAN; y.len()];
    train
        .forward_train(&rows, &mut y_train, batch, &mut cache)
        .unwrap();
    assert_eq!(y_train, y, "{ctx}: training output");
    let dy = tensor(&case["upstream"]).1;
    let mut grad = vec![0.0; L::PARAMS];
    let mut dx = vec![f32::NAN; rows.len()];
    let io = Backward {
        x: &rows,
        y: &y,
        dy: &dy,
        batch,
        cache: &mut cache,
    };
    train.backward(io, Some(&mut dx), &mut grad);
    let mut at = 0;
    layer.visit_params(&mut |name, _, values| {
        let g = &grad[at..at + values.len()];
        check(g, &case["grads"][name], &format!("{ctx}: d{name}"));
        at += values.len();
    });
    let state = layers * h;
    let row = |s: usize| &dx[s * width..(s + 1) * width];
    let d_x: Vec<f32> = (0..batch).flat_map(|s| row(s)[..seq].to_vec()).collect();
    check(&d_x, &case["input_grad"], &format!("{ctx}: input gradient"));
    let d_h: Vec<Vec<f32>> = (0..batch)
        .map(|s| row(s)[seq..seq + state].to_vec())
        .collect();
    check(
        &per_layer(&d_h, layers, h),
        &case["h0_grad"],
        &format!("{ctx}: h0 gradient"),
    );
    if lstm {
        let d_c: Vec<Vec<f32>> = (0..batch)
            .map(|s| row(s)[seq + state..seq + 2 * state].to_vec())
            .collect();
        check(
            &per_layer(&d_c, layers, h),
            &case["c0_grad"],
            &format!("{ctx}: c0 gradient"),
        );
    }
}

#[test]
fn gru_from_a_given_state_matches_pytorch() {
    check_case::<GRU<3, 5, 4>>(&case("gru", 1), false);
    check_case::<GRU<3, 5, 4, false, 1>>(&case("gru", 2), false);
}

#[test]
fn lstm_from_a_given_state_matches_pytorch() {
    check_case::<LSTM<3, 5, 4>>(&case("lstm", 1), true);
    check_case::<LSTM<3, 5, 4, false, 1>>(&case("lstm", 2), true);
}
