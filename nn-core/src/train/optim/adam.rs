//! `torch.optim.Adam` and `torch.optim.AdamW`.

use alloc::format;
use alloc::vec::Vec;

use super::{
    apply_settings, checked, load_buffer, load_settings, params_with_grads, save_buffer,
    save_settings, Optimizer,
};
use crate::error::Range;
use crate::kernels::parts::for_parts;
use crate::kernels::simd::{sqrt, vectorized, Kernel};
use crate::{Gradients, Network, SettingError, StateDict, StateError};

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
/// use nn::optim::Adam;
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
    setters! {
        /// Sets eps.
        eps: f32;
        /// Sets the weight decay.
        weight_decay: f32;
    }

    /// Checks the settings together, as `torch.optim.Adam` does when built: the learning
    /// rate, eps and weight decay are at least 0 and both betas in `[0, 1)`; NaN is
    /// refused everywhere. [`Optimizer::step`] calls it first and panics with its message.
    ///
    /// ```
    /// use nn::optim::Adam;
    /// assert!(Adam::new(1e-3).betas(0.9, 1.0).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), SettingError> {
        SettingError::check_all(
            "Adam",
            &[
                ("lr", self.lr, Range::AtLeast0),
                ("eps", self.eps, Range::AtLeast0),
                ("betas.0", self.betas.0, Range::ClosedOpen01),
                ("betas.1", self.betas.1, Range::ClosedOpen01),
                ("weight_decay", self.weight_decay, Range::AtLeast0),
            ],
        )
    }
}

/// Elements per thread, at least, of an update split over the pool.
const PART_MIN: usize = 1 << 15;

/// The numbers of one Adam step.
#[derive(Clone, Copy)]
struct AdamConsts {
    lr: f32,
    b1: f32,
    b2: f32,
    eps: f32,
    weight_decay: f32,
    decoupled: bool,
    bc2_sqrt: f32,
    step_size: f32,
}

/// One part of a tensor's Adam update, with every branch decided outside the loop.
struct AdamUpdate<'a> {
    p: &'a mut [f32],
    g: &'a [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    c: AdamConsts,
}

impl Kernel for AdamUpdate<'_> {
    #[inline(always)]
    fn run(self) {
        let AdamUpdate { p, g, m, v, c } = self;
        let n = p.len();
        let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
        // Not `g + 0 · p` without weight decay: an infinite parameter would become NaN,
        // where PyTorch, which leaves the term out, keeps it infinite.
        match (c.decoupled, c.weight_decay != 0.0) {
            (true, _) => {
                let keep = 1.0 - c.lr * c.weight_decay;
                for i in 0..n {
                    p[i] *= keep;
                    adam(&mut p[i], g[i], &mut m[i], &mut v[i], &c);
                }
            }
            (false, true) => {
                for i in 0..n {
                    let g = g[i] + c.weight_decay * p[i];
                    adam(&mut p[i], g, &mut m[i], &mut v[i], &c);
                }
            }
            (false, false) => {
                for i in 0..n {
                    adam(&mut p[i], g[i], &mut m[i], &mut v[i], &c);
                }
            }
        }
    }
}

