//! The recurrent cases: one GRU or LSTM step with the state carried (1 input, 8, 32 or 64
//! hidden units, batch 1), the unit of real-time audio and of a microcontroller's stream; and a
//! whole signal of 48,000 steps through the layer in one call. RTNeural's figures, measured on
//! this kind of machine (AMD EPYC, AVX-512; CPU time per step, its fastest backend) and quoted
//! in the project's issue, stand beside ours as the anchor; PyTorch runs the same cases in the
//! same run (`tools/pytorch_bench.py`).
//!
//! Beside them, RTNeural's causal convolution stack, Conv1d(1→16, k3) → tanh → Conv1d(16→16,
//! k3, dilation 2) → a dense 16→1 on every step (`conv_step`, `conv_signal`, shown at 16
//! channels): one step through its cells with their contexts carried, a tuple of them stepped in
//! one call ([`nn::Stream`]), and the whole signal
//! through the network declared with `#[input(1, 48000)]`.

use std::hint::black_box;

use nn::{
    Conv1dCell, GruCell, GruState, Layer, LstmCell, LstmState, Rng, Stream, Zeroable, GRU, LSTM,
};

use super::median_us;

/// Steps of the whole-signal case: a second of audio at 48 kHz.
pub const SIGNAL: usize = 48_000;

/// The cases, as the child process and PyTorch name them; each runs at every hidden size.
pub const CASES: [&str; 6] = [
    "gru_step",
    "lstm_step",
    "gru_signal",
    "lstm_signal",
    "conv_step",
    "conv_signal",
];

/// RTNeural's published µs per step for a case and hidden size, measured on a machine of this
/// kind, not in this run.
fn rtneural(case: &str, hidden: usize) -> Option<f64> {
    match (case, hidden) {
        ("gru_step", 8) => Some(0.045),
        ("gru_step", 32) => Some(0.115),
        ("gru_step", 64) => Some(0.475),
        ("lstm_step", 8) => Some(0.054),
        ("lstm_step", 32) => Some(0.111),
        ("lstm_step", 64) => Some(0.618),
        ("conv_step", 16) => Some(0.076),
        _ => None,
    }
}

/// Median µs of one step of `step` on a varying input, the state carried from call to call.
fn one_step(mut step: impl FnMut(&[f32; 1])) -> f64 {
    let mut t = 0u32;
    median_us(
        || {
            t = t.wrapping_add(1);
            // A new input each call, so that nothing is hoisted out of the loop.
            let x = [(t & 1023) as f32 * 1e-3 - 0.5];
            step(black_box(&x));
        },
        100.0,
    )
}

fn gru_step<const H: usize>() -> f64 {
    let mut gru: GRU<1, H, 1> = Zeroable::zeroed();
    gru.init(&mut Rng::seed(1));
    let cell = GruCell::new(&gru);
    let mut state = GruState::default();
    let us = one_step(|x| {
        black_box(cell.step(x, &mut state));
    });
    assert!(state.h.iter().all(|v| v.is_finite()));
    us
}

fn lstm_step<const H: usize>() -> f64 {
    let mut lstm: LSTM<1, H, 1> = Zeroable::zeroed();
    lstm.init(&mut Rng::seed(2));
    let cell = LstmCell::new(&lstm);
    let mut state = LstmState::default();
    let us = one_step(|x| {
        black_box(cell.step(x, &mut state));
    });
    assert!(state.c.iter().all(|v| v.is_finite()));
    us
}

/// Median µs of `layer.forward` over the whole signal, every step's output written.
fn signal<L: Layer>(layer: &L) -> f64 {
    let mut rng = Rng::seed(3);
    let x: Vec<f32> = (0..SIGNAL).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut y = vec![0.0; L::OUT];
    median_us(
        || {
            layer.forward(black_box(&x), &mut y);
            black_box(&y);
        },
        100.0,
    )
}

fn gru_signal<const H: usize>() -> f64 {
    let mut gru = Box::new(GRU::<1, H, SIGNAL>::zeroed());
    gru.init(&mut Rng::seed(1));
    signal(&*gru)
}

fn lstm_signal<const H: usize>() -> f64 {
    let mut lstm = Box::new(LSTM::<1, H, SIGNAL>::zeroed());
    lstm.init(&mut Rng::seed(2));
    signal(&*lstm)
}

