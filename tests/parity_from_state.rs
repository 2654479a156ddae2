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
// The counting allocator, of which this binary uses one function.
#[allow(dead_code)]
#[path = "common/counting.rs"]
mod counting;
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

nn::network! {
    /// A stacked GRU fed its initial state, a second input: PyTorch's `self.gru(x, h0)`.
    #[derive(Clone)]
    struct GruFrom {
        gru: GRU<3, 5, 4, num_layers = 2>,
    }
    fn forward(x: Features<12>, h0: Features<10>) -> out {
        self.gru(x, h0)
    }
}

nn::network! {
    /// An LSTM fed its initial state: PyTorch's `self.lstm(x, (h0, c0))`.
    #[derive(Clone)]
    struct LstmFrom {
        lstm: LSTM<3, 5, 4>,
    }
    fn forward(x: Features<12>, h0: Features<5>, c0: Features<5>) -> out {
        self.lstm(x, (h0, c0))
    }
}

/// The network's passes, as a layer over rows of its inputs side by side (`x`, then the
/// state), give the bits of the recurrent layer's own `FromState` passes.
fn same_as_layer<N: Layer + Clone, L: Layer + Clone>(net: &N, layer: &L, seed: u64)
where
    FromState<L>: Layer,
{
    let batch = 3;
    assert_eq!(N::IN, <FromState<L> as Layer>::IN);
    let x = common::random::random(&mut nn::Rng::seed(seed), batch * N::IN);
    let dy = common::random::random(&mut nn::Rng::seed(seed + 1), batch * N::OUT);
    let mut outs = Vec::new();
    for which in 0..2 {
        let (len, params) = match which {
            0 => (N::cache_len(batch), N::PARAMS),
            _ => (<FromState<L> as Layer>::cache_len(batch), L::PARAMS),
        };
        let mut cache = vec![0.0; len];
        let mut y = vec![f32::NAN; batch * N::OUT];
        let mut grad = vec![0.0; params];
        let mut dx = vec![f32::NAN; x.len()];
        let (mut n, mut l) = (net.clone(), layer.clone());
        match which {
            0 => n.forward_train(&x, &mut y, batch, &mut cache).unwrap(),
            _ => FromState::of_mut(&mut l)
                .forward_train(&x, &mut y, batch, &mut cache)
                .unwrap(),
        }
        let io = Backward {
            x: &x,
            y: &y,
            dy: &dy,
            batch,
            cache: &mut cache,
        };
        match which {
            0 => n.backward(io, Some(&mut dx), &mut grad),
            _ => FromState::of(&l).backward(io, Some(&mut dx), &mut grad),
        }
        let mut one = vec![f32::NAN; N::OUT];
        match which {
            0 => net.forward(&x[..N::IN], &mut one),
            _ => FromState::of(layer).forward(&x[..N::IN], &mut one),
        }
        assert_eq!(one, y[..N::OUT], "one sample and the batch");
        outs.push((y, grad, dx));
    }
    assert_eq!(outs[0], outs[1], "the network and the layer");
}

#[test]
fn a_forward_written_as_code_feeds_the_initial_state() {
    let net = GruFrom::new(3);
    same_as_layer(&*net, &net.gru, 4);
    let net = LstmFrom::new(5);
    same_as_layer(&*net, &net.lstm, 6);
    // PyTorch's numbers through the network.
    let case = case("gru", 2);
    let mut net = GruFrom::new(0);
    net.gru.visit_params_mut(&mut |name, values| {
        values.copy_from_slice(&tensor(&case["params"][name]).1);
    });
    let x = tensor(&case["input"]).1;
    let h0 = per_sample(&tensor(&case["h0"]).1, 2, 2, 5);
    let mut y = Vec::new();
    for s in 0..2 {
        let (x, h0): (&[f32; 12], &[f32; 10]) = (
            x[s * 12..(s + 1) * 12].try_into().unwrap(),
            h0[s][..].try_into().unwrap(),
        );
        y.extend(net.forward_parts(x, h0));
    }
    check(&y, &case["output"], "GruFrom: output");
}

nn::network! {
    /// An initial state made by layers from a second input: the gradient reaches them
    /// through the state.
    #[derive(Clone)]
    struct Encoded {
        init: Linear<4, 10>,
        gru: GRU<2, 5, 3, last = true, num_layers = 2>,
        fc: Linear<5, 2>,
    }
    fn forward(x: Features<6>, ctx: Features<4>) -> out {
        self.fc(self.gru(x, tanh(self.init(ctx))))
    }
}

/// The gradients through the state input and into the layers before it, against finite
/// differences.
#[test]
fn gradients_through_the_initial_state_match_finite_differences() {
    for seed in 0..2 {
        common::gradcheck::check_network::<Encoded>(seed, 3);
        common::gradcheck::check_input_grad::<Encoded>(seed, 3);
    }
}

/// One sample through a network that feeds the state, as on a microcontroller: no heap.
#[test]
fn one_sample_from_a_given_state_allocates_nothing() {
    let (gru, lstm) = (GruFrom::new(1), LstmFrom::new(2));
    let (x, h, c) = ([0.5f32; 12], [0.25f32; 10], [-0.5f32; 5]);
    let (h5, mut sum) = (&h[..5].try_into().unwrap(), 0.0);
    let a = counting::allocations(|| {
        sum += gru.forward_parts(&x, &h).iter().sum::<f32>();
        sum += lstm.forward_parts(&x, h5, &c).iter().sum::<f32>();
    });
    assert_eq!(a.count, 0, "{} allocations", a.count);
    assert!(sum.is_finite());
}
