//! The check that the `state` fuzz target (`fuzz/`) runs on random input and
//! `tests/fuzz_corpus.rs` replays on the kept corpus: any file is a checkpoint or a typed
//! error; loaded into a network, each optimizer, each schedule and a data loader, it is a
//! load or a typed error that leaves the object as it was; and an object that loaded it
//! takes its next step without a panic.

use nn::data::{DataLoader, Dataset};
use nn::optim::{
    Adadelta, Adagrad, Adam, ExponentialLr, LinearLr, LrSchedule, OneCycleLr, Optimizer,
    ReduceLrOnPlateau, RmsProp, Sgd,
};
use nn::{Gradients, StateDict};

nn::network! {
    /// Parameters and buffers (a counter among them), as a checkpoint names them.
    pub struct StateProbe { fc: Linear<2, 3>, bn: BatchNorm<3> }
}

/// `net`'s state dict, to compare before and after a load.
fn snapshot(net: &StateProbe) -> StateDict {
    let mut s = StateDict::new();
    s.add_network(net);
    s
}

/// Loads `state` into `opt`: a failed load changes nothing, a load is followed by a step.
fn optimizer<O: Optimizer + std::fmt::Debug>(mut opt: O, net: &mut StateProbe, state: &StateDict) {
    let before = format!("{opt:?}");
    if opt.load_state(net, state).is_err() {
        assert_eq!(
            format!("{opt:?}"),
            before,
            "a failed load changed the optimizer"
        );
        return;
    }
    step(opt, net);
}

/// One step of `opt` on `net`, as training would take it next.
fn step<O: Optimizer>(mut opt: O, net: &mut StateProbe) {
    let mut grads = Gradients::<StateProbe>::new();
    grads.as_mut_slice().fill(0.5);
    opt.step(net, &grads);
}

/// Loads `state` into `schedule`: a failed load changes nothing, a load is followed by a
/// step and an optimizer's step at the rate it sets.
fn schedule<S: LrSchedule + std::fmt::Debug>(
    mut schedule: S,
    net: &mut StateProbe,
    state: &StateDict,
    can_step: impl Fn(&S) -> bool,
) {
    let before = format!("{schedule:?}");
    if schedule.load_state(state).is_err() {
        assert_eq!(
            format!("{schedule:?}"),
            before,
            "a failed load changed the schedule"
        );
        return;
    }
    if can_step(&schedule) {
        schedule.step();
    }
    let mut opt = Sgd::new(0.1).momentum(0.9);
    schedule.apply(&mut opt);
    step(opt, net);
}

/// A checkpoint file: read by `load_state`, then loaded into every object that has a
/// `load_state`.
pub fn state(data: &[u8]) {
    let path = std::env::temp_dir().join(format!("nn-fuzz-state-{}", std::process::id()));
    std::fs::write(&path, data).expect("the temporary folder is writable");
    let loaded = nn::io::load_state(&path);
    let _ = std::fs::remove_file(&path);
    let Ok(state) = loaded else { return };

    let mut net = StateProbe::new(0);
    let before = snapshot(&net);
    if state.load_network(&mut *net).is_err() {
        assert_eq!(snapshot(&net), before, "a failed load changed the network");
    }
    let net = &mut *net;
    optimizer(Sgd::new(0.1), net, &state);
    optimizer(Sgd::new(0.1).momentum(0.9).nesterov(true), net, &state);
    optimizer(Sgd::new(0.1).momentum(0.9).dampening(0.1), net, &state);
    optimizer(Adam::new(1e-3), net, &state);
    optimizer(Adam::adamw(1e-3), net, &state);
    optimizer(RmsProp::new(0.01).momentum(0.5).centered(true), net, &state);
    optimizer(RmsProp::new(0.01), net, &state);
    optimizer(Adagrad::new(0.01), net, &state);
    optimizer(Adadelta::new(1.0), net, &state);

    schedule(LinearLr::new(0.1), net, &state, |_| true);
    schedule(ExponentialLr::new(0.1, 0.9), net, &state, |_| true);
    // Stepping past the cycle's end is a documented panic, as in PyTorch.
    schedule(OneCycleLr::new(0.1, 10), net, &state, |s| {
        s.steps() < s.total_steps
    });
    let mut plateau = ReduceLrOnPlateau::new(0.1);
    let before = format!("{plateau:?}");
    if plateau.load_state(&state).is_err() {
        assert_eq!(
            format!("{plateau:?}"),
            before,
            "a failed load changed the schedule"
        );
    } else {
        plateau.step(0.5);
        let mut opt = Sgd::new(0.1);
        plateau.apply(&mut opt);
        step(opt, net);
    }

    let inputs: Vec<[f32; 2]> = (0..7).map(|i| [i as f32, 1.0]).collect();
    let data = Dataset::new(inputs, (0..7).collect::<Vec<usize>>()).expect("a data set");
    let mut loader = DataLoader::new(data, 3, 0).expect("a loader");
    let before = format!("{loader:?}");
    if loader.load_state(&state).is_err() {
        assert_eq!(
            format!("{loader:?}"),
            before,
            "a failed load changed the loader"
        );
    } else {
        for _ in 0..4 {
            let _ = loader.next_batch();
        }
    }
}
