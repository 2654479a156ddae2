//! `torch.optim.lr_scheduler.OneCycleLR`.

use alloc::format;

use super::{LrSchedule, Optimizer};
use crate::error::Range;
use crate::{SettingError, StateDict, StateError};

/// How [`OneCycleLr`] moves between two values within a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anneal {
    /// Half a cosine, PyTorch's default (`anneal_strategy="cos"`).
    Cos,
    /// A straight line (`anneal_strategy="linear"`).
    Linear,
}

/// `torch.optim.lr_scheduler.OneCycleLR`: the learning rate rises from `max_lr /
/// div_factor` to `max_lr` over the first `pct_start` of `total_steps`, then falls to
/// `max_lr / (div_factor · final_div_factor)`; the momentum moves the opposite way between
/// `max_momentum` and `base_momentum`. With `three_phase` the rise is mirrored back to the
/// initial rate before the final fall, as PyTorch's option. Phase boundaries and
/// interpolation follow PyTorch's `get_lr` in double precision:
///
/// ```text
/// phase ends: pct_start · total − 1, total − 1   (three phases: pct_start · total − 1,
///                                                 2 · pct_start · total − 2, total − 1)
/// pct = (t − phase start) / (phase end − phase start)
/// cos: end + (start − end) / 2 · (cos(π · pct) + 1);  linear: start + (end − start) · pct
/// ```
///
/// PyTorch's defaults: `pct_start` 0.3, cosine annealing, `div_factor` 25,
/// `final_div_factor` 1e4, momentum cycled between 0.85 and 0.95. [`LrSchedule::apply`]
/// sets the learning rate and, when `cycle_momentum` is on, the optimizer's momentum
/// (SGD's and RMSprop's `momentum`, Adam's β1, as PyTorch does).
///
/// ```
/// use nn::optim::{LrSchedule, OneCycleLr, Optimizer, Sgd};
/// let mut opt = Sgd::new(0.0).momentum(0.9);
/// let mut s = OneCycleLr::new(0.1, 10);
/// s.apply(&mut opt);
/// assert_eq!((opt.lr, opt.momentum), (0.004, 0.95)); // max_lr / 25, max_momentum
/// for _ in 0..2 { s.step(); } // the peak is at step 0.3 · 10 − 1
/// s.apply(&mut opt);
/// assert_eq!((opt.lr, opt.momentum), (0.1, 0.85));
/// ```
///
/// # Panics
/// [`LrSchedule::step`] panics when it would move past step `total_steps`, where PyTorch
/// raises too, and [`LrSchedule::apply`] on an optimizer without momentum while `cycle_momentum` is
/// on, as PyTorch refuses such an optimizer.
#[derive(Clone, Debug)]
pub struct OneCycleLr {
    /// The peak learning rate.
    pub max_lr: f32,
    /// Steps in the cycle.
    pub total_steps: u64,
    /// The share of the cycle spent rising (0.3).
    pub pct_start: f32,
    /// Cosine or linear (cosine).
    pub anneal: Anneal,
    /// Whether [`LrSchedule::apply`] sets the momentum too (`true`).
    pub cycle_momentum: bool,
    /// The momentum at the peak learning rate (0.85).
    pub base_momentum: f32,
    /// The momentum at the start and the end (0.95).
    pub max_momentum: f32,
    /// The initial rate is `max_lr / div_factor` (25).
    pub div_factor: f32,
    /// The final rate is the initial one over `final_div_factor` (1e4).
    pub final_div_factor: f32,
    /// Three phases instead of two (`false`).
    pub three_phase: bool,
    pub(super) last_epoch: u64,
}

/// One phase: where it ends and which values it moves between.
struct Phase {
    end: f64,
    lr: (f64, f64),
    momentum: (f64, f64),
}

impl OneCycleLr {
    /// `OneCycleLR(optimizer, max_lr, total_steps)` with PyTorch's defaults.
    pub fn new(max_lr: f32, total_steps: u64) -> Self {
        OneCycleLr {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal: Anneal::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
            last_epoch: 0,
        }
    }
    /// Sets the share of the cycle spent rising.
    pub fn pct_start(mut self, pct: f32) -> Self {
        self.pct_start = pct;
        self
    }
    setters! {
        /// Sets the annealing.
        anneal: Anneal;
    }
    /// Turns momentum cycling on or off.
    pub fn cycle_momentum(mut self, on: bool) -> Self {
        self.cycle_momentum = on;
        self
    }
    /// Sets the momentum range: `base` at the peak rate, `max` at the ends.
    pub fn momentum_range(mut self, base: f32, max: f32) -> Self {
        self.base_momentum = base;
        self.max_momentum = max;
        self
    }
    /// Sets the initial rate's divisor.
    pub fn div_factor(mut self, d: f32) -> Self {
        self.div_factor = d;
        self
    }
    /// Sets the final rate's divisor.
    pub fn final_div_factor(mut self, d: f32) -> Self {
        self.final_div_factor = d;
        self
    }
    /// Turns the three-phase cycle on or off.
    pub fn three_phase(mut self, on: bool) -> Self {
        self.three_phase = on;
        self
    }

