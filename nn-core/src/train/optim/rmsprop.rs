//! `torch.optim.RMSprop`.

use alloc::vec::Vec;

use super::{
    apply_settings, checked, decayed, load_buffer, load_settings, params_with_grads, save_buffer,
    save_settings, Optimizer,
};
use crate::error::Range;
use crate::{Gradients, Network, SettingError, StateDict, StateError};

/// `torch.optim.RMSprop`, with PyTorch's update rule (`sq`, `ḡ` and `b` start at 0):
///
/// ```text
/// g ← g + weight_decay · p
/// sq ← α sq + (1 − α) g²
/// ḡ ← ḡ + (1 − α)(g − ḡ);  d ← √(sq − ḡ²) + eps     (centered)
///                          d ← √sq + eps             (otherwise)
/// b ← momentum · b + g / d;  p ← p − lr · b          (momentum > 0)
/// p ← p − lr · g / d                                 (otherwise)
/// ```
///
/// ```
/// use nn::optim::{Optimizer, RmsProp};
/// nn::network! { struct Net<Linear<2, 1>> }
/// let mut net = Net::new(0);
/// let mut grads = nn::Gradients::<Net>::new();
/// grads.as_mut_slice().fill(1.0);
/// let mut opt = RmsProp::new(0.01).momentum(0.9).centered(true);
/// assert_eq!((opt.alpha, opt.eps), (0.99, 1e-8)); // PyTorch's defaults
/// let before = net.0.weight;
/// opt.step(&mut *net, &grads);
/// assert!(net.0.weight[0][0] < before[0][0]);
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp {
    /// Learning rate (PyTorch's default 0.01).
    pub lr: f32,
    /// Smoothing constant α of the running mean of squares (0.99).
    pub alpha: f32,
    /// Added to the denominator (1e-8).
    pub eps: f32,
    /// L2 penalty (0).
    pub weight_decay: f32,
    /// Momentum factor (0 for none).
    pub momentum: f32,
    /// Divides by the running variance instead of the mean square (`false`).
    pub centered: bool,
    pub(super) state: RmsPropState,
}

/// What RMSprop keeps between steps, each vector as long as all parameters together and
/// allocated when first needed.
#[derive(Clone, Debug, Default)]
pub(super) struct RmsPropState {
    pub(super) step: u64,
    pub(super) square_avg: Option<Vec<f32>>,
    pub(super) grad_avg: Option<Vec<f32>>,
    pub(super) momentum_buffer: Option<Vec<f32>>,
}

impl RmsProp {
    /// `torch.optim.RMSprop(params, lr)` with PyTorch's defaults.
    pub fn new(lr: f32) -> Self {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            state: RmsPropState::default(),
        }
    }
    setters! {
        /// Sets α.
        alpha: f32;
        /// Sets eps.
        eps: f32;
        /// Sets the weight decay (L2 penalty).
        weight_decay: f32;
        /// Sets the momentum factor.
        momentum: f32;
        /// Turns the centered variant on or off.
        centered: bool;
    }

    /// Checks the settings together, as `torch.optim.RMSprop` does when built: the
    /// learning rate, α, eps, momentum and weight decay are at least 0, and none is NaN.
    /// [`Optimizer::step`] calls it first and panics with its message.
    ///
    /// ```
    /// assert!(nn::optim::RmsProp::new(0.01).alpha(-0.5).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), SettingError> {
        SettingError::check_all(
            "RmsProp",
            &[
                ("lr", self.lr, Range::AtLeast0),
                ("alpha", self.alpha, Range::AtLeast0),
                ("eps", self.eps, Range::AtLeast0),
                ("momentum", self.momentum, Range::AtLeast0),
                ("weight_decay", self.weight_decay, Range::AtLeast0),
            ],
        )
    }
}

impl Optimizer for RmsProp {
    fn step<N: Network>(&mut self, net: &mut N, grads: &Gradients<N>) {
        checked(self.check());
        let RmsProp {
            lr,
            alpha,
            eps,
            weight_decay,
            momentum,
            centered,
            ..
        } = *self;
        let s = &mut self.state;
        s.step += 1;
        let zeros = || alloc::vec![0.0; N::PARAMS];
        let square_avg = s.square_avg.get_or_insert_with(zeros);
        let mut grad_avg = centered.then(|| s.grad_avg.get_or_insert_with(zeros));
        let mut buf = (momentum > 0.0).then(|| s.momentum_buffer.get_or_insert_with(zeros));
        params_with_grads(net, grads, |p, g, r| {
            let sq = &mut square_avg[r.clone()];
            let mut ga = grad_avg.as_deref_mut().map(|v| &mut v[r.clone()]);
            let mut b = buf.as_deref_mut().map(|v| &mut v[r]);
            for i in 0..p.len() {
                let g = decayed(g[i], p[i], weight_decay);
                sq[i] = sq[i] * alpha + (1.0 - alpha) * g * g;
                let avg = match ga.as_deref_mut() {
                    Some(ga) => {
                        ga[i] += (1.0 - alpha) * (g - ga[i]);
                        libm::sqrtf(sq[i] - ga[i] * ga[i]) + eps
                    }
                    None => libm::sqrtf(sq[i]) + eps,
                };
                match b.as_deref_mut() {
                    Some(b) => {
                        b[i] = b[i] * momentum + g / avg;
                        p[i] -= lr * b[i];
                    }
                    None => p[i] -= lr * g / avg,
                }
            }
        });
    }
    fn save_state<N: Network>(&self, net: &N, into: &mut StateDict) {
        save_settings(self, into);
        let s = &self.state;
        into.insert_i64("optimizer.step", i64::try_from(s.step).unwrap_or(i64::MAX));
        let buffers = [
            ("square_avg", &s.square_avg),
            ("grad_avg", &s.grad_avg),
            ("momentum_buffer", &s.momentum_buffer),
        ];
        for (name, b) in buffers {
            if let Some(b) = b {
                save_buffer(net, into, name, b);
            }
        }
    }
    fn load_state<N: Network>(&mut self, net: &N, from: &StateDict) -> Result<(), StateError> {
        let settings = load_settings(self, from, RmsProp::check)?;
        let state = RmsPropState {
            step: from.count("optimizer.step")?,
            square_avg: load_buffer(net, from, "square_avg")?,
            grad_avg: load_buffer(net, from, "grad_avg")?,
            momentum_buffer: load_buffer(net, from, "momentum_buffer")?,
        };
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
    fn momentum(&self) -> Option<f32> {
        Some(self.momentum)
    }
    fn set_momentum(&mut self, momentum: f32) {
        self.momentum = momentum;
    }
}
