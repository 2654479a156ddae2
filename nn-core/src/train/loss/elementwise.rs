//! Losses of each output element against its target: MSE, L1, smooth L1, and binary
//! cross-entropy on logits.

use super::*;

/// PyTorch's `nn.MSELoss()`: the mean of `(out - target)²`.
///
/// ```
/// use nn::loss::{Loss, MseLoss};
/// let mut g = [0.0; 2];
/// let l = MseLoss.loss(&[1.0, 3.0], 2, &[0.0, 1.0][..], Some(&mut g));
/// assert_eq!(l, 2.5);
/// assert_eq!(g, [1.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MseLoss;
elementwise_loss!(MseLoss, "MSELoss", |_s, o, t| {
    let d = o - t;
    (d * d, 2.0 * d)
});

/// PyTorch's `nn.L1Loss()`: the mean of `|out - target|`.
///
/// ```
/// use nn::loss::{L1Loss, Loss};
/// assert_eq!(L1Loss.loss(&[1.0, 3.0], 2, &[0.0, 1.0][..], None), 1.5);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct L1Loss;
elementwise_loss!(L1Loss, "L1Loss", |_s, o, t| l1(o - t));

/// `|d|` and PyTorch's gradient of it: the sign of `d`, 0 at 0 and at NaN.
#[inline]
fn l1(d: f32) -> (f32, f32) {
    let sign = if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    };
    (d.abs(), sign)
}

/// PyTorch's `nn.SmoothL1Loss(beta)`: quadratic below `beta`, linear above.
///
/// ```
/// use nn::loss::{Loss, SmoothL1Loss};
/// let l = SmoothL1Loss::default().loss(&[0.5, 3.0], 2, &[0.0, 0.0][..], None);
/// assert_eq!(l, (0.125 + 2.5) / 2.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SmoothL1Loss {
    /// Where the loss turns from quadratic to linear; PyTorch's default is 1.
    pub beta: f32,
}
impl Default for SmoothL1Loss {
    fn default() -> Self {
        SmoothL1Loss { beta: 1.0 }
    }
}
elementwise_loss!(SmoothL1Loss, "SmoothL1Loss", |s, o, t| {
    let (d, beta) = (o - t, s.beta);
    if beta == 0.0 {
        // PyTorch's L1 loss, which it runs for beta 0 (0 / 0 would make NaN at d = 0).
        l1(d)
    } else {
        let z = d.abs();
        let l = if z < beta {
            0.5 * d * d / beta
        } else {
            z - 0.5 * beta
        };
        // PyTorch's branches, in its order: a NaN `d` falls through to `d / beta`, NaN.
        let g = if d < -beta {
            -1.0
        } else if d > beta {
            1.0
        } else {
            d / beta
        };
        (l, g)
    }
});

/// PyTorch's `nn.BCEWithLogitsLoss()`: binary cross-entropy on logits, computed in
/// PyTorch's stable form `(1 − t) x − log σ(x)`, with `log σ(x) = min(x, 0) −
/// log(1 + e^−|x|)`, so that infinite logits give what PyTorch gives (`∞` for `x = ∞`,
/// `t = 0`; NaN for `x = −∞`, `t = 1`, where `0 · ∞` is NaN).
///
/// ```
/// use nn::loss::{BceWithLogitsLoss, Loss};
/// let l = BceWithLogitsLoss.loss(&[0.0], 1, &[1.0][..], None);
/// assert!((l - 2f32.ln()).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BceWithLogitsLoss;
elementwise_loss!(BceWithLogitsLoss, "BCEWithLogitsLoss", |_s, x, t| {
    let log_sigmoid = x.min(0.0) - libm::log1pf(libm::expf(-x.abs()));
    let l = (1.0 - t) * x - log_sigmoid;
    let sigmoid = if x >= 0.0 {
        1.0 / (1.0 + libm::expf(-x))
    } else {
        let e = libm::expf(x);
        e / (1.0 + e)
    };
    (l, sigmoid - t)
});
