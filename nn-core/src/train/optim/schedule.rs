//! Learning-rate schedules: `torch.optim.lr_scheduler`.

use super::Optimizer;
use crate::error::Range;
use crate::{SettingError, StateDict, StateError};

/// `torch.optim.lr_scheduler.StepLR`: the learning rate times `gamma` every `step_size`
/// epochs.
///
/// ```
/// use nn::optim::StepLr;
/// let s = StepLr { base_lr: 0.1, step_size: 2, gamma: 0.5 };
/// assert_eq!([s.lr(0), s.lr(1), s.lr(2), s.lr(4)], [0.1, 0.1, 0.05, 0.025]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StepLr {
    /// The learning rate at epoch 0.
    pub base_lr: f32,
    /// Epochs between decays.
    pub step_size: u32,
    /// Factor per decay.
    pub gamma: f32,
}

impl StepLr {
    /// The learning rate for `epoch` (counting from 0).
    pub fn lr(&self, epoch: u32) -> f32 {
        self.base_lr * libm::powf(self.gamma, (epoch / self.step_size.max(1)) as f32)
    }
}

/// `torch.optim.lr_scheduler.CosineAnnealingLR` (its closed form): from `base_lr` down to
/// `eta_min` over `t_max` epochs along half a cosine.
///
/// ```
/// use nn::optim::CosineAnnealingLr;
/// let s = CosineAnnealingLr { base_lr: 1.0, t_max: 10, eta_min: 0.0 };
/// assert_eq!(s.lr(0), 1.0);
/// assert!((s.lr(5) - 0.5).abs() < 1e-6);
/// assert!(s.lr(10).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CosineAnnealingLr {
    /// The learning rate at epoch 0.
    pub base_lr: f32,
    /// Epochs to reach `eta_min`.
    pub t_max: u32,
    /// The lowest learning rate.
    pub eta_min: f32,
}

impl CosineAnnealingLr {
    /// The learning rate for `epoch` (counting from 0).
    pub fn lr(&self, epoch: u32) -> f32 {
        let phase = core::f64::consts::PI * epoch as f64 / self.t_max.max(1) as f64;
        let c = (1.0 + libm::cos(phase)) / 2.0;
        (self.eta_min as f64 + (self.base_lr - self.eta_min) as f64 * c) as f32
    }
}

/// A learning-rate schedule that moves once per step (or per epoch, as its user calls
/// it), as PyTorch's schedulers do: set the optimizer's learning rate from it, step the
/// optimizer, then step the schedule.
///
/// ```
/// use nn::optim::{LinearLr, LrSchedule, Optimizer, Sgd};
/// let mut opt = Sgd::new(0.1);
/// let mut warmup = LinearLr::new(0.1).start_factor(0.25).total_iters(3);
/// let mut lrs = Vec::new();
/// for _ in 0..5 {
///     warmup.apply(&mut opt); // PyTorch sets the optimizer's lr inside scheduler.step()
///     lrs.push(opt.lr());
///     // opt.step(&mut net, &grads);
///     warmup.step();
/// }
/// assert_eq!(lrs, [0.025, 0.05, 0.075, 0.1, 0.1]);
/// ```
pub trait LrSchedule {
    /// The learning rate for the current step.
    fn lr(&self) -> f32;
    /// Moves to the next step: PyTorch's `scheduler.step()`.
    fn step(&mut self);
    /// Steps taken so far: PyTorch's `last_epoch`.
    fn steps(&self) -> u64;
    /// Adds the schedule's position to `into` as `scheduler.last_epoch` (PyTorch's
    /// `scheduler.state_dict()`; the settings are the constructor's, not saved).
    fn save_state(&self, into: &mut StateDict) {
        into.insert_i64(
            "scheduler.last_epoch",
            i64::try_from(self.steps()).unwrap_or(i64::MAX),
        );
    }
    /// Restores what [`LrSchedule::save_state`] wrote; on an error nothing changes.
    fn load_state(&mut self, from: &StateDict) -> Result<(), StateError>;
    /// Sets `opt`'s learning rate (and, for a schedule that cycles it, its momentum) to
    /// the current step's.
    fn apply<O: Optimizer>(&self, opt: &mut O) {
        opt.set_lr(self.lr());
    }
}

