//! Optimizers with `torch.optim`'s exact update rules, and learning-rate schedules.
//! Their state lives here, outside the model.

/// Builder methods that set one setting each, `pub fn eps(mut self, eps: f32) -> Self`, with
/// the documentation given.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, $name: $ty) -> Self {
            self.$name = $name;
            self
        }
    )*};
}

mod adadelta;
mod adagrad;
mod adam;
mod clip;
mod one_cycle;
mod plateau;
mod rmsprop;
mod schedule;
mod sgd;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use one_cycle::{Anneal, OneCycleLr};
pub use plateau::ReduceLrOnPlateau;
pub use rmsprop::RmsProp;
pub use schedule::{CosineAnnealingLr, ExponentialLr, LinearLr, LrSchedule, StepLr};
pub use sgd::Sgd;

use alloc::format;
use alloc::vec::Vec;

use crate::train::named_param_ranges;
use crate::{Gradients, Network, SettingError, StateDict, StateError};

/// An optimizer: `step` moves every parameter of a network using its gradient.
///
/// Builder methods set one value each and check nothing, so they may come in any order;
/// the settings are checked together by the optimizer's `check()`, which `step` calls
/// first (PyTorch checks when the optimizer is built; a chain of builder calls has no end
/// to check at, so here the one defined point is `check()`, and `step` at the latest).
pub trait Optimizer {
    /// One update of every parameter of `net` from `grads`.
    ///
    /// # Panics
    /// If a setting is invalid (see the optimizer's `check()`), with the
    /// [`SettingError`]'s message, before any parameter changes.
    fn step<N: Network>(&mut self, net: &mut N, grads: &Gradients<N>);
    /// The learning rate now.
    fn lr(&self) -> f32;
    /// Sets the learning rate (what a schedule does between epochs).
    fn set_lr(&mut self, lr: f32);
    /// The momentum a schedule may cycle ([`OneCycleLr`]): SGD's and RMSprop's
    /// `momentum`, Adam's β1; `None` for an optimizer without one.
    fn momentum(&self) -> Option<f32> {
        None
    }
    /// Sets the momentum that [`Optimizer::momentum`] returns; does nothing for an
    /// optimizer without one.
    fn set_momentum(&mut self, momentum: f32) {
        let _ = momentum;
    }
    /// Adds the optimizer's state to `into`, PyTorch's `optimizer.state_dict()`: each
    /// per-parameter buffer named after its parameter in `net`
    /// (`fc1.weight.momentum_buffer`, `fc1.weight.exp_avg`), and the scalars
    /// `optimizer.step` (where the update depends on it), `optimizer.lr` and
    /// `optimizer.momentum` (where there is one). Buffers not yet allocated (before the
    /// first step) are left out. See [`StateDict`] for an example.
    fn save_state<N: Network>(&self, net: &N, into: &mut StateDict);
    /// Restores what [`Optimizer::save_state`] wrote, for the same network type. Every
    /// tensor is checked before anything changes; the settings other than the learning
    /// rate and momentum stay as built.
    fn load_state<N: Network>(&mut self, net: &N, from: &StateDict) -> Result<(), StateError>;
    /// Zeroes `grads`: PyTorch's `optimizer.zero_grad()`.
    fn zero_grad<N: Network>(&self, grads: &mut Gradients<N>) {
        grads.zero();
    }
}

/// The gradient with L2 weight decay, `g + weight_decay · p`, and `g` itself without it:
/// not `g + 0 · p`, which is NaN for an infinite parameter that PyTorch, leaving the term
/// out, keeps infinite.
#[inline(always)]
fn decayed(g: f32, p: f32, weight_decay: f32) -> f32 {
    if weight_decay == 0.0 {
        g
    } else {
        g + weight_decay * p
    }
}

/// Visits each parameter tensor of `net` with its gradient and its range in the flat
/// parameter order, the range of its slice in every per-parameter state vector (each as
/// long as all parameters together).
fn params_with_grads<N: Network>(
    net: &mut N,
    grads: &Gradients<N>,
    mut f: impl FnMut(&mut [f32], &[f32], core::ops::Range<usize>),
) {
    let grads = grads.as_slice();
    let mut offset = 0;
    net.walk_params_mut(&mut |p| {
        let range = offset..offset + p.len();
        offset = range.end;
        f(p, &grads[range.clone()], range);
    });
}

