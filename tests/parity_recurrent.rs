//! Parity with PyTorch for `GRU`, `LSTM` (one layer and stacked, `num_layers`) and
//! `Embedding`: outputs (every step and the last),
//! the last state, every parameter gradient, the input gradient and the parameters after three
//! Adam steps, against `tests/fixtures/recurrent.json`, which `tools/make_recurrent_fixtures.py`
//! wrote with PyTorch (see its header for how to rerun it). No Python runs here.
//!
//! Tolerances, as in `tests/parity_layers.rs`: `rel = 1e-5` everywhere (f32 rounds at 6e-8, so
//! 1e-5 leaves room for a few hundred roundings in another order, not for a wrong formula),
//! plus an absolute floor of 1e-5 times the tensor's largest magnitude: a recurrent output or
//! gradient is a sum over steps and gates, and an element near zero through cancellation
//! carries the rounding of the terms, whose scale is the tensor's. The fixture script certifies
//! these tolerances as fair: it recomputes every case in float64 and refuses one where
//! PyTorch's float32 result is more than half a tolerance from float64's.
//!
//! Our sigmoid and tanh are our own (within 2 ulp, see `nn-core/src/kernels/recurrent/math.rs`)
//! and our products sum in another order than PyTorch's, so nothing here is compared bit for
//! bit; the embedding, which only copies and adds, is.

#[macro_use]
mod common;
use common::fixture::{fixture, num, tensor};
use common::max_abs;

use nn::loss::MseLoss;
use nn::optim::{Adam, Optimizer};
use nn::{Backward, Gradients, Layer, Network, Tape, GRU, LSTM};
use serde_json::Value;

/// The relative tolerance of every check.
const REL: f32 = 1e-5;

/// Compares `got` with the fixture's tensor `want` within `REL` and the tensor's floor.
fn check(got: &[f32], want: &Value, ctx: &str) {
    let want = tensor(want).1;
    assert_close!(got, want, rel = REL, abs = REL * max_abs(&want), "{ctx}");
}

/// Sets `layer`'s parameters from the fixture's `params` by PyTorch's names, checking that
/// the layer has exactly those.
fn load<L: Layer>(layer: &mut L, params: &Value) {
    let mut seen = 0;
    layer.visit_params_mut(&mut |name, values| {
        let (_, want) = tensor(&params[name]);
        assert_eq!(values.len(), want.len(), "{name}: length");
        values.copy_from_slice(&want);
        seen += 1;
    });
    assert_eq!(seen, params.as_object().unwrap().len(), "parameters");
}

/// A layer of the fixture's sizes, in its two output modes: every step, and the last.
trait Recurrent: Layer + Clone {
    /// The same layer with the last step's output alone.
    type Last: Layer + Clone;
    fn last(&self) -> Self::Last;
}

macro_rules! recurrent {
    ($ty:ident) => {
        impl<const I: usize, const H: usize, const T: usize, const A: usize> Recurrent
            for $ty<I, H, T, false, A>
        {
            type Last = $ty<I, H, T, true, A>;
            fn last(&self) -> Self::Last {
                $ty {
                    weight_ih_l0: self.weight_ih_l0,
                    weight_hh_l0: self.weight_hh_l0,
                    bias_ih_l0: self.bias_ih_l0,
                    bias_hh_l0: self.bias_hh_l0,
                    above: self.above.clone(),
                }
            }
        }
    };
}
recurrent!(GRU);
recurrent!(LSTM);

/// Runs the training pass of `layer` (a copy) and its backward pass from `dy`.
fn forward_backward<L: Layer + Clone>(
    layer: &L,
    x: &[f32],
    dy: &[f32],
    batch: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut l = layer.clone();
    let mut y = vec![f32::NAN; batch * L::OUT];
    let mut cache = vec![f32::NAN; L::cache_len(batch)];
    l.forward_train(x, &mut y, batch, &mut cache).unwrap();
    let mut grad = vec![0.0; L::PARAMS];
    let mut dx = vec![f32::NAN; x.len()];
    let io = Backward {
        x,
        y: &y,
        dy,
        batch,
        cache: &mut cache,
    };
    l.backward(io, Some(&mut dx), &mut grad);
    (y, grad, dx)
}

