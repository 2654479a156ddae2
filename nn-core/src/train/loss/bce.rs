//! Binary cross-entropy on probabilities, PyTorch's `nn.BCELoss`.

use super::terms::ElementLoss;
use super::{Loss, Reducible, Reduction};
use crate::kernels::log::{log, log1p};

/// PyTorch's `nn.BCELoss()`: binary cross-entropy on probabilities `p` in `[0, 1]` (the
/// output of a network ending in `Sigmoid`) against targets `t` in `[0, 1]`, each
/// element's loss
///
/// ```text
/// −(t · max(log p, −100) + (1 − t) · max(log(1 − p), −100))
/// ```
///
/// The logs are clamped at −100, as in PyTorch, so that `p = 0` or `1` exactly gives a
/// finite loss; the gradient is PyTorch's `(p − t) / max(p (1 − p), 1e-12)`, finite there
/// too. [`BceWithLogitsLoss`](super::BceWithLogitsLoss) on logits is the stabler of the
/// two, as PyTorch's documentation says.
///
/// ```
/// use nn::loss::{BceLoss, Loss};
/// let mut g = [0.0; 2];
/// let l = BceLoss.loss(&[0.5, 0.0], 1, &[1.0, 0.0][..], Some(&mut g));
/// assert!((l - 2f32.ln() / 2.0).abs() < 1e-6);
/// assert_eq!(g, [-1.0, 0.0]); // (0.5 − 1) / 0.25, halved by the mean
/// ```
///
/// # Panics
/// If an input or a target is outside `[0, 1]`, as PyTorch raises. A NaN input is not
/// refused: its loss is NaN, as a diverged step's is under the other losses.
#[derive(Clone, Copy, Debug, Default)]
pub struct BceLoss;

/// PyTorch's floor on the gradient's denominator `p (1 − p)`.
const EPSILON: f32 = 1e-12;

/// `v` clamped below at −100 as C++'s `std::max(v, -100)`: NaN stays NaN.
#[inline]
fn clamp_log(v: f32) -> f32 {
    if v < -100.0 {
        -100.0
    } else {
        v
    }
}

impl ElementLoss for BceLoss {
    /// PyTorch's formula for every target, both logs computed and clamped, without
    /// branches.
    #[inline(always)]
    fn term(&self, p: f32, t: f32) -> (f32, f32) {
        let l = (t - 1.0) * clamp_log(log1p(-p)) - t * clamp_log(log(p));
        let denom = (1.0 - p) * p;
        // `std::max(denom, eps)` as PyTorch writes it: NaN stays NaN.
        let denom = if denom < EPSILON { EPSILON } else { denom };
        (l, (p - t) / denom)
    }
    #[inline(always)]
    fn valid(p: f32, t: f32) -> bool {
        (p.is_nan() | (0.0..=1.0).contains(&p)) & (0.0..=1.0).contains(&t)
    }
    fn refuse(p: f32, t: f32) {
        assert!(
            p.is_nan() || (0.0..=1.0).contains(&p),
            "BCELoss: input {p} is not a probability in [0, 1]; end the network in `Sigmoid`, \
             or train on logits with `BceWithLogitsLoss`"
        );
        assert!(
            (0.0..=1.0).contains(&t),
            "BCELoss: target {t} is not a probability in [0, 1]"
        );
    }
}

super::elementwise_loss!(BceLoss, "BCELoss");

#[cfg(test)]
mod tests {
    use super::*;

    /// Each term against PyTorch's formula in double precision, over probabilities from
    /// the smallest subnormal to 1 and targets 0, 1 and between: within a few ulp of the
    /// rounded double (the two logs are each within 2 ulp), and exactly PyTorch's clamped
    /// 100 where a log is −∞.
    #[test]
    fn terms_are_pytorch_s_formula_within_a_few_ulp() {
        let clamp = |v: f64| if v < -100.0 { -100.0 } else { v };
        let mut ps = alloc::vec![0.0, 1.0, 1e-45, 3e-39, f32::MIN_POSITIVE, 1e-30, 1e-7, 0.5];
        ps.extend([1.0 - f32::EPSILON / 2.0, 1.0 - f32::EPSILON]);
        ps.extend((1..10_000).map(|i| i as f32 / 10_000.0));
        let mut worst = 0.0f64;
        for p in ps {
            for t in [0.0f32, 1.0, 0.25, 0.5, 0.9] {
                let (l, _) = BceLoss.term(p, t);
                let (pd, td) = (p as f64, t as f64);
                let want = (td - 1.0) * clamp(libm::log1p(-pd)) - td * clamp(libm::log(pd));
                let err = (l as f64 - want).abs() / want.abs().max(f64::MIN_POSITIVE);
                worst = worst.max(err);
                assert!(
                    err <= 4.0 * f32::EPSILON as f64 || (l as f64 - want).abs() <= 1e-40,
                    "p {p:e}, t {t}: {l:e} against {want:e}"
                );
            }
        }
        assert!(worst > 0.0, "the comparison compares");
        assert_eq!(BceLoss.term(0.0, 1.0).0, 100.0);
        assert_eq!(BceLoss.term(1.0, 0.0).0, 100.0);
        assert!(BceLoss.term(f32::NAN, 1.0).0.is_nan());
    }
}
