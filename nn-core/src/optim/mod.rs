//! Optimizers with `torch.optim`'s exact update rules, and learning-rate schedules.
//! Their state lives here, outside the model.

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

use crate::{Gradients, Network, SettingError};

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
    /// Zeroes `grads`: PyTorch's `optimizer.zero_grad()`.
    fn zero_grad<N: Network>(&self, grads: &mut Gradients<N>) {
        grads.zero();
    }
}

/// Visits each parameter tensor of `net` with its gradient and its slice of `state`
/// (each `state` vector is as long as all parameters together).
fn for_each_param<N: Network, const S: usize>(
    net: &mut N,
    grads: &Gradients<N>,
    state: [&mut [f32]; S],
    mut f: impl FnMut(&mut [f32], &[f32], [&mut [f32]; S]),
) {
    let grads = grads.as_slice();
    let mut state = state;
    let mut offset = 0;
    net.params_mut(&mut |p| {
        let range = offset..offset + p.len();
        let s = state.each_mut().map(|s| &mut s[range.clone()]);
        f(p, &grads[range.clone()], s);
        offset = range.end;
    });
}

/// Visits each parameter tensor of `net` with its gradient and its range in the flat
/// parameter order, for optimizers whose state is partly optional.
fn for_each_range<N: Network>(
    net: &mut N,
    grads: &Gradients<N>,
    mut f: impl FnMut(&mut [f32], &[f32], core::ops::Range<usize>),
) {
    let grads = grads.as_slice();
    let mut offset = 0;
    net.params_mut(&mut |p| {
        let range = offset..offset + p.len();
        offset = range.end;
        f(p, &grads[range.clone()], range);
    });
}

/// Panics with `check`'s error: the one place a step refuses its settings.
fn checked(check: Result<(), SettingError>) {
    if let Err(e) = check {
        panic!("{e}");
    }
}