/// The gradients in `grad`, split by parameter as `layer` visits them.
fn by_name<L: Layer>(layer: &L, grad: &[f32]) -> Vec<(&'static str, Vec<f32>)> {
    let mut out = Vec::new();
    let mut at = 0;
    layer.visit_params(&mut |name, _, values| {
        out.push((name, grad[at..at + values.len()].to_vec()));
        at += values.len();
    });
    out
}

/// One recurrent case: outputs, state, gradients in both modes.
fn check_case<L: Recurrent>(case: &Value) {
    let kind = case["kind"].as_str().unwrap();
    let batch = case["batch"].as_u64().unwrap() as usize;
    let ctx = format!("{}", Describe::<L>::default());
    let mut layer: L = nn::Zeroable::zeroed();
    load(&mut layer, &case["params"]);
    let x = tensor(&case["input"]).1;

    // Inference: one sample at a time and as a batch, the same bits, PyTorch's numbers.
    let mut y = vec![f32::NAN; batch * L::OUT];
    let mut cache = vec![0.0; L::cache_len(batch)];
    layer.forward_batch(&x, &mut y, batch, &mut cache);
    check(&y, &case["output"], &format!("{ctx}: output"));
    for (s, (x, y)) in x.chunks(L::IN).zip(y.chunks(L::OUT)).enumerate() {
        let mut one = vec![f32::NAN; L::OUT];
        layer.forward(x, &mut one);
        assert_eq!(one, y, "{ctx}: sample {s} alone differs from the batch");
    }
    let last = layer.last();
    let mut y_last = vec![f32::NAN; batch * <L::Last as Layer>::OUT];
    let mut cache = vec![0.0; <L::Last as Layer>::cache_len(batch)];
    last.forward_batch(&x, &mut y_last, batch, &mut cache);
    check(&y_last, &case["last"], &format!("{ctx}: last step"));
    // PyTorch's h_n (its top layer's, in a stack) is the last step's output.
    let h_n = tensor(&case["h_n"]).1;
    let top = &h_n[h_n.len() - y_last.len()..];
    let want = tensor(&case["last"]).1;
    assert_close!(
        &y_last,
        top,
        rel = REL,
        abs = REL * max_abs(&want),
        "{ctx}: h_n"
    );

    // Training: every step's output.
    let dy = tensor(&case["upstream"]).1;
    let (y_train, grad, dx) = forward_backward(&layer, &x, &dy, batch);
    assert_eq!(
        y_train, y,
        "{ctx}: the training pass's output differs from inference"
    );
    for (name, g) in by_name(&layer, &grad) {
        check(&g, &case["grads"][name], &format!("{ctx}: d{name}"));
    }
    check(&dx, &case["input_grad"], &format!("{ctx}: input gradient"));

    // Training: the last step's output.
    let dy = tensor(&case["upstream_last"]).1;
    let (y_train, grad, dx) = forward_backward(&last, &x, &dy, batch);
    assert_eq!(y_train, y_last, "{ctx}: last-step training output");
    for (name, g) in by_name(&last, &grad) {
        check(
            &g,
            &case["grads_last"][name],
            &format!("{ctx} last: d{name}"),
        );
    }
    check(
        &dx,
        &case["input_grad_last"],
        &format!("{ctx} last: input gradient"),
    );
    let _ = kind;
}

/// Writes `L` as [`Layer::describe`] does.
struct Describe<L>(std::marker::PhantomData<L>);
impl<L> Default for Describe<L> {
    fn default() -> Self {
        Describe(std::marker::PhantomData)
    }
}
impl<L: Layer> std::fmt::Display for Describe<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        L::describe(f)
    }
}