nn::network! {
    /// RTNeural's stack over a second of audio, causal, the dense layer on every step a 1 × 1
    /// convolution.
    #[input(1, 48000)]
    struct ConvStack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

fn conv_step() -> f64 {
    let net = ConvStack::new(1);
    // The stack's cells, stepped in one call.
    let cells = (
        Conv1dCell::new(&net.conv1),
        nn::Tanh::<16>::default(),
        Conv1dCell::new(&net.conv2),
        Conv1dCell::new(&net.dense),
    );
    let mut state = Default::default();
    let mut last = 0.0;
    let us = one_step(|x| {
        last = black_box(cells.step(x, &mut state)[0]);
    });
    assert!(last.is_finite());
    us
}

fn conv_signal() -> f64 {
    let net = ConvStack::new(1);
    let mut rng = Rng::seed(3);
    let x: Vec<f32> = (0..SIGNAL).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut y = vec![0.0; SIGNAL];
    let mut cache = vec![0.0; <ConvStack as Layer>::cache_len(1)];
    median_us(
        || {
            Layer::forward_batch(&*net, black_box(&x), &mut y, 1, &mut cache);
            black_box(&y);
        },
        100.0,
    )
}

/// Our rows, as (case, hidden size, µs per call), for the cases `wanted` keeps.
pub fn ours(wanted: impl Fn(&str) -> bool) -> Vec<(&'static str, usize, f64)> {
    type Case = (&'static str, [(usize, fn() -> f64); 3]);
    let cases: [Case; 4] = [
        (
            "gru_step",
            [
                (8, gru_step::<8>),
                (32, gru_step::<32>),
                (64, gru_step::<64>),
            ],
        ),
        (
            "lstm_step",
            [
                (8, lstm_step::<8>),
                (32, lstm_step::<32>),
                (64, lstm_step::<64>),
            ],
        ),
        (
            "gru_signal",
            [
                (8, gru_signal::<8>),
                (32, gru_signal::<32>),
                (64, gru_signal::<64>),
            ],
        ),
        (
            "lstm_signal",
            [
                (8, lstm_signal::<8>),
                (32, lstm_signal::<32>),
                (64, lstm_signal::<64>),
            ],
        ),
    ];
    let mut rows = Vec::new();
    for (case, sizes) in cases.into_iter().filter(|(c, _)| wanted(c)) {
        for (hidden, run) in sizes {
            rows.push((case, hidden, run()));
        }
    }
    // The convolution stack, at its 16 channels.
    if wanted("conv_step") {
        rows.push(("conv_step", 16, conv_step()));
    }
    if wanted("conv_signal") {
        rows.push(("conv_signal", 16, conv_signal()));
    }
    rows
}

/// The recurrent table: per step for the one-step cases, per signal and per sample for the
/// whole signal.
pub fn table(ours: &[(&str, usize, f64)], torch: &[(String, usize, f64)]) {
    if ours.is_empty() {
        return;
    }
    println!(
        "\nrecurrent layers, 1 input, batch 1: one step with the state carried (µs per step), \
         and a whole signal of {SIGNAL} steps in one call"
    );
    println!(
        "(RTNeural µs: its time per step, beside a whole signal too; target: nn's time per step \
         at or under RTNeural's, and a whole signal at least as fast as PyTorch's)"
    );
    println!(
        "{:<12} {:>6} {:>12} {:>12} {:>9} {:>12} {:>14} {:>14} {:>8}",
        "case",
        "hidden",
        "nn µs",
        "PyTorch µs",
        "speed-up",
        "RTNeural µs",
        "nn M steps/s",
        "PyTorch M/s",
        "target"
    );
    for (case, hidden, us) in ours {
        let t = torch
            .iter()
            .find(|(c, h, _)| c == case && h == hidden)
            .map(|r| r.2);
        let per_step = if case.ends_with("signal") {
            SIGNAL as f64
        } else {
            1.0
        };
        let rate = |us: f64| format!("{:.2}", per_step / us);
        let (tcol, ratio, trate) = match t {
            Some(t) => (format!("{t:.3}"), format!("{:.1}×", t / us), rate(t)),
            None => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        let step_case = case.replace("signal", "step");
        let rt = rtneural(&step_case, *hidden);
        let anchor = rt.map_or("-".into(), |r| format!("{r:.3}"));
        let met = rt.map(|r| us / per_step <= r && t.is_none_or(|t| *us <= t));
        let met = met.map_or("-", |m| if m { "met" } else { "not met" });
        println!(
            "{case:<12} {hidden:>6} {us:>12.3} {tcol:>12} {ratio:>9} {anchor:>12} {:>14} {trate:>14} {met:>8}",
            rate(*us)
        );
    }
}