/// Saves a per-parameter buffer as `{key}.{name}` for each parameter of `net`.
fn save_buffer<N: Network>(net: &N, into: &mut StateDict, name: &str, flat: &[f32]) {
    named_param_ranges(net, flat.len(), |key, shape, range| {
        into.insert_f32(format!("{key}.{name}"), shape, &flat[range]);
    });
}

/// Reads the buffer [`save_buffer`] wrote: `None` when no parameter's is there (saved
/// before the buffer existed), all of them when every one is, and an error naming the
/// first one missing when only some are: state half restored would train on from zeros
/// where it should not.
fn load_buffer<N: Network>(
    net: &N,
    from: &StateDict,
    name: &str,
) -> Result<Option<Vec<f32>>, StateError> {
    let mut out = alloc::vec![0.0; N::PARAMS];
    let (mut present, mut missing) = (false, None);
    let mut result = Ok(());
    named_param_ranges(net, N::PARAMS, |key, shape, range| {
        let key = format!("{key}.{name}");
        if result.is_err() {
            return;
        }
        if from.get(&key).is_none() {
            missing.get_or_insert(key);
            return;
        }
        match from.f32s(&key, shape) {
            Ok(v) => out[range].copy_from_slice(v),
            Err(e) => result = Err(e),
        }
        present = true;
    });
    result?;
    match (present, missing) {
        (false, _) => Ok(None),
        (true, None) => Ok(Some(out)),
        (true, Some(tensor)) => Err(StateError::Missing {
            origin: from.origin().into(),
            tensor,
        }),
    }
}

/// Saves `optimizer.lr`, and `optimizer.momentum` where there is one.
fn save_settings<O: Optimizer + ?Sized>(opt: &O, into: &mut StateDict) {
    into.insert_f32("optimizer.lr", &[], &[opt.lr()]);
    if let Some(m) = opt.momentum() {
        into.insert_f32("optimizer.momentum", &[], &[m]);
    }
}

/// Reads what [`save_settings`] wrote, to be applied with [`apply_settings`] once every
/// other tensor has been checked too. The values are checked with the optimizer's own
/// `check` as it would run with them, so that a file's NaN or negative learning rate, or
/// a momentum its other settings forbid, is refused here, naming the tensor, rather than
/// at the next step. A setting the file does not hold (a builder's weight decay) is left
/// to `check` at the step.
fn load_settings<O: Optimizer + ?Sized>(
    opt: &mut O,
    from: &StateDict,
    check: fn(&O) -> Result<(), SettingError>,
) -> Result<(f32, Option<f32>), StateError> {
    let lr = from.f32("optimizer.lr")?;
    let momentum = match opt.momentum() {
        Some(_) => Some(from.f32("optimizer.momentum")?),
        None => None,
    };
    let built = (opt.lr(), opt.momentum());
    apply_settings(opt, (lr, momentum));
    let verdict = check(opt);
    apply_settings(opt, built);
    let Err(e) = verdict else {
        return Ok((lr, momentum));
    };
    let tensor = match e {
        SettingError::OutOfRange { setting: "lr", .. } => "optimizer.lr",
        SettingError::OutOfRange {
            setting: "momentum" | "betas.0",
            ..
        }
        | SettingError::Nesterov { .. } => "optimizer.momentum",
        _ => return Ok((lr, momentum)),
    };
    Err(from.invalid(tensor, format!("is refused: {e}")))
}

fn apply_settings<O: Optimizer + ?Sized>(opt: &mut O, (lr, momentum): (f32, Option<f32>)) {
    opt.set_lr(lr);
    if let Some(m) = momentum {
        opt.set_momentum(m);
    }
}

/// Panics with `check`'s error: the one place a step refuses its settings.
fn checked(check: Result<(), SettingError>) {
    if let Err(e) = check {
        panic!("{e}");
    }
}
