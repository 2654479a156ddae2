//! `torch.optim.SGD`.

use alloc::vec::Vec;

use super::{
    apply_settings, checked, load_buffer, load_settings, params_with_grads, save_buffer,
    save_settings, Optimizer,
};
use crate::error::Range;
use crate::kernels::parts::for_parts;
use crate::{Gradients, Network, SettingError, StateDict, StateError};

/// Elements per thread, at least, of an update split over the pool. The update is a few
/// loads and stores per element: a part smaller than this (its three arrays, 1.5 MB, about a
/// core's second-level cache) gains less than it costs to wake a thread and to move the
/// parameters' lines between the cores' caches, which the next forward pass reads again.
/// So a network of about a hundred thousand parameters updates on one thread.
const PART_MIN: usize = 1 << 17;

/// One tensor's momentum SGD update, with every branch decided outside the loop.
struct SgdUpdate<'a> {
    p: &'a mut [f32],
    g: &'a [f32],
    b: &'a mut [f32],
    lr: f32,
    /// `b ← keep · b + take · g`: (0, 1) on the first step, else (momentum, 1 − dampening).
    keep: f32,
    take: f32,
    /// Nesterov's momentum: the update is `lr · (g + momentum · b)` with it, `lr · b`
    /// without.
    nesterov: Option<f32>,
    weight_decay: f32,
}

impl crate::kernels::simd::Kernel for SgdUpdate<'_> {
    #[inline(always)]
    fn run(self) {
        let SgdUpdate {
            p,
            g,
            b,
            lr,
            keep,
            take,
            nesterov,
            weight_decay,
        } = self;
        // A term that a setting leaves out is left out, not multiplied by 0: `0 · ∞` is NaN,
        // and PyTorch keeps an infinite parameter or gradient infinite.
        let rows = p.iter_mut().zip(g).zip(b.iter_mut());
        match (weight_decay == 0.0, nesterov) {
            (true, None) => {
                for ((p, g), b) in rows {
                    *b = keep * *b + take * g;
                    *p -= lr * *b;
                }
            }
            (true, Some(m)) => {
                for ((p, g), b) in rows {
                    *b = keep * *b + take * g;
                    *p -= lr * (g + m * *b);
                }
            }
            (false, None) => {
                for ((p, g), b) in rows {
                    let g = g + weight_decay * *p;
                    *b = keep * *b + take * g;
                    *p -= lr * *b;
                }
            }
            (false, Some(m)) => {
                for ((p, g), b) in rows {
                    let g = g + weight_decay * *p;
                    *b = keep * *b + take * g;
                    *p -= lr * (g + m * *b);
                }
            }
        }
    }
}

/// `torch.optim.SGD`: stochastic gradient descent with optional momentum, dampening,
/// Nesterov momentum and weight decay, with PyTorch's update rule:
///
/// ```text
/// g ← g + weight_decay · p
/// b ← g on the first step, else momentum · b + (1 − dampening) · g
/// g ← g + momentum · b (nesterov) or b (momentum ≠ 0)
/// p ← p − lr · g
/// ```
///
/// ```
/// use nn::optim::Sgd;
/// let opt = Sgd::new(0.05).nesterov(true).momentum(0.9).weight_decay(1e-4);
/// assert_eq!(opt.lr, 0.05);
/// assert!(opt.check().is_ok());
/// // Nesterov without momentum: reported by `check` (and by `step`, as a panic).
/// assert!(Sgd::new(0.05).nesterov(true).check().is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor (0 for none).
    pub momentum: f32,
    /// Dampening for momentum.
    pub dampening: f32,
    /// Nesterov momentum (needs momentum > 0 and dampening 0, as in PyTorch).
    pub nesterov: bool,
    /// L2 penalty.
    pub weight_decay: f32,
    buf: Option<Vec<f32>>,
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f32) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            buf: None,
        }
    }
    setters! {
        /// Sets the momentum factor.
        momentum: f32;
        /// Sets the dampening.
        dampening: f32;
        /// Turns Nesterov momentum on or off. It needs a momentum above 0 and no dampening,
        /// set before or after: [`Sgd::check`] verifies them together.
        nesterov: bool;
        /// Sets the weight decay (L2 penalty).
        weight_decay: f32;
    }

    /// Checks the settings together, as `torch.optim.SGD` does when built: the learning
    /// rate, momentum and weight decay are at least 0, dampening is a number, and
    /// Nesterov momentum has a momentum above 0 and zero dampening. NaN is refused
    /// everywhere (PyTorch lets a NaN learning rate through; every parameter would become
    /// NaN). [`Optimizer::step`] calls it first and panics with its message.
    pub fn check(&self) -> Result<(), SettingError> {
        SettingError::check_all(
            "Sgd",
            &[
                ("lr", self.lr, Range::AtLeast0),
                ("momentum", self.momentum, Range::AtLeast0),
                ("dampening", self.dampening, Range::Number),
                ("weight_decay", self.weight_decay, Range::AtLeast0),
            ],
        )?;
        if self.nesterov && !(self.momentum > 0.0 && self.dampening == 0.0) {
            return Err(SettingError::Nesterov {
                momentum: self.momentum,
                dampening: self.dampening,
            });
        }
        Ok(())
    }
}

impl Optimizer for Sgd {
    fn step<N: Network>(&mut self, net: &mut N, grads: &Gradients<N>) {
        checked(self.check());
        let Sgd {
            lr,
            momentum,
            dampening,
            nesterov,
            weight_decay,
            ..
        } = *self;
        if momentum == 0.0 {
            params_with_grads(net, grads, |p, g, _| {
                let rows = p.iter_mut().zip(g);
                if weight_decay == 0.0 {
                    // Not `g + 0 · p`: an infinite parameter would become NaN.
                    rows.for_each(|(p, g)| *p -= lr * g);
                } else {
                    for (p, g) in rows {
                        let g = g + weight_decay * *p;
                        *p -= lr * g;
                    }
                }
            });
            return;
        }
        let first = self.buf.is_none();
        let buf = self.buf.get_or_insert_with(|| alloc::vec![0.0; N::PARAMS]);
        params_with_grads(net, grads, |p, g, r| {
            let b = &mut buf[r];
            // One pass per tensor, with every branch outside the loop so that it vectorises.
            let (keep, take) = if first {
                (0.0, 1.0)
            } else {
                (momentum, 1.0 - dampening)
            };
            for_parts((p, g, b), PART_MIN, 16, &|(p, g, b)| {
                crate::kernels::simd::vectorized(SgdUpdate {
                    p,
                    g,
                    b,
                    lr,
                    keep,
                    take,
                    nesterov: nesterov.then_some(momentum),
                    weight_decay,
                })
            });
        });
    }
    fn save_state<N: Network>(&self, net: &N, into: &mut StateDict) {
        save_settings(self, into);
        if let Some(buf) = &self.buf {
            save_buffer(net, into, "momentum_buffer", buf);
        }
    }
    fn load_state<N: Network>(&mut self, net: &N, from: &StateDict) -> Result<(), StateError> {
        let settings = load_settings(self, from, Sgd::check)?;
        self.buf = load_buffer(net, from, "momentum_buffer")?;
        apply_settings(self, settings);
        Ok(())
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }
    fn momentum(&self) -> Option<f32> {
        Some(self.momentum)
    }
    fn set_momentum(&mut self, momentum: f32) {
        self.momentum = momentum;
    }
}
