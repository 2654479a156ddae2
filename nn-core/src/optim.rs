//! Optimizers with `torch.optim`'s exact update rules, and learning-rate schedules.
//! Their state lives here, outside the model.

use alloc::vec::Vec;

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

/// One tensor's momentum SGD update, with every branch decided outside the loop.
struct SgdUpdate<'a> {
    p: &'a mut [f32],
    g: &'a [f32],
    b: &'a mut [f32],
    lr: f32,
    /// `b ← keep · b + take · g`: (0, 1) on the first step, else (momentum, 1 − dampening).
    keep: f32,
    take: f32,
    /// The update is `lr · (direct · g + (1 − direct + look) · b)`: Nesterov's
    /// `g + momentum · b` or plain `b`.
    look: f32,
    direct: f32,
    weight_decay: f32,
}

impl crate::simd::Kernel for SgdUpdate<'_> {
    #[inline(always)]
    fn run(self) {
        let SgdUpdate {
            p,
            g,
            b,
            lr,
            keep,
            take,
            look,
            direct,
            weight_decay,
        } = self;
        let rows = p.iter_mut().zip(g).zip(b.iter_mut());
        if weight_decay == 0.0 {
            for ((p, g), b) in rows {
                *b = keep * *b + take * g;
                *p -= lr * (direct * g + (1.0 - direct + look) * *b);
            }
        } else {
            for ((p, g), b) in rows {
                let g = g + weight_decay * *p;
                *b = keep * *b + take * g;
                *p -= lr * (direct * g + (1.0 - direct + look) * *b);
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
/// use nn_core::optim::Sgd;
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
    /// Sets the momentum factor.
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }
    /// Sets the dampening.
    pub fn dampening(mut self, dampening: f32) -> Self {
        self.dampening = dampening;
        self
    }
    /// Turns Nesterov momentum on or off. It needs a momentum above 0 and no dampening,
    /// set before or after: [`Sgd::check`] verifies them together.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
    /// Sets the weight decay (L2 penalty).
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Checks the settings together, as `torch.optim.SGD` does when built: the learning
    /// rate, momentum and weight decay are at least 0, dampening is a number, and
    /// Nesterov momentum has a momentum above 0 and zero dampening. NaN is refused
    /// everywhere (PyTorch lets a NaN learning rate through; every parameter would become
    /// NaN). [`Optimizer::step`] calls it first and panics with its message.
    pub fn check(&self) -> Result<(), SettingError> {
        let at_least_0 = |v: f32| v >= 0.0;
        SettingError::require("Sgd", "lr", self.lr, ">= 0", at_least_0)?;
        SettingError::require("Sgd", "momentum", self.momentum, ">= 0", at_least_0)?;
        SettingError::require("Sgd", "dampening", self.dampening, "a number", |_| true)?;
        SettingError::require("Sgd", "weight_decay", self.weight_decay, ">= 0", at_least_0)?;
        if self.nesterov && !(self.momentum > 0.0 && self.dampening == 0.0) {
            return Err(SettingError::Nesterov {
                momentum: self.momentum,
                dampening: self.dampening,
            });
        }
        Ok(())
    }
}

/// Panics with `check`'s error: the one place a step refuses its settings.
fn checked(check: Result<(), SettingError>) {
    if let Err(e) = check {
        panic!("{e}");
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
            for_each_param(net, grads, [], |p, g, []| {
                for (p, g) in p.iter_mut().zip(g) {
                    let g = g + weight_decay * *p;
                    *p -= lr * g;
                }
            });
            return;
        }
        let first = self.buf.is_none();
        let buf = self.buf.get_or_insert_with(|| alloc::vec![0.0; N::PARAMS]);
        for_each_param(net, grads, [buf], |p, g, [b]| {
            let n = p.len();
            let (g, b) = (&g[..n], &mut b[..n]);
            // One pass per tensor, with every branch outside the loop so that it vectorises.
            let (keep, take) = if first {
                (0.0, 1.0)
            } else {
                (momentum, 1.0 - dampening)
            };
            let look = if nesterov { momentum } else { 0.0 };
            let direct = if nesterov { 1.0 } else { 0.0 };
            crate::simd::vectorized(SgdUpdate {
                p,
                g,
                b,
                lr,
                keep,
                take,
                look,
                direct,
                weight_decay,
            });
        });
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }
}

