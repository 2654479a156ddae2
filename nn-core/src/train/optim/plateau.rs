//! `torch.optim.lr_scheduler.ReduceLROnPlateau`.

use alloc::format;

use super::Optimizer;
use crate::error::Range;
use crate::{SettingError, StateDict, StateError};

/// `torch.optim.lr_scheduler.ReduceLROnPlateau` in mode `min` with a relative threshold:
/// the learning rate times `factor` once the metric (a validation loss) has not improved
/// for more than `patience` steps, then `cooldown` steps of rest, never below `min_lr`.
/// A metric improves when it is below `best · (1 − threshold)`. A reduction smaller than
/// `eps` is skipped. As in PyTorch, the learning rate and the best metric are kept in
/// double precision.
///
/// PyTorch's defaults: `factor` 0.1, `patience` 10, `threshold` 1e-4, `cooldown` 0,
/// `min_lr` 0, `eps` 1e-8. PyTorch reads the rate it reduces from the optimizer; this
/// schedule keeps its own, which [`ReduceLrOnPlateau::apply`] writes into the optimizer.
///
/// ```
/// use nn::optim::{Optimizer, ReduceLrOnPlateau, Sgd};
/// let mut opt = Sgd::new(0.1);
/// let mut s = ReduceLrOnPlateau::new(0.1).patience(1);
/// for val_loss in [1.0, 0.9, 0.95, 0.95] {
///     s.step(val_loss);
///     s.apply(&mut opt);
/// }
/// assert!((opt.lr() - 0.01).abs() < 1e-9); // two steps without improving on 0.9
/// ```
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    /// The factor per reduction, below 1.
    pub factor: f32,
    /// Steps without improvement tolerated before a reduction.
    pub patience: u64,
    /// The relative improvement that counts.
    pub threshold: f32,
    /// Steps after a reduction during which no bad step is counted.
    pub cooldown: u64,
    /// The lowest learning rate.
    pub min_lr: f32,
    /// The smallest reduction made.
    pub eps: f32,
    pub(super) lr: f64,
    pub(super) best: f64,
    pub(super) num_bad_epochs: u64,
    pub(super) cooldown_counter: u64,
    pub(super) last_epoch: u64,
}

impl ReduceLrOnPlateau {
    /// `ReduceLROnPlateau(optimizer)` with PyTorch's defaults, for an optimizer whose
    /// learning rate is `lr`.
    pub fn new(lr: f32) -> Self {
        ReduceLrOnPlateau {
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            lr: lr as f64,
            best: f64::INFINITY,
            num_bad_epochs: 0,
            cooldown_counter: 0,
            last_epoch: 0,
        }
    }
    setters! {
        /// Sets the factor.
        factor: f32;
        /// Sets the patience.
        patience: u64;
        /// Sets the relative threshold.
        threshold: f32;
        /// Sets the cooldown.
        cooldown: u64;
        /// Sets the lowest learning rate.
        min_lr: f32;
        /// Sets the smallest reduction made.
        eps: f32;
    }

    /// Checks the settings as PyTorch does: the factor below 1 (and, here, above 0), the
    /// threshold, `min_lr` and `eps` at least 0.
    ///
    /// ```
    /// assert!(nn::optim::ReduceLrOnPlateau::new(0.1).factor(1.0).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), SettingError> {
        SettingError::check_all(
            "ReduceLrOnPlateau",
            &[
                ("factor", self.factor, Range::Open01),
                ("threshold", self.threshold, Range::AtLeast0),
                ("min_lr", self.min_lr, Range::AtLeast0),
                ("eps", self.eps, Range::AtLeast0),
            ],
        )
    }

    /// The learning rate now.
    pub fn lr(&self) -> f32 {
        self.lr as f32
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.last_epoch
    }

    /// Sets `opt`'s learning rate to this schedule's.
    pub fn apply<O: Optimizer>(&self, opt: &mut O) {
        opt.set_lr(self.lr());
    }

    /// Adds the schedule's state to `into`, PyTorch's `scheduler.state_dict()`:
    /// `scheduler.last_epoch`, `scheduler.num_bad_epochs`, `scheduler.cooldown_counter`
    /// (`int64`), `scheduler.best` and `scheduler.lr` (double precision, as PyTorch keeps
    /// them).
    pub fn save_state(&self, into: &mut StateDict) {
        let count = |c: u64| i64::try_from(c).unwrap_or(i64::MAX);
        into.insert_i64("scheduler.last_epoch", count(self.last_epoch));
        into.insert_i64("scheduler.num_bad_epochs", count(self.num_bad_epochs));
        into.insert_i64("scheduler.cooldown_counter", count(self.cooldown_counter));
        into.insert_f64("scheduler.best", self.best);
        into.insert_f64("scheduler.lr", self.lr);
    }

    /// Restores what [`ReduceLrOnPlateau::save_state`] wrote; on an error nothing changes.
    pub fn load_state(&mut self, from: &StateDict) -> Result<(), StateError> {
        let last_epoch = from.count("scheduler.last_epoch")?;
        let num_bad_epochs = from.count("scheduler.num_bad_epochs")?;
        let cooldown_counter = from.count("scheduler.cooldown_counter")?;
        let best = from.f64("scheduler.best")?;
        let lr = from.f64("scheduler.lr")?;
        // The rate goes to the optimizer, whose step refuses a NaN or negative one; a best
        // metric is never NaN (a NaN metric never improves on it).
        if lr.is_nan() || lr < 0.0 {
            return Err(from.invalid("scheduler.lr", format!("is {lr}, but it must be >= 0")));
        }
        if best.is_nan() {
            return Err(from.invalid("scheduler.best", "is NaN, which no metric improves on"));
        }
        *self = ReduceLrOnPlateau {
            last_epoch,
            num_bad_epochs,
            cooldown_counter,
            best,
            lr,
            ..self.clone()
        };
        Ok(())
    }

    /// One step with this step's metric: PyTorch's `scheduler.step(metric)`. A NaN
    /// metric never improves.
    ///
    /// # Panics
    /// If a setting is invalid ([`ReduceLrOnPlateau::check`]).
    pub fn step(&mut self, metric: f32) {
        if let Err(e) = self.check() {
            panic!("{e}");
        }
        let current = metric as f64;
        self.last_epoch += 1;
        if current < self.best * (1.0 - self.threshold as f64) {
            self.best = current;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            let new_lr = (self.lr * self.factor as f64).max(self.min_lr as f64);
            if self.lr - new_lr > self.eps as f64 {
                self.lr = new_lr;
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
    }
}
