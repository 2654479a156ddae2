//! The recurrent layers in use: declared in `network!` as PyTorch users write them, trained
//! with the tape, saved under PyTorch's names; and streamed one step at a time, which gives
//! the whole-sequence passes' bits exactly, whatever path a pass takes (a cell, the weights in
//! place, a batch, a training pass).

#[macro_use]
mod common;
use common::random::random;

use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, Optimizer};
use nn::{
    GruCell, GruState, Layer, LstmCell, LstmState, Network, Rng, Stream, Tape, Zeroable, GRU, LSTM,
};

nn::network! {
    /// MNIST read row by row: 28 steps of 28 pixels, the last step's state classified.
    struct RowGru {
        gru: GRU<28, 64, 28, last = true>,
        fc: Linear<64, 10>,
    }
}

nn::network! {
    /// A small GRU over 6 steps of 4 features, the last step's state classified.
    struct Memory {
        gru: GRU<4, 16, 6, last = true>,
        fc: Linear<16, 4>,
    }
}

nn::network! {
    /// Tokens through an embedding (row 0 the padding) into an LSTM over every step.
    struct Tokens<Embedding<20, 8, 6, padding_idx = 0>, LSTM<8, 16, 6>, Flatten, Linear<96, 3>>
}

#[test]
fn sizes_and_names_are_pytorch_s() {
    assert_eq!(RowGru::IN, 28 * 28);
    assert_eq!(RowGru::OUT, 10);
    assert_eq!(RowGru::PARAMS, 3 * 64 * (28 + 64 + 2) + 64 * 10 + 10);
    let net = RowGru::new(0);
    let mut names = Vec::new();
    net.named_params(&mut |path, name, shape, _| {
        names.push((format!("{}", path.child(name)), shape.to_vec()))
    });
    assert_eq!(
        names,
        [
            ("gru.weight_ih_l0".to_string(), vec![192, 28]),
            ("gru.weight_hh_l0".to_string(), vec![192, 64]),
            ("gru.bias_ih_l0".to_string(), vec![192]),
            ("gru.bias_hh_l0".to_string(), vec![192]),
            ("fc.weight".to_string(), vec![10, 64]),
            ("fc.bias".to_string(), vec![10]),
        ]
    );
    // PyTorch's initialisation: every GRU parameter within ±1/sqrt(64).
    net.named_params(&mut |path, _, _, values| {
        if format!("{path}") == "gru" {
            assert!(values.iter().all(|v| v.abs() <= 0.125));
        }
    });
    let summary = RowGru::summary().to_string();
    assert!(
        summary.contains("GRU<28, 64, 28, last = true>"),
        "{summary}"
    );
    assert!(Tokens::summary()
        .to_string()
        .contains("Embedding<20, 8, 6, padding_idx = 0>"));
    assert_eq!(Tokens::IN, 6);
}

/// A task only memory solves: the class is which feature of the first step is set, which
/// the last step sees only through the state.
fn first_step_task(rng: &mut Rng, n: usize) -> (Vec<[f32; 24]>, Vec<usize>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let class = rng.below(4);
        let mut sample = [0.0f32; 24];
        for v in sample.iter_mut() {
            *v = 0.1 * rng.uniform(-1.0, 1.0);
        }
        sample[class] = 1.0;
        x.push(sample);
        y.push(class);
    }
    (x, y)
}