/// `torch.optim.Adam` (`decoupled = false`) and `torch.optim.AdamW` (`decoupled = true`),
/// with bias correction, as PyTorch computes them:
///
/// ```text
/// Adam:  g ← g + weight_decay · p         AdamW: p ← p · (1 − lr · weight_decay)
/// m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
/// p ← p − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
/// ```
///
/// ```
/// use nn_core::optim::Adam;
/// let adam = Adam::new(1e-3);
/// let adamw = Adam::adamw(1e-3); // weight decay 0.01 by default, as in PyTorch
/// assert_eq!(adamw.weight_decay, 0.01);
/// assert_eq!(adam.betas, (0.9, 0.999));
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// β1 and β2.
    pub betas: (f32, f32),
    /// Added to the denominator.
    pub eps: f32,
    /// Weight decay: an L2 penalty for Adam, decoupled for AdamW.
    pub weight_decay: f32,
    /// AdamW's decoupled weight decay.
    pub decoupled: bool,
    t: u32,
    state: Option<(Vec<f32>, Vec<f32>)>,
}

impl Adam {
    /// `torch.optim.Adam(lr)` with PyTorch's defaults.
    pub fn new(lr: f32) -> Self {
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            t: 0,
            state: None,
        }
    }
    /// `torch.optim.AdamW(lr)` with PyTorch's defaults (weight decay 0.01).
    pub fn adamw(lr: f32) -> Self {
        Adam {
            weight_decay: 0.01,
            decoupled: true,
            ..Adam::new(lr)
        }
    }
    /// Sets β1 and β2.
    pub fn betas(mut self, b1: f32, b2: f32) -> Self {
        self.betas = (b1, b2);
        self
    }
    /// Sets eps.
    pub fn eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }
    /// Sets the weight decay.
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Checks the settings together, as `torch.optim.Adam` does when built: the learning
    /// rate, eps and weight decay are at least 0 and both betas in `[0, 1)`; NaN is
    /// refused everywhere. [`Optimizer::step`] calls it first and panics with its message.
    ///
    /// ```
    /// use nn_core::optim::Adam;
    /// assert!(Adam::new(1e-3).betas(0.9, 1.0).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), SettingError> {
        let at_least_0 = |v: f32| v >= 0.0;
        let beta = |v: f32| (0.0..1.0).contains(&v);
        SettingError::require("Adam", "lr", self.lr, ">= 0", at_least_0)?;
        SettingError::require("Adam", "eps", self.eps, ">= 0", at_least_0)?;
        SettingError::require("Adam", "betas.0", self.betas.0, "in [0, 1)", beta)?;
        SettingError::require("Adam", "betas.1", self.betas.1, "in [0, 1)", beta)?;
        SettingError::require(
            "Adam",
            "weight_decay",
            self.weight_decay,
            ">= 0",
            at_least_0,
        )
    }
}

impl Optimizer for Adam {
    fn step<N: Network>(&mut self, net: &mut N, grads: &Gradients<N>) {
        checked(self.check());
        self.t += 1;
        let Adam {
            lr,
            betas: (b1, b2),
            eps,
            weight_decay,
            decoupled,
            t,
            ..
        } = *self;
        let (m, v) = self
            .state
            .get_or_insert_with(|| (alloc::vec![0.0; N::PARAMS], alloc::vec![0.0; N::PARAMS]));
        let bc1 = 1.0 - libm::powf(b1, t as f32);
        let bc2_sqrt = libm::sqrtf(1.0 - libm::powf(b2, t as f32));
        let step_size = lr / bc1;
        for_each_param(net, grads, [m, v], |p, g, [m, v]| {
            for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let mut g = *g;
                if decoupled {
                    *p *= 1.0 - lr * weight_decay;
                } else {
                    g += weight_decay * *p;
                }
                *m += (g - *m) * (1.0 - b1);
                *v = *v * b2 + (1.0 - b2) * g * g;
                let denom = libm::sqrtf(*v) / bc2_sqrt + eps;
                *p -= step_size * *m / denom;
            }
        });
    }
    fn lr(&self) -> f32 {
        self.lr
    }
    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }
}

/// `torch.optim.lr_scheduler.StepLR`: the learning rate times `gamma` every `step_size`
/// epochs.
///
/// ```
/// use nn_core::optim::StepLr;
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
/// use nn_core::optim::CosineAnnealingLr;
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
