//! Checkpoint and resume: training stopped after k steps, its state saved to a real file,
//! then loaded by new objects (network, optimizer, schedule, data loader, as a new process
//! builds them) and resumed, ends with weights bit-identical to a run never stopped.

mod common;
use common::scratch::scratch;

use std::path::PathBuf;

use nn::data::{DataLoader, Dataset};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, ExponentialLr, LinearLr, LrSchedule, OneCycleLr, Optimizer, RmsProp, Sgd};
use nn::{Buffer, Gradients, Network, StateDict, StateError, Tape};

// The dropout draws a new mask each step: a resumed run must draw the masks an
// uninterrupted one draws, so the checkpoint keeps its stream.
nn::network! { struct Mlp<fc1: Linear<4, 8>, act: ReLU, drop: Dropout<0.2>, bn: BatchNorm<8>, fc2: Linear<8, 3>> }

/// 23 samples: batches of 5 leave a last batch of 3, so epochs and batches do not align.
fn dataset() -> Dataset<4, usize> {
    let x: Vec<[f32; 4]> = (0..23)
        .map(|i| {
            let t = i as f32;
            [
                (t * 0.7).sin(),
                (t * 1.3).cos(),
                t / 23.0 - 0.5,
                (t * 0.3).sin() * 2.0,
            ]
        })
        .collect();
    let y: Vec<usize> = (0..23).map(|i| (i * 7) % 3).collect();
    Dataset::new(x, y).unwrap()
}