/// One element's update, as PyTorch computes it: `m.lerp_(g, 1 − β1)`,
/// `v.mul_(β2).addcmul_(g, g, 1 − β2)`, `p.addcdiv_(m, √v / √(1 − β2ᵗ) + eps, −step)`.
/// Branch-free, with a square root that rounds correctly as `libm`'s does, so that the
/// loop runs in vector registers with the same bits.
#[inline(always)]
fn adam(p: &mut f32, g: f32, m: &mut f32, v: &mut f32, c: &AdamConsts) {
    *m += (g - *m) * (1.0 - c.b1);
    *v = *v * c.b2 + (1.0 - c.b2) * g * g;
    let denom = sqrt(*v) / c.bc2_sqrt + c.eps;
    *p -= c.step_size * *m / denom;
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
        let consts = AdamConsts {
            lr,
            b1,
            b2,
            eps,
            weight_decay,
            decoupled,
            bc2_sqrt,
            step_size,
        };
        params_with_grads(net, grads, |p, g, r| {
            let (m, v) = (&mut m[r.clone()], &mut v[r]);
            for_parts((p, g, m, v), PART_MIN, 16, &|(p, g, m, v)| {
                vectorized(AdamUpdate {
                    p,
                    g,
                    m,
                    v,
                    c: consts,
                })
            });
        });
    }
    fn save_state<N: Network>(&self, net: &N, into: &mut StateDict) {
        save_settings(self, into);
        into.insert_i64("optimizer.step", self.t.into());
        if let Some((m, v)) = &self.state {
            save_buffer(net, into, "exp_avg", m);
            save_buffer(net, into, "exp_avg_sq", v);
        }
    }
    fn load_state<N: Network>(&mut self, net: &N, from: &StateDict) -> Result<(), StateError> {
        let settings = load_settings(self, from, Adam::check)?;
        let t = from.count("optimizer.step")?;
        // The next step adds one: a count at the top of the range would wrap to a step 0
        // whose bias correction divides by zero.
        let t = u32::try_from(t)
            .ok()
            .filter(|&t| t < u32::MAX)
            .ok_or_else(|| {
                from.invalid(
                    "optimizer.step",
                    format!("holds {t} steps, but Adam counts at most 2^32 - 2 before the next"),
                )
            })?;
        let m = load_buffer(net, from, "exp_avg")?;
        let v = load_buffer(net, from, "exp_avg_sq")?;
        let state = match (m, v) {
            (Some(m), Some(v)) => Some((m, v)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(from.invalid("exp_avg_sq", "is missing where exp_avg is present"))
            }
            (None, Some(_)) => {
                return Err(from.invalid("exp_avg", "is missing where exp_avg_sq is present"))
            }
        };
        self.t = t;
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
        Some(self.betas.0)
    }
    fn set_momentum(&mut self, momentum: f32) {
        self.betas.0 = momentum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    /// The update through the vector unit against the element-by-element loop with
    /// `libm`'s square root: the same bits, for Adam, Adam with weight decay and AdamW, on
    /// lengths that are not a multiple of the vector width.
    #[test]
    fn the_vector_update_has_the_bits_of_the_scalar_loop() {
        let mut rng = Rng::seed(7);
        for (weight_decay, decoupled) in [(0.0, false), (0.01, false), (0.01, true)] {
            for n in [1, 15, 16, 37, 1000] {
                let mut draw = |lo, hi| (0..n).map(|_| rng.uniform(lo, hi)).collect::<Vec<f32>>();
                let (p0, g, m0, v0) = (
                    draw(-1.0, 1.0),
                    draw(-1.0, 1.0),
                    draw(-0.1, 0.1),
                    draw(0.0, 0.01),
                );
                let (lr, b1, b2, eps, t) = (1e-3f32, 0.9f32, 0.999f32, 1e-8f32, 3.0f32);
                let c = AdamConsts {
                    lr,
                    b1,
                    b2,
                    eps,
                    weight_decay,
                    decoupled,
                    bc2_sqrt: libm::sqrtf(1.0 - libm::powf(b2, t)),
                    step_size: lr / (1.0 - libm::powf(b1, t)),
                };
                let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
                vectorized(AdamUpdate {
                    p: &mut p,
                    g: &g,
                    m: &mut m,
                    v: &mut v,
                    c,
                });
                let (mut wp, mut wm, mut wv) = (p0, m0, v0);
                for i in 0..n {
                    let mut g = g[i];
                    if decoupled {
                        wp[i] *= 1.0 - lr * weight_decay;
                    } else if weight_decay != 0.0 {
                        g += weight_decay * wp[i];
                    }
                    wm[i] += (g - wm[i]) * (1.0 - b1);
                    wv[i] = wv[i] * b2 + (1.0 - b2) * g * g;
                    let denom = libm::sqrtf(wv[i]) / c.bc2_sqrt + eps;
                    wp[i] -= c.step_size * wm[i] / denom;
                }
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                let what = (n, weight_decay, decoupled);
                assert_eq!(bits(&p), bits(&wp), "parameters, {what:?}");
                assert_eq!(bits(&m), bits(&wm), "first moment, {what:?}");
                assert_eq!(bits(&v), bits(&wv), "second moment, {what:?}");
            }
        }
    }
}
