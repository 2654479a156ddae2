//! `torch.optim.Adadelta`.

use alloc::vec::Vec;

use super::{
    apply_settings, checked, decayed, load_buffer, load_settings, params_with_grads, save_buffer,
    save_settings, Optimizer,
};
use crate::error::Range;
use crate::{Gradients, Network, SettingError, StateDict, StateError};

/// `torch.optim.Adadelta`, with PyTorch's update rule (`sq` and `acc` start at 0):
///
/// ```text
/// g ← g + weight_decay · p
/// sq ← ρ sq + (1 − ρ) g²
/// δ ← √(acc + eps) / √(sq + eps) · g
/// acc ← ρ acc + (1 − ρ) δ²
/// p ← p − lr · δ
/// ```
///
/// ```
/// use nn::optim::Adadelta;
/// let opt = Adadelta::new(1.0);
/// assert_eq!((opt.rho, opt.eps), (0.9, 1e-6)); // PyTorch's defaults
/// assert!(Adadelta::new(1.0).rho(1.5).check().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Adadelta {
    /// Learning rate, scaling the step (PyTorch's default 1).
    pub lr: f32,
    /// Smoothing constant ρ of both running means (0.9).
    pub rho: f32,
    /// Added inside both square roots (1e-6).
    pub eps: f32,
    /// L2 penalty (0).
    pub weight_decay: f32,
    pub(super) step: u64,
    /// The running means of squared gradients and of squared updates.
    pub(super) state: Option<(Vec<f32>, Vec<f32>)>,
}

impl Adadelta {
    /// `torch.optim.Adadelta(params, lr)` with PyTorch's defaults.
    pub fn new(lr: f32) -> Self {
        Adadelta {
            lr,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
            step: 0,
            state: None,
        }
    }
    setters! {
        /// Sets ρ.
        rho: f32;
        /// Sets eps.
        eps: f32;
        /// Sets the weight decay (L2 penalty).
        weight_decay: f32;
    }

    /// Checks the settings together, as `torch.optim.Adadelta` does when built: the
    /// learning rate, eps and weight decay are at least 0 and ρ is in `[0, 1]`; NaN is
    /// refused everywhere. [`Optimizer::step`] calls it first and panics with its message.
    pub fn check(&self) -> Result<(), SettingError> {
        SettingError::check_all(
            "Adadelta",
            &[
                ("lr", self.lr, Range::AtLeast0),
                ("rho", self.rho, Range::Closed01),
                ("eps", self.eps, Range::AtLeast0),
                ("weight_decay", self.weight_decay, Range::AtLeast0),
            ],
        )
    }
}

impl Optimizer for Adadelta {
    fn step<N: Network>(&mut self, net: &mut N, grads: &Gradients<N>) {
        checked(self.check());
        self.step += 1;
        let Adadelta {
            lr,
            rho,
            eps,
            weight_decay,
            ..
        } = *self;
        let (sq, acc) = self
            .state
            .get_or_insert_with(|| (alloc::vec![0.0; N::PARAMS], alloc::vec![0.0; N::PARAMS]));
        params_with_grads(net, grads, |p, g, r| {
            let rows = p.iter_mut().zip(g).zip(&mut sq[r.clone()]).zip(&mut acc[r]);
            for (((p, g), sq), acc) in rows {
                let g = decayed(*g, *p, weight_decay);
                *sq = *sq * rho + (1.0 - rho) * g * g;
                let std = libm::sqrtf(*sq + eps);
                let delta = libm::sqrtf(*acc + eps) / std * g;
                *acc = *acc * rho + (1.0 - rho) * delta * delta;
                *p += -lr * delta;
            }
        });
    }
    fn save_state<N: Network>(&self, net: &N, into: &mut StateDict) {
        save_settings(self, into);
        into.insert_i64(
            "optimizer.step",
            i64::try_from(self.step).unwrap_or(i64::MAX),
        );
        if let Some((sq, acc)) = &self.state {
            save_buffer(net, into, "square_avg", sq);
            save_buffer(net, into, "acc_delta", acc);
        }
    }
    fn load_state<N: Network>(&mut self, net: &N, from: &StateDict) -> Result<(), StateError> {
        let settings = load_settings(self, from, Adadelta::check)?;
        let step = from.count("optimizer.step")?;
        let state = match (
            load_buffer(net, from, "square_avg")?,
            load_buffer(net, from, "acc_delta")?,
        ) {
            (Some(sq), Some(acc)) => Some((sq, acc)),
            (None, None) => None,
            _ => return Err(from.invalid("acc_delta", "and square_avg must be saved together")),
        };
        self.step = step;
        self.state = state;
        apply_settings(self, settings);
        Ok(())
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }
}