/// What to do with a checkpoint during a run.
enum Ckpt<'a> {
    None,
    /// Save to the file after this many steps and stop.
    SaveAfter(u64, &'a PathBuf),
    /// Start from the file.
    ResumeFrom(&'a PathBuf),
}

/// Trains for `total` steps (or until the checkpoint is saved) and returns the network.
fn run<O: Optimizer, S: LrSchedule>(
    make: &dyn Fn() -> (O, S),
    total: u64,
    ckpt: Ckpt<'_>,
) -> Box<Mlp> {
    // Everything built afresh, as a new process would.
    let mut net = Mlp::new(7);
    let (mut opt, mut sched) = make();
    let mut loader = DataLoader::new(dataset(), 5, 11).unwrap();
    let (mut tape, mut grads) = (Tape::new(), Gradients::new());
    let mut step = 0;
    if let Ckpt::ResumeFrom(path) = ckpt {
        let state = nn::io::load_state(path).unwrap();
        state.load_network(&mut *net).unwrap();
        opt.load_state(&*net, &state).unwrap();
        sched.load_state(&state).unwrap();
        loader.load_state(&state).unwrap();
        step = state.count("step").unwrap();
    }
    while step < total {
        let Some((x, y)) = loader.next_batch() else {
            continue; // the end of an epoch
        };
        sched.apply(&mut opt);
        opt.zero_grad(&mut grads);
        net.forward_train(&x, &mut tape).unwrap();
        tape.loss(&CrossEntropyLoss::default(), &y);
        net.backward(&x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
        sched.step();
        step += 1;
        if let Ckpt::SaveAfter(k, path) = ckpt {
            if step == k {
                let mut state = StateDict::new();
                state.add_network(&*net);
                opt.save_state(&*net, &mut state);
                sched.save_state(&mut state);
                loader.save_state(&mut state);
                state.insert_i64("step", step as i64);
                nn::io::save_state(&state, path).unwrap();
                break;
            }
        }
    }
    net
}

/// Every tensor of the state dict, parameters and buffers, as bits.
fn bits(net: &Mlp) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    net.named_state(&mut |module, name, _, value| {
        let v = match value {
            Buffer::F32(v) => v.iter().map(|x| x.to_bits() as u64).collect(),
            Buffer::Count(c) => vec![c],
        };
        out.push((format!("{module}.{name}"), v));
    });
    out
}

/// Stops after `k` of `total` steps, resumes, and compares with an uninterrupted run.
fn resumes_bit_identically<O: Optimizer, S: LrSchedule>(
    name: &str,
    make: &dyn Fn() -> (O, S),
    k: u64,
    total: u64,
) -> StateDict {
    let path = scratch(name).join("checkpoint.safetensors");
    let straight = run(make, total, Ckpt::None);
    run(make, total, Ckpt::SaveAfter(k, &path));
    let resumed = run(make, total, Ckpt::ResumeFrom(&path));
    let state = nn::io::load_state(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (a, b) = (bits(&straight), bits(&resumed));
    assert_eq!(a.len(), b.len());
    for ((key, a), (_, b)) in a.iter().zip(&b) {
        assert_eq!(a, b, "{name}: `{key}` differs after resuming at step {k}");
    }
    // The run changed the weights: the comparison is not of two initial states.
    assert_ne!(bits(&Mlp::new(7)), a, "{name}");
    state
}

#[test]
fn sgd_momentum_with_one_cycle_resumes_bit_identically() {
    let make = || {
        (
            Sgd::new(0.1).momentum(0.9).nesterov(true),
            OneCycleLr::new(0.2, 20),
        )
    };
    // Step 7 is the third batch of the second epoch.
    let state = resumes_bit_identically("sgd", &make, 7, 20);
    let keys: Vec<&str> = state.iter().map(|(k, _)| k).collect();
    for key in [
        "fc1.weight",
        "bn.running_mean",
        "bn.num_batches_tracked",
        "fc1.weight.momentum_buffer",
        "fc2.bias.momentum_buffer",
        "optimizer.lr",
        "optimizer.momentum",
        "scheduler.last_epoch",
        "loader.order",
        "loader.rng",
        "loader.position",
        "step",
    ] {
        assert!(keys.contains(&key), "no `{key}` in {keys:?}");
    }
    assert_eq!(state.i64("loader.position").unwrap(), 2);
    assert_eq!(state.i64("scheduler.last_epoch").unwrap(), 7);
}

#[test]
fn adam_with_warmup_resumes_bit_identically() {
    let make = || {
        (
            Adam::new(0.01),
            LinearLr::new(0.01).start_factor(0.1).total_iters(6),
        )
    };
    // Step 10 ends the second epoch exactly: the checkpoint lies between epochs.
    let state = resumes_bit_identically("adam", &make, 10, 17);
    assert_eq!(state.i64("optimizer.step").unwrap(), 10);
    assert_eq!(
        state.f32s("fc2.weight.exp_avg_sq", &[3, 8]).unwrap().len(),
        24
    );
    assert!(state.get("fc1.bias.exp_avg").is_some());
    // Mid-epoch too, and AdamW.
    let make = || {
        (
            Adam::adamw(0.01),
            LinearLr::new(0.01).start_factor(0.1).total_iters(6),
        )
    };
    resumes_bit_identically("adamw", &make, 3, 12);
}

#[test]
fn rmsprop_with_exponential_decay_resumes_bit_identically() {
    let make = || {
        let opt = RmsProp::new(0.01).momentum(0.5).centered(true);
        (opt, ExponentialLr::new(0.01, 0.9))
    };
    let state = resumes_bit_identically("rmsprop", &make, 8, 14);
    for key in [
        "fc1.weight.square_avg",
        "fc1.weight.grad_avg",
        "fc1.weight.momentum_buffer",
    ] {
        assert!(state.get(key).is_some(), "no `{key}`");
    }
}

#[test]
fn resuming_without_the_optimizer_state_does_not_match() {
    // The bit-identical checks above can fail: dropping the momentum buffers changes the
    // weights.
    let path = scratch("sgd-dropped").join("checkpoint.safetensors");
    let make = || (Sgd::new(0.1).momentum(0.9), OneCycleLr::new(0.2, 20));
    let straight = run(&make, 20, Ckpt::None);
    run(&make, 20, Ckpt::SaveAfter(7, &path));
    let state = nn::io::load_state(&path).unwrap();
    let mut trimmed = StateDict::new();
    for (key, t) in state
        .iter()
        .filter(|(k, _)| !k.ends_with("momentum_buffer"))
    {
        trimmed.insert(key, t.clone());
    }
    nn::io::save_state(&trimmed, &path).unwrap();
    let resumed = run(&make, 20, Ckpt::ResumeFrom(&path));
    std::fs::remove_file(&path).unwrap();
    assert_ne!(bits(&straight), bits(&resumed));
}

#[test]
fn errors_name_the_file_and_the_tensor_and_change_nothing() {
    let path = scratch("errors").join("checkpoint.safetensors");
    let make = || (Adam::new(0.01), LinearLr::new(0.01));
    run(&make, 10, Ckpt::SaveAfter(4, &path));
    let state = nn::io::load_state(&path).unwrap();

    // A loader with another batch size.
    let mut loader = DataLoader::new(dataset(), 4, 11).unwrap();
    let before = loader.dataset().clone();
    let err = loader.load_state(&state).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains("`loader.batch_size` is 5, but this loader's is 4"),
        "{msg}"
    );
    assert_eq!(loader.dataset(), &before);

    // A tensor missing: the optimizer is left as it was.
    let mut trimmed = StateDict::with_origin(state.origin());
    for (key, t) in state.iter().filter(|(k, _)| *k != "fc2.bias.exp_avg") {
        trimmed.insert(key, t.clone());
    }
    let net = Mlp::new(0);
    let mut opt = Adam::new(0.5);
    let err = opt.load_state(&*net, &trimmed).unwrap_err();
    assert!(
        matches!(&err, StateError::Missing { tensor, .. } if tensor == "fc2.bias.exp_avg"),
        "{err}"
    );
    assert_eq!(opt.lr, 0.5);

    // A shape from another network.
    nn::network! { struct Wider<fc1: Linear<4, 9>, act: ReLU, bn: BatchNorm<9>, fc2: Linear<9, 3>> }
    let mut wider = Wider::new(0);
    let err = state.load_network(&mut *wider).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: tensor `fc1.weight` has shape [8, 4], but [9, 4] is needed",
            path.display()
        )
    );
    std::fs::remove_file(&path).unwrap();

    // A file that is not there: the I/O error names it.
    let err = nn::io::load_state(&path).unwrap_err();
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn loader_resumes_mid_epoch_with_the_same_batches() {
    let mut a = DataLoader::new(dataset(), 5, 3).unwrap();
    let mut seen = Vec::new();
    for _ in 0..8 {
        if let Some((_, y)) = a.next_batch() {
            seen.push(y);
        }
    }
    let mut state = StateDict::new();
    a.save_state(&mut state);
    let mut b = DataLoader::new(dataset(), 5, 3).unwrap();
    b.load_state(&state).unwrap();
    for _ in 0..12 {
        assert_eq!(a.next_batch(), b.next_batch());
    }
    assert_eq!(a.epochs(), b.epochs());
}