/// `torch.optim.lr_scheduler.LinearLR`: warmup from `start_factor · base_lr` to
/// `end_factor · base_lr` in equal steps over `total_iters` steps, then constant:
///
/// ```text
/// lr(t) = base_lr · (start + (end − start) · min(t, total_iters) / total_iters)
/// ```
///
/// PyTorch's defaults: `start_factor` 1/3, `end_factor` 1, `total_iters` 5. Computed in
/// double precision, as PyTorch does in Python floats, and rounded once.
///
/// ```
/// use nn::optim::{LinearLr, LrSchedule};
/// let mut s = LinearLr::new(0.3);
/// assert!((s.lr() - 0.1).abs() < 1e-8);
/// for _ in 0..5 { s.step(); }
/// assert_eq!(s.lr(), 0.3);
/// ```
#[derive(Clone, Debug)]
pub struct LinearLr {
    /// The learning rate the factors scale (PyTorch takes the optimizer's).
    pub base_lr: f32,
    /// The factor at step 0, in `(0, 1]`.
    pub start_factor: f32,
    /// The factor from step `total_iters` on, in `[0, 1]`.
    pub end_factor: f32,
    /// Steps from the start factor to the end factor.
    pub total_iters: u64,
    pub(super) last_epoch: u64,
}

impl LinearLr {
    /// `LinearLR(optimizer)` with PyTorch's defaults, for an optimizer whose learning rate
    /// is `base_lr`.
    pub fn new(base_lr: f32) -> Self {
        LinearLr {
            base_lr,
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
            last_epoch: 0,
        }
    }
    /// Sets the start factor.
    pub fn start_factor(mut self, f: f32) -> Self {
        self.start_factor = f;
        self
    }
    /// Sets the end factor.
    pub fn end_factor(mut self, f: f32) -> Self {
        self.end_factor = f;
        self
    }
    /// Sets the steps of the ramp.
    pub fn total_iters(mut self, n: u64) -> Self {
        self.total_iters = n;
        self
    }
    /// Checks the factors as PyTorch does: the start factor in `(0, 1]`, the end factor
    /// in `[0, 1]`.
    ///
    /// ```
    /// assert!(nn::optim::LinearLr::new(0.1).start_factor(0.0).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), SettingError> {
        SettingError::check_all(
            "LinearLr",
            &[
                ("start_factor", self.start_factor, Range::OpenClosed01),
                ("end_factor", self.end_factor, Range::Closed01),
            ],
        )
    }
}

impl LrSchedule for LinearLr {
    fn load_state(&mut self, from: &StateDict) -> Result<(), StateError> {
        self.last_epoch = from.count("scheduler.last_epoch")?;
        Ok(())
    }
    fn lr(&self) -> f32 {
        let (start, end) = (self.start_factor as f64, self.end_factor as f64);
        let done = if self.total_iters == 0 {
            1.0
        } else {
            self.last_epoch.min(self.total_iters) as f64 / self.total_iters as f64
        };
        (self.base_lr as f64 * (start + (end - start) * done)) as f32
    }
    fn step(&mut self) {
        self.last_epoch += 1;
    }
    fn steps(&self) -> u64 {
        self.last_epoch
    }
}

/// `torch.optim.lr_scheduler.ExponentialLR`: the learning rate times `gamma` at every
/// step, `lr(t) = base_lr · gammaᵗ`, in double precision.
///
/// ```
/// use nn::optim::{ExponentialLr, LrSchedule};
/// let mut s = ExponentialLr::new(1.0, 0.5);
/// s.step();
/// s.step();
/// assert_eq!(s.lr(), 0.25);
/// ```
#[derive(Clone, Debug)]
pub struct ExponentialLr {
    /// The learning rate at step 0.
    pub base_lr: f32,
    /// The factor per step.
    pub gamma: f32,
    pub(super) last_epoch: u64,
}

impl ExponentialLr {
    /// `ExponentialLR(optimizer, gamma)` for an optimizer whose learning rate is `base_lr`.
    pub fn new(base_lr: f32, gamma: f32) -> Self {
        ExponentialLr {
            base_lr,
            gamma,
            last_epoch: 0,
        }
    }
}

impl LrSchedule for ExponentialLr {
    fn load_state(&mut self, from: &StateDict) -> Result<(), StateError> {
        self.last_epoch = from.count("scheduler.last_epoch")?;
        Ok(())
    }
    fn lr(&self) -> f32 {
        // PyTorch multiplies its lr by gamma at each step; the product of t factors in
        // double precision differs from the power by rounding far below f32's.
        (self.base_lr as f64 * libm::pow(self.gamma as f64, self.last_epoch as f64)) as f32
    }
    fn step(&mut self) {
        self.last_epoch += 1;
    }
    fn steps(&self) -> u64 {
        self.last_epoch
    }
}