/// The fixture's cases of `kind` with `layers` layers.
fn cases_of(kind: &str, layers: u64) -> Vec<Value> {
    let fx = fixture("recurrent.json");
    let cases: Vec<Value> = fx["recurrent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind && c["layers"] == layers)
        .cloned()
        .collect();
    assert_eq!(cases.len(), 1 + (layers == 1) as usize, "{kind} cases");
    cases
}

fn cases(kind: &str) -> Vec<Value> {
    cases_of(kind, 1)
}

/// The fixture's stacked cases of `kind`: two layers, then three.
fn stacked(kind: &str) -> Vec<Value> {
    [2, 3].into_iter().flat_map(|l| cases_of(kind, l)).collect()
}

#[test]
fn gru_matches_pytorch() {
    let cases = cases("gru");
    check_case::<GRU<3, 5, 4>>(&cases[0]);
    check_case::<GRU<8, 16, 12>>(&cases[1]);
}

#[test]
fn lstm_matches_pytorch() {
    let cases = cases("lstm");
    check_case::<LSTM<3, 5, 4>>(&cases[0]);
    check_case::<LSTM<8, 16, 12>>(&cases[1]);
}

/// `num_layers = 2` and `3`: PyTorch's `_l1` and `_l2` tensors by name, outputs, gradients.
#[test]
fn stacked_gru_matches_pytorch() {
    let cases = stacked("gru");
    check_case::<GRU<3, 5, 4, false, 1>>(&cases[0]);
    check_case::<GRU<4, 6, 5, false, 2>>(&cases[1]);
}

#[test]
fn stacked_lstm_matches_pytorch() {
    let cases = stacked("lstm");
    check_case::<LSTM<3, 5, 4, false, 1>>(&cases[0]);
    check_case::<LSTM<4, 6, 5, false, 2>>(&cases[1]);
}

/// A stack stepped one input at a time carries every layer's state: each step's output is
/// the whole-sequence forward's, bit for bit, and the states after the last step are
/// PyTorch's `h_n` (and `c_n`), `[layers, batch, H]`.
#[test]
fn stacked_steps_carry_every_layer_as_pytorch() {
    let case = &stacked("gru")[1];
    let mut gru: GRU<4, 6, 5, false, 2> = nn::Zeroable::zeroed();
    load(&mut gru, &case["params"]);
    let x = tensor(&case["input"]).1;
    let mut states = Vec::new();
    for sample in x.chunks(4 * 5) {
        let mut y = [f32::NAN; 30];
        gru.forward(sample, &mut y);
        let mut state = nn::GruState::<6, 2>::default();
        for (t, step) in sample.chunks(4).enumerate() {
            let h = gru.step(step.try_into().unwrap(), &mut state);
            assert_eq!(h[..], y[6 * t..6 * t + 6], "GRU stack: step {t}");
        }
        states.push(state);
    }
    let layer = |s: &nn::GruState<6, 2>, l: usize| match l {
        0 => s.h,
        _ => s.above_h[l - 1],
    };
    let h_n: Vec<f32> = (0..3)
        .flat_map(|l| states.iter().flat_map(move |s| layer(s, l)))
        .collect();
    check(&h_n, &case["h_n"], "GRU stack h_n");

    let case = &stacked("lstm")[1];
    let mut lstm: LSTM<4, 6, 5, false, 2> = nn::Zeroable::zeroed();
    load(&mut lstm, &case["params"]);
    let x = tensor(&case["input"]).1;
    let mut states = Vec::new();
    for sample in x.chunks(4 * 5) {
        let mut y = [f32::NAN; 30];
        lstm.forward(sample, &mut y);
        let mut state = nn::LstmState::<6, 2>::default();
        for (t, step) in sample.chunks(4).enumerate() {
            let h = lstm.step(step.try_into().unwrap(), &mut state);
            assert_eq!(h[..], y[6 * t..6 * t + 6], "LSTM stack: step {t}");
        }
        states.push(state);
    }
    let layer = |s: &nn::LstmState<6, 2>, l: usize| match l {
        0 => (s.h, s.c),
        _ => (s.above_h[l - 1], s.above_c[l - 1]),
    };
    let h_n: Vec<f32> = (0..3)
        .flat_map(|l| states.iter().flat_map(move |s| layer(s, l).0))
        .collect();
    let c_n: Vec<f32> = (0..3)
        .flat_map(|l| states.iter().flat_map(move |s| layer(s, l).1))
        .collect();
    check(&h_n, &case["h_n"], "LSTM stack h_n");
    check(&c_n, &case["c_n"], "LSTM stack c_n");
}

/// The LSTM's last cell state, which no output shows, from a cell stepped through each sample.
#[test]
fn lstm_cell_state_matches_pytorch() {
    let case = &cases("lstm")[1];
    let mut layer: LSTM<8, 16, 12> = nn::Zeroable::zeroed();
    load(&mut layer, &case["params"]);
    let cell = layer.cell();
    let x = tensor(&case["input"]).1;
    let (mut h, mut c) = (Vec::new(), Vec::new());
    for sample in x.chunks(8 * 12) {
        let mut state = nn::LstmState::default();
        cell.forward_sequence(sample, &mut state, &mut []);
        h.extend(state.h);
        c.extend(state.c);
    }
    check(&h, &case["h_n"], "LSTM h_n");
    check(&c, &case["c_n"], "LSTM c_n");
}

nn::network! {
    /// A GRU alone, its last step's output the network's.
    struct GruNet<nn::GRU<3, 5, 4, true>>
}
nn::network! {
    /// An LSTM alone, its last step's output the network's.
    struct LstmNet<nn::LSTM<3, 5, 4, true>>
}
nn::network! {
    /// A GRU of two layers, as declared in `network!`.
    struct GruStackNet<GRU<3, 5, 4, last = true, num_layers = 2>>
}
nn::network! {
    /// An LSTM of two layers, as declared in `network!`.
    struct LstmStackNet<LSTM<3, 5, 4, last = true, num_layers = 2>>
}

/// Three Adam steps on `L = MSE(out[:, -1], y)` from the fixture's parameters, as PyTorch
/// took them: each step's loss and the parameters after.
fn check_adam<N: Network>(case: &Value, what: &str) {
    let tensors = case["params"].as_object().unwrap().len();
    let mut net = N::zeroed();
    net.walk_state_mut(&nn::Path::ROOT, &mut |_, name, value| {
        let nn::BufferMut::F32(values) = value else {
            panic!("{name}: not a parameter")
        };
        values.copy_from_slice(&tensor(&case["params"][name]).1);
    });
    let adam = &case["adam"];
    let x = tensor(&case["input"]).1;
    let target = tensor(&adam["target"]).1;
    let mut opt = Adam::new(num(&adam["lr"]));
    let mut tape = Tape::<N>::new();
    let mut grads = Gradients::<N>::new();
    let losses = tensor(&adam["losses"]).1;
    for (step, want) in losses.iter().enumerate() {
        opt.zero_grad(&mut grads);
        tape.forward(&mut net, &x).unwrap();
        let loss = tape.loss(&MseLoss, &target[..]);
        tape.backward(&net, &x, &mut grads);
        opt.step(&mut net, &grads);
        assert_close!(
            [loss],
            [*want],
            rel = REL,
            abs = 0.0,
            "{what}: loss at step {step}"
        );
    }
    let mut compared = 0;
    net.walk_params(&nn::Path::ROOT, &mut |_, name, _, values| {
        check(
            values,
            &adam["params"][name],
            &format!("{what}: {name} after Adam"),
        );
        compared += 1;
    });
    assert_eq!(compared, tensors);
}

#[test]
fn gru_trains_as_pytorch_with_adam() {
    check_adam::<GruNet>(&cases("gru")[0], "GRU");
}

#[test]
fn lstm_trains_as_pytorch_with_adam() {
    check_adam::<LstmNet>(&cases("lstm")[0], "LSTM");
}

#[test]
fn stacks_train_as_pytorch_with_adam() {
    check_adam::<GruStackNet>(&stacked("gru")[0], "GRU, num_layers = 2");
    check_adam::<LstmStackNet>(&stacked("lstm")[0], "LSTM, num_layers = 2");
}

nn::network! {
    /// An embedding of 10 rows of 4 over 5 indices.
    struct EmbNet<nn::Embedding<10, 4, 5>>
}
nn::network! {
    /// The same with row 0 as the padding index.
    struct PaddedNet<nn::Embedding<10, 4, 5, 0>>
}

/// `Embedding` against `nn.Embedding`, with and without `padding_idx`: its output and weight
/// gradient, which only copy and add (at most two terms per element here), bit for bit; then
/// three Adam steps, which leave the padding row at zero.
fn check_embedding<N: Network>(case: &Value, what: &str) {
    let batch = case["batch"].as_u64().unwrap() as usize;
    let mut net = N::zeroed();
    net.walk_params_mut(&mut |w| w.copy_from_slice(&tensor(&case["weight"]).1));
    let x = tensor(&case["indices"]).1;
    let mut tape = Tape::<N>::new();
    let y = tape.forward(&mut net, &x).unwrap().to_vec();
    assert_eq!(y, tensor(&case["output"]).1, "{what}: output");
    let mut grads = Gradients::<N>::new();
    tape.output_grad_mut()
        .copy_from_slice(&tensor(&case["upstream"]).1);
    tape.backward(&net, &x, &mut grads);
    assert_eq!(
        grads.as_slice(),
        tensor(&case["weight_grad"]).1,
        "{what}: weight gradient"
    );
    assert_eq!(y.len(), batch * N::OUT);

    let adam = &case["adam"];
    let target = tensor(&adam["target"]).1;
    let mut opt = Adam::new(num(&adam["lr"]));
    for (step, want) in tensor(&adam["losses"]).1.iter().enumerate() {
        opt.zero_grad(&mut grads);
        tape.forward(&mut net, &x).unwrap();
        let loss = tape.loss(&MseLoss, &target[..]);
        tape.backward(&net, &x, &mut grads);
        opt.step(&mut net, &grads);
        assert_close!(
            [loss],
            [*want],
            rel = REL,
            abs = 0.0,
            "{what}: loss at step {step}"
        );
    }
    let padding = case["padding_idx"].as_u64().map(|p| p as usize);
    net.walk_params(&nn::Path::ROOT, &mut |_, _, _, w| {
        check(w, &adam["weight"], &format!("{what}: weight after Adam"));
        if let Some(p) = padding {
            assert_eq!(
                w[4 * p..4 * p + 4],
                [0.0; 4],
                "{what}: the padding row trained"
            );
        }
    });
}

#[test]
fn embedding_matches_pytorch() {
    let fx = fixture("recurrent.json");
    let cases = fx["embedding"].as_array().unwrap();
    assert_eq!(cases[0]["padding_idx"], Value::Null);
    check_embedding::<EmbNet>(&cases[0], "Embedding<10, 4, 5>");
    assert_eq!(cases[1]["padding_idx"], 0);
    check_embedding::<PaddedNet>(&cases[1], "Embedding<10, 4, 5, padding_idx = 0>");
}

nn::network! {
    /// PyTorch's `Baked` of `tools/make_recurrent_fixtures.py`, its weights baked in.
    #[weights("tests/fixtures/recurrent_baked.safetensors")]
    struct Baked {
        emb: Embedding<10, 4, 3>,
        lstm: LSTM<4, 6, 3>,
        gru: GRU<6, 5, 3, last = true>,
        fc: Linear<5, 2>,
    }
}

/// A streaming cell made at compile time from baked weights: a `static`, in flash on a
/// microcontroller.
static CELL: nn::GruCell<6, 5> = nn::GruCell::new(&Baked::WEIGHTS.gru);

#[test]
fn baked_recurrent_weights_match_pytorch() {
    static NET: Baked = Baked::WEIGHTS;
    let case = &fixture("recurrent.json")["baked"];
    let x = tensor(&case["input"]).1;
    let mut y = Vec::new();
    for row in x.chunks(3) {
        y.extend(NET.forward(row.try_into().unwrap()));
    }
    check(&y, &case["output"], "baked network");
    let mut loaded = Baked::new(0);
    nn::io::load(
        &mut *loaded,
        common::fixture::path("recurrent_baked.safetensors"),
    )
    .unwrap();
    assert_eq!(loaded.emb, NET.emb);
    assert_eq!(loaded.lstm, NET.lstm);
    assert_eq!(loaded.gru, NET.gru);
    assert_eq!(loaded.fc, NET.fc);
    assert_eq!(CELL, NET.gru.cell());
}

nn::network! {
    /// PyTorch's `StackedBaked` of `tools/make_recurrent_fixtures.py`, its weights baked in.
    #[weights("tests/fixtures/recurrent_stacked.safetensors")]
    struct StackedBaked {
        lstm: LSTM<3, 6, 4, num_layers = 2>,
        gru: GRU<6, 5, 4, last = true, num_layers = 3>,
        fc: Linear<5, 2>,
    }
}

#[test]
fn baked_stacks_match_pytorch() {
    static NET: StackedBaked = StackedBaked::WEIGHTS;
    let case = &fixture("recurrent.json")["stacked_baked"];
    let x = tensor(&case["input"]).1;
    let mut y = Vec::new();
    for sample in x.chunks(12) {
        y.extend(NET.forward(sample.try_into().unwrap()));
    }
    check(&y, &case["output"], "baked stacks");
    let mut loaded = StackedBaked::new(0);
    nn::io::load(
        &mut *loaded,
        common::fixture::path("recurrent_stacked.safetensors"),
    )
    .unwrap();
    assert_eq!(loaded.lstm, NET.lstm);
    assert_eq!(loaded.gru, NET.gru);
    assert_eq!(loaded.fc, NET.fc);
}