#[test]
fn a_gru_network_trains_with_the_tape() {
    let mut rng = Rng::seed(3);
    let (x, y) = first_step_task(&mut rng, 32);
    let mut net = Memory::new(1);
    let mut tape = Tape::new();
    let mut grads = nn::Gradients::new();
    let mut opt = Adam::new(0.01);
    let loss_fn = CrossEntropyLoss::default();
    let mut losses = Vec::new();
    for _ in 0..80 {
        opt.zero_grad(&mut grads);
        net.forward_train(&x, &mut tape).unwrap();
        losses.push(tape.loss(&loss_fn, &y[..]));
        net.backward(&x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
    }
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(first > 1.0 && last < 0.1 * first, "losses {losses:?}");
    let accuracy = nn::metrics::accuracy_rows(&net.predict(&x), &y);
    assert_eq!(accuracy, 1.0, "losses {losses:?}");
}

#[test]
fn an_embedding_and_lstm_network_trains() {
    let mut rng = Rng::seed(4);
    // The class is whether token 5, 6 or 7 appears first; 0 pads.
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..48 {
        let class = rng.below(3);
        let mut tokens = [0.0f32; 6];
        let at = rng.below(3);
        for (i, t) in tokens.iter_mut().enumerate().skip(at) {
            *t = if i == at {
                5.0 + class as f32
            } else {
                (8 + rng.below(12)) as f32
            };
        }
        x.push(tokens);
        y.push(class);
    }
    let mut net = Tokens::new(2);
    let mut tape = Tape::new();
    let mut grads = nn::Gradients::new();
    let mut opt = Adam::new(0.02);
    let loss_fn = CrossEntropyLoss::default();
    let mut losses = Vec::new();
    for _ in 0..30 {
        opt.zero_grad(&mut grads);
        net.forward_train(&x, &mut tape).unwrap();
        losses.push(tape.loss(&loss_fn, &y[..]));
        net.backward(&x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
    }
    assert!(
        *losses.last().unwrap() < 0.2 * losses[0],
        "losses {losses:?}"
    );
    // The padding row is still zero.
    net.named_params(&mut |path, name, _, values| {
        if format!("{}", path.child(name)) == "0.weight" {
            assert_eq!(values[..8], [0.0; 8]);
        }
    });
}

/// Every pass over the same sequences, one sample at a time or in a batch, for inference or
/// training, through a cell or the weights in place, gives the same bits, and stepping one
/// step per call with the state carried between calls gives them too.
fn passes_agree<const IN: usize, const H: usize, const T: usize>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let mut gru: GRU<IN, H, T> = Zeroable::zeroed();
    gru.init(&mut rng);
    let mut lstm: LSTM<IN, H, T> = Zeroable::zeroed();
    lstm.init(&mut rng);
    let batch = 3;
    let x = random(&mut rng, batch * T * IN);

    // On the heap: a large cell would overflow a test thread's stack.
    let gru_cell = GruCell::boxed(&gru);
    let lstm_cell = LstmCell::boxed(&lstm);
    if std::mem::size_of::<GruCell<IN, H>>() <= 64 * 1024 {
        assert_eq!(
            *gru_cell,
            GruCell::new(&gru),
            "GruCell::new and GruCell::boxed"
        );
    }
    let (mut gru_steps, mut lstm_steps, mut in_place) =
        (Vec::<f32>::new(), Vec::<f32>::new(), Vec::<f32>::new());
    for sample in x.chunks(T * IN) {
        let (mut g, mut l, mut p) = (
            GruState::default(),
            LstmState::default(),
            GruState::default(),
        );
        for step in sample.chunks(IN) {
            let step: &[f32; IN] = step.try_into().unwrap();
            gru_steps.extend(gru_cell.step(step, &mut g));
            lstm_steps.extend(lstm_cell.step(step, &mut l));
            in_place.extend(gru.step(step, &mut p));
        }
    }
    assert_eq!(in_place, gru_steps, "GRU::step and GruCell::step");

    let mut one = vec![0.0; batch * T * H];
    for (x, y) in x.chunks(T * IN).zip(one.chunks_mut(T * H)) {
        gru.forward(x, y);
    }
    assert_eq!(one, gru_steps, "GRU: forward and steps");
    for (x, y) in x.chunks(T * IN).zip(one.chunks_mut(T * H)) {
        lstm.forward(x, y);
    }
    assert_eq!(one, lstm_steps, "LSTM: forward and steps");

    for (cache, what) in [(true, "batch"), (false, "batch without a cache")] {
        let mut y = vec![0.0; batch * T * H];
        let mut c = vec![
            0.0;
            if cache {
                GRU::<IN, H, T>::cache_len(batch)
            } else {
                0
            }
        ];
        gru.forward_batch(&x, &mut y, batch, &mut c);
        assert_eq!(y, gru_steps, "GRU {what}");
        let mut c = vec![
            0.0;
            if cache {
                LSTM::<IN, H, T>::cache_len(batch)
            } else {
                0
            }
        ];
        lstm.forward_batch(&x, &mut y, batch, &mut c);
        assert_eq!(y, lstm_steps, "LSTM {what}");
    }

    let mut y = vec![0.0; batch * T * H];
    let mut c = vec![0.0; GRU::<IN, H, T>::cache_len(batch)];
    gru.clone()
        .forward_train(&x, &mut y, batch, &mut c)
        .unwrap();
    assert_eq!(y, gru_steps, "GRU training pass");
    let mut c = vec![0.0; LSTM::<IN, H, T>::cache_len(batch)];
    lstm.clone()
        .forward_train(&x, &mut y, batch, &mut c)
        .unwrap();
    assert_eq!(y, lstm_steps, "LSTM training pass");

    // A whole sample through a cell from a zero state, in one call.
    let mut state = GruState::default();
    let mut y = vec![0.0; T * H];
    gru_cell.forward_sequence(&x[..T * IN], &mut state, &mut y);
    assert_eq!(y, gru_steps[..T * H], "GruCell::forward_sequence");
    assert_eq!(
        state.h,
        gru_steps[(T - 1) * H..T * H],
        "GruState after the sequence"
    );
}

#[test]
fn a_sequence_equals_its_steps_bit_for_bit() {
    passes_agree::<1, 8, 20>(5);
    passes_agree::<3, 5, 4>(6);
    // Products of 8 to 16 inputs in two parts: 12 inputs as 6 and 6, 13 units as 6 and 7.
    passes_agree::<12, 13, 5>(12);
    passes_agree::<7, 33, 9>(7);
    passes_agree::<28, 64, 28>(8);
    // Weights beyond a first-level cache, run sixteen units at a time, and six more.
    passes_agree::<1, 70, 6>(11);
}

/// A layer whose cell is larger than a one-sample pass puts on the stack reads its weights
/// in place instead, with the same bits.
#[test]
fn a_large_layer_equals_its_steps_bit_for_bit() {
    assert!(std::mem::size_of::<GruCell<2, 160>>() > 128 * 1024);
    // The layers themselves (300 KiB and more) and their copies live on this thread's stack,
    // which an unoptimised build's copies would overflow at the test harness's 2 MiB.
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(|| passes_agree::<2, 160, 3>(9))
        .unwrap()
        .join()
        .unwrap();
}

/// A stream continues where it stopped: two halves with the state carried between them give
/// the whole.
#[test]
fn a_stream_resumes_from_its_state() {
    let mut rng = Rng::seed(10);
    let mut lstm: LSTM<2, 12, 40> = Zeroable::zeroed();
    lstm.init(&mut rng);
    let cell = lstm.cell();
    let x = random(&mut rng, 80);
    let mut whole = LstmState::default();
    let mut y_whole = vec![0.0; 40 * 12];
    cell.forward_sequence(&x, &mut whole, &mut y_whole);
    let mut split = LstmState::default();
    let mut y = vec![0.0; 40 * 12];
    let (first, second) = y.split_at_mut(17 * 12);
    cell.forward_sequence(&x[..34], &mut split, first);
    cell.forward_sequence(&x[34..], &mut split, second);
    assert_eq!(y, y_whole);
    assert_eq!(split, whole);
}

/// A GRU, a tanh, an LSTM and a `Linear` stepped as a tuple, in one call, give each layer's
/// own steps' bits, and leave the states those steps leave.
#[test]
fn a_tuple_of_cells_steps_as_its_cells_do() {
    let mut rng = Rng::seed(11);
    let mut gru: GRU<3, 8, 30> = Zeroable::zeroed();
    gru.init(&mut rng);
    let mut lstm: LSTM<8, 40, 30> = Zeroable::zeroed();
    lstm.init(&mut rng);
    // 40 inputs and 6 outputs: two blocks of 16 inputs and the rest, 4 rows and the rest.
    let mut head: nn::Linear<40, 6> = Zeroable::zeroed();
    head.init(&mut rng);
    let stack = (gru.cell(), nn::Tanh::<8>::default(), lstm.cell(), &head);
    let mut state: (GruState<8>, (), LstmState<40>, ()) = Default::default();
    let (mut g, mut l) = (GruState::default(), LstmState::default());
    let x = random(&mut rng, 30 * 3);
    for (t, x) in x.chunks(3).enumerate() {
        let x: &[f32; 3] = x.try_into().unwrap();
        let h = stack.0.step(x, &mut g);
        let mut a = [0.0; 8];
        nn::Tanh::<8>::default().forward(h, &mut a);
        let mut want = [0.0; 6];
        head.forward(stack.2.step(&a, &mut l), &mut want);
        let got = stack.step(x, &mut state);
        assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits), "step {t}");
    }
    assert_eq!((state.0, state.2), (g, l));
}

#[test]
#[should_panic(expected = "the index at position 2 is 20, which is not a whole number in 0..20")]
fn an_index_out_of_range_is_refused() {
    let net = Tokens::new(0);
    net.forward(&[1.0, 2.0, 20.0, 0.0, 0.0, 0.0]);
}

#[test]
#[should_panic(expected = "the index at position 0 is 1.5")]
fn a_fractional_index_is_refused() {
    let net = Tokens::new(0);
    net.forward(&[1.5, 2.0, 3.0, 0.0, 0.0, 0.0]);
}