    /// Checks the settings as PyTorch does: at least one step, `pct_start` in `[0, 1]`,
    /// and positive learning rate and divisors.
    ///
    /// ```
    /// assert!(nn::optim::OneCycleLr::new(0.1, 0).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), SettingError> {
        SettingError::check_all(
            "OneCycleLr",
            &[
                ("total_steps", self.total_steps as f32, Range::Positive),
                ("pct_start", self.pct_start, Range::Closed01),
                ("max_lr", self.max_lr, Range::AtLeast0),
                ("div_factor", self.div_factor, Range::Positive),
                ("final_div_factor", self.final_div_factor, Range::Positive),
            ],
        )
    }

    /// The momentum for the current step (what [`LrSchedule::apply`] sets when
    /// `cycle_momentum` is on).
    pub fn momentum(&self) -> f32 {
        self.at().1 as f32
    }

    fn phases(&self) -> ([Phase; 3], usize) {
        let max = self.max_lr as f64;
        let initial = max / self.div_factor as f64;
        let min = initial / self.final_div_factor as f64;
        let (lo, hi) = (self.base_momentum as f64, self.max_momentum as f64);
        let total = self.total_steps as f64;
        let rise = self.pct_start as f64 * total;
        if self.three_phase {
            let p = [
                Phase {
                    end: rise - 1.0,
                    lr: (initial, max),
                    momentum: (hi, lo),
                },
                Phase {
                    end: 2.0 * rise - 2.0,
                    lr: (max, initial),
                    momentum: (lo, hi),
                },
                Phase {
                    end: total - 1.0,
                    lr: (initial, min),
                    momentum: (hi, hi),
                },
            ];
            (p, 3)
        } else {
            let p = [
                Phase {
                    end: rise - 1.0,
                    lr: (initial, max),
                    momentum: (hi, lo),
                },
                Phase {
                    end: total - 1.0,
                    lr: (max, min),
                    momentum: (lo, hi),
                },
                Phase {
                    end: 0.0,
                    lr: (0.0, 0.0),
                    momentum: (0.0, 0.0),
                },
            ];
            (p, 2)
        }
    }

    /// The learning rate and momentum at the current step, in double precision.
    fn at(&self) -> (f64, f64) {
        let (phases, n) = self.phases();
        let t = self.last_epoch as f64;
        let mut start = 0.0;
        for (i, phase) in phases[..n].iter().enumerate() {
            if t <= phase.end || i == n - 1 {
                let pct = (t - start) / (phase.end - start);
                let f = |(a, b): (f64, f64)| match self.anneal {
                    Anneal::Cos => {
                        b + (a - b) / 2.0 * (libm::cos(core::f64::consts::PI * pct) + 1.0)
                    }
                    Anneal::Linear => (b - a) * pct + a,
                };
                return (f(phase.lr), f(phase.momentum));
            }
            start = phase.end;
        }
        (self.max_lr as f64, self.max_momentum as f64)
    }
}

impl LrSchedule for OneCycleLr {
    fn load_state(&mut self, from: &StateDict) -> Result<(), StateError> {
        let key = "scheduler.last_epoch";
        let t = from.count(key)?;
        if t > self.total_steps {
            let reason = format!("is {t}, past the cycle of {} steps", self.total_steps);
            return Err(from.invalid(key, reason));
        }
        self.last_epoch = t;
        Ok(())
    }
    fn lr(&self) -> f32 {
        self.at().0 as f32
    }
    fn step(&mut self) {
        assert!(
            self.last_epoch < self.total_steps,
            "OneCycleLr: stepped past the end of the cycle of {} steps",
            self.total_steps
        );
        self.last_epoch += 1;
    }
    fn steps(&self) -> u64 {
        self.last_epoch
    }
    fn apply<O: Optimizer>(&self, opt: &mut O) {
        let (lr, momentum) = self.at();
        opt.set_lr(lr as f32);
        if self.cycle_momentum {
            assert!(
                opt.momentum().is_some(),
                "OneCycleLr: the optimizer has no momentum to cycle; turn `cycle_momentum` off"
            );
            opt.set_momentum(momentum as f32);
        }
    }
}
