//! Checkpoints as an attacker or a bug writes them: each is refused at `load_state`, or at
//! an object's `load_state`, with an error naming the file and the tensor, and nothing
//! loaded is left to panic at the next step.

use std::path::{Path, PathBuf};

use nn::io::WeightsError;
use nn::optim::{Adam, Optimizer, ReduceLrOnPlateau, RmsProp, Sgd};
use nn::{Gradients, StateDict, StateError};

nn::network! { struct Net<fc1: Linear<3, 4>, act: ReLU, fc2: Linear<4, 2>> }

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "nn-crafted-{}-{name}.safetensors",
        std::process::id()
    ))
}

/// `state` saved to a file of its own and read back, as a checkpoint from disk.
fn through_file(name: &str, state: &StateDict) -> (StateDict, PathBuf) {
    let path = temp(name);
    nn::io::save_state(state, &path).unwrap();
    let loaded = nn::io::load_state(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    (loaded, path)
}

/// A safetensors file of `n` empty `F32` tensors `t0`, `t1`, ...
fn empty_tensors(path: &Path, n: usize) {
    let mut header = String::from("{");
    for i in 0..n {
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            r#""t{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#
        ));
    }
    header.push('}');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// An optimizer's state after two steps of `opt` on `Net`, with the network's.
fn trained_state<O: Optimizer>(opt: &mut O) -> (Box<Net>, StateDict) {
    let mut net = Net::new(0);
    let mut grads = Gradients::<Net>::new();
    grads.as_mut_slice().fill(0.25);
    opt.step(&mut *net, &grads);
    opt.step(&mut *net, &grads);
    let mut state = StateDict::new();
    state.add_network(&*net);
    opt.save_state(&*net, &mut state);
    (net, state)
}

fn invalid_tensor(e: &StateError) -> &str {
    match e {
        StateError::Invalid { tensor, .. } | StateError::Missing { tensor, .. } => tensor,
        other => panic!("not an error about a tensor's value or presence: {other}"),
    }
}

