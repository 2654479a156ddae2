//! `torch.optim.Adagrad`.

use alloc::vec::Vec;

use super::{
    apply_settings, checked, decayed, load_buffer, load_settings, params_with_grads, save_buffer,
    save_settings, Optimizer,
};
use crate::error::Range;
use crate::{Gradients, Network, SettingError, StateDict, StateError};

/// `torch.optim.Adagrad`, with PyTorch's update rule at step `t` (counting from 1; `sum`
/// starts at `initial_accumulator_value`):
///
/// ```text
/// g ← g + weight_decay · p
/// clr ← lr / (1 + (t − 1) · lr_decay)
/// sum ← sum + g²
/// p ← p − clr · g / (√sum + eps)
/// ```
///
/// ```
/// use nn::optim::Adagrad;
/// let opt = Adagrad::new(0.01).lr_decay(1e-3).initial_accumulator_value(0.1);
/// assert_eq!(opt.eps, 1e-10); // PyTorch's default
/// assert!(opt.check().is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad {
    /// Learning rate (PyTorch's default 0.01).
    pub lr: f32,
    /// Decay of the learning rate per step (0).
    pub lr_decay: f32,
    /// L2 penalty (0).
    pub weight_decay: f32,
    /// The value the sums of squares start from (0).
    pub initial_accumulator_value: f32,
    /// Added to the denominator (1e-10).
    pub eps: f32,
    pub(super) step: u64,
    pub(super) sum: Option<Vec<f32>>,
}

impl Adagrad {
    /// `torch.optim.Adagrad(params, lr)` with PyTorch's defaults.
    pub fn new(lr: f32) -> Self {
        Adagrad {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            step: 0,
            sum: None,
        }
    }
    setters! {
        /// Sets the learning-rate decay.
        lr_decay: f32;
        /// Sets the weight decay (L2 penalty).
        weight_decay: f32;
    }
    /// Sets the value the sums of squares start from, used at the first step.
    pub fn initial_accumulator_value(mut self, value: f32) -> Self {
        self.initial_accumulator_value = value;
        self
    }
    setters! {
        /// Sets eps.
        eps: f32;
    }

    /// Checks the settings together, as `torch.optim.Adagrad` does when built: every
    /// setting is at least 0 and none is NaN. [`Optimizer::step`] calls it first and
    /// panics with its message.
    pub fn check(&self) -> Result<(), SettingError> {
        SettingError::check_all(
            "Adagrad",
            &[
                ("lr", self.lr, Range::AtLeast0),
                ("lr_decay", self.lr_decay, Range::AtLeast0),
                ("weight_decay", self.weight_decay, Range::AtLeast0),
                (
                    "initial_accumulator_value",
                    self.initial_accumulator_value,
                    Range::AtLeast0,
                ),
                ("eps", self.eps, Range::AtLeast0),
            ],
        )
    }
}

impl Optimizer for Adagrad {
    fn step<N: Network>(&mut self, net: &mut N, grads: &Gradients<N>) {
        checked(self.check());
        self.step += 1;
        let Adagrad {
            lr,
            lr_decay,
            weight_decay,
            initial_accumulator_value,
            eps,
            step,
            ..
        } = *self;
        // PyTorch forms the step's learning rate in double precision.
        let clr = (lr as f64 / (1.0 + (step - 1) as f64 * lr_decay as f64)) as f32;
        let sum = self
            .sum
            .get_or_insert_with(|| alloc::vec![initial_accumulator_value; N::PARAMS]);
        params_with_grads(net, grads, |p, g, r| {
            for ((p, g), s) in p.iter_mut().zip(g).zip(&mut sum[r]) {
                let g = decayed(*g, *p, weight_decay);
                *s += g * g;
                let std = libm::sqrtf(*s) + eps;
                *p += -clr * g / std;
            }
        });
    }
    fn save_state<N: Network>(&self, net: &N, into: &mut StateDict) {
        save_settings(self, into);
        into.insert_i64(
            "optimizer.step",
            i64::try_from(self.step).unwrap_or(i64::MAX),
        );
        if let Some(sum) = &self.sum {
            save_buffer(net, into, "sum", sum);
        }
    }
    fn load_state<N: Network>(&mut self, net: &N, from: &StateDict) -> Result<(), StateError> {
        let settings = load_settings(self, from, Adagrad::check)?;
        let step = from.count("optimizer.step")?;
        self.sum = load_buffer(net, from, "sum")?;
        self.step = step;
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