#[test]
fn a_checkpoint_of_many_tensors_loads_and_every_one_is_found_by_name() {
    let path = temp("many");
    empty_tensors(&path, 100_000);
    let state = nn::io::load_state(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(state.len(), 100_000);
    for i in [0, 1, 49_999, 99_999] {
        assert_eq!(state.get(&format!("t{i}")).unwrap().shape, [0]);
    }
    assert!(state.get("t100000").is_none());
}

#[test]
fn a_header_of_more_tensors_than_the_limit_is_refused_while_it_is_parsed() {
    let limit = nn_safetensors::MAX_TENSORS;
    let path = temp("too-many");
    empty_tensors(&path, limit + 1);
    let err = nn::io::load_state(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(
        matches!(&err, WeightsError::TooManyTensors { path: p, limit: l } if *p == path && *l == limit),
        "{err}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // The same file less one tensor is within the limit.
    empty_tensors(&path, limit);
    assert_eq!(nn::io::load_state(&path).unwrap().len(), limit);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_nan_or_negative_learning_rate_is_refused_at_load_naming_the_file_and_tensor() {
    let (net, mut state) = trained_state(&mut Sgd::new(0.1).momentum(0.9));
    for lr in [f32::NAN, -0.5] {
        state.insert_f32("optimizer.lr", &[], &[lr]);
        let (state, path) = through_file("nan-lr", &state);
        let mut opt = Sgd::new(0.1).momentum(0.9);
        let err = opt.load_state(&*net, &state).unwrap_err();
        assert_eq!(invalid_tensor(&err), "optimizer.lr", "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(opt.lr, 0.1, "a refused load changes nothing");
        assert!(opt.check().is_ok());
    }
}

#[test]
fn nesterov_with_a_loaded_momentum_of_zero_is_refused_at_load() {
    let (net, mut state) = trained_state(&mut Sgd::new(0.1).momentum(0.9).nesterov(true));
    state.insert_f32("optimizer.momentum", &[], &[0.0]);
    let (state, _) = through_file("nesterov", &state);
    let mut opt = Sgd::new(0.1).momentum(0.9).nesterov(true);
    let err = opt.load_state(&*net, &state).unwrap_err();
    assert_eq!(invalid_tensor(&err), "optimizer.momentum", "{err}");
    assert!(err.to_string().contains("nesterov"), "{err}");
    assert_eq!(opt.momentum, 0.9);
}

#[test]
fn adam_with_a_beta1_past_one_is_refused_at_load() {
    let (net, mut state) = trained_state(&mut Adam::new(1e-3));
    state.insert_f32("optimizer.momentum", &[], &[1.5]);
    let (state, _) = through_file("beta1", &state);
    let mut opt = Adam::new(1e-3);
    let err = opt.load_state(&*net, &state).unwrap_err();
    assert_eq!(invalid_tensor(&err), "optimizer.momentum", "{err}");
    assert!(err.to_string().contains("betas.0"), "{err}");
    assert_eq!(opt.betas, (0.9, 0.999));
}

#[test]
fn adam_refuses_a_step_count_whose_next_step_overflows() {
    let (net, mut state) = trained_state(&mut Adam::new(1e-3));
    state.insert_i64("optimizer.step", u32::MAX.into());
    let mut opt = Adam::new(1e-3);
    let err = opt.load_state(&*net, &state).unwrap_err();
    assert_eq!(invalid_tensor(&err), "optimizer.step", "{err}");
    // One step fewer loads, and the step after it keeps every parameter finite.
    state.insert_i64("optimizer.step", (u32::MAX - 1).into());
    opt.load_state(&*net, &state).unwrap();
    let mut net = net;
    let mut grads = Gradients::<Net>::new();
    grads.as_mut_slice().fill(0.25);
    opt.step(&mut *net, &grads);
    assert!(net.fc1.weight.as_flattened().iter().all(|w| w.is_finite()));
}

#[test]
fn a_nan_plateau_learning_rate_is_refused_at_load() {
    let mut plateau = ReduceLrOnPlateau::new(0.1);
    plateau.step(1.0);
    for (key, bad) in [
        ("scheduler.lr", f64::NAN),
        ("scheduler.lr", -1.0),
        ("scheduler.best", f64::NAN),
    ] {
        let mut state = StateDict::new();
        plateau.save_state(&mut state);
        state.insert_f64(key, bad);
        let (state, path) = through_file("plateau", &state);
        let mut loaded = ReduceLrOnPlateau::new(0.1);
        let err = loaded.load_state(&state).unwrap_err();
        assert_eq!(invalid_tensor(&err), key, "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!((loaded.lr(), loaded.steps()), (0.1, 0));
    }
}

#[test]
fn a_momentum_buffer_missing_among_present_ones_is_an_error_naming_it() {
    let (net, full) = trained_state(&mut Sgd::new(0.1).momentum(0.9));
    // The first parameter's buffer gone, the others there: all or none, never some.
    let mut state = StateDict::new();
    for (key, t) in full.iter() {
        if key != "fc1.weight.momentum_buffer" {
            state.insert(key, t.clone());
        }
    }
    let mut opt = Sgd::new(0.1).momentum(0.9);
    let err = opt.load_state(&*net, &state).unwrap_err();
    assert_eq!(invalid_tensor(&err), "fc1.weight.momentum_buffer", "{err}");
    assert!(matches!(err, StateError::Missing { .. }), "{err}");
    // A later one missing is named too, as before.
    let mut state = full.clone();
    let mut later = StateDict::new();
    for (key, t) in state.iter() {
        if key != "fc2.bias.momentum_buffer" {
            later.insert(key, t.clone());
        }
    }
    state = later;
    let err = opt.load_state(&*net, &state).unwrap_err();
    assert_eq!(invalid_tensor(&err), "fc2.bias.momentum_buffer", "{err}");
    // RMSprop's three buffers each follow the rule.
    let (net, full) = trained_state(&mut RmsProp::new(0.01).momentum(0.5).centered(true));
    let mut state = StateDict::new();
    for (key, t) in full.iter() {
        if key != "fc1.weight.grad_avg" {
            state.insert(key, t.clone());
        }
    }
    let err = RmsProp::new(0.01)
        .momentum(0.5)
        .centered(true)
        .load_state(&*net, &state)
        .unwrap_err();
    assert_eq!(invalid_tensor(&err), "fc1.weight.grad_avg", "{err}");
    // No buffer at all is a checkpoint saved before the first step: it loads.
    let mut before_first = StateDict::new();
    Sgd::new(0.1)
        .momentum(0.9)
        .save_state(&*net, &mut before_first);
    Sgd::new(0.1)
        .momentum(0.9)
        .load_state(&*net, &before_first)
        .unwrap();
}

#[test]
fn save_state_refuses_a_tensor_named_metadata_and_writes_nothing() {
    let path = temp("metadata");
    let mut state = StateDict::new();
    state.insert_i64("step", 3);
    state.insert_f32("__metadata__", &[1], &[1.0]);
    let err = nn::io::save_state(&state, &path).unwrap_err();
    assert!(
        matches!(&err, WeightsError::Unwritable { path: p, tensor, .. } if *p == path && tensor == "__metadata__"),
        "{err}"
    );
    assert!(!path.exists(), "nothing is written");
}
