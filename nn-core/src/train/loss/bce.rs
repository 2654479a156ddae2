//! Binary cross-entropy on probabilities, PyTorch's `nn.BCELoss`.

use super::{Loss, Reducible, Reduction};

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

#[inline]
fn bce(p: f32, t: f32) -> (f32, f32) {
    assert!(
        p.is_nan() || (0.0..=1.0).contains(&p),
        "BCELoss: input {p} is not a probability in [0, 1]; end the network in `Sigmoid`, \
         or train on logits with `BceWithLogitsLoss`"
    );
    assert!(
        (0.0..=1.0).contains(&t),
        "BCELoss: target {t} is not a probability in [0, 1]"
    );
    // A target of exactly 0 or 1, as most pixels of an image are, zeroes one of the two
    // terms, whose log is then left out: the clamped log it multiplies is finite (or NaN,
    // as the other term then is), so the loss has the same bits (tested below).
    let l = if t == 0.0 {
        0.0 - clamp_log(libm::log1pf(-p))
    } else if t == 1.0 {
        -clamp_log(libm::logf(p))
    } else {
        both_terms(p, t)
    };
    let denom = (1.0 - p) * p;
    // `std::max(denom, eps)` as PyTorch writes it: NaN stays NaN.
    let denom = if denom < EPSILON { EPSILON } else { denom };
    (l, (p - t) / denom)
}

/// Both terms of the loss, as PyTorch computes them for any target.
#[inline]
fn both_terms(p: f32, t: f32) -> f32 {
    (t - 1.0) * clamp_log(libm::log1pf(-p)) - t * clamp_log(libm::logf(p))
}

super::elementwise_loss!(BceLoss, "BCELoss", |_s, p, t| bce(p, t));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_of_zero_or_one_gives_the_bits_of_both_terms() {
        let mut ps = alloc::vec![
            0.0,
            -0.0,
            1.0,
            f32::MIN_POSITIVE,
            1e-45,
            1e-30,
            0.5,
            f32::NAN
        ];
        ps.extend([1.0 - f32::EPSILON / 2.0, 1.0 - f32::EPSILON, 3e-39]);
        ps.extend((1..1000).map(|i| i as f32 / 1000.0));
        for p in ps {
            for t in [0.0, 1.0] {
                let (got, want) = (bce(p, t).0, both_terms(p, t));
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "p {p:e}, t {t}: {got:e}, both terms {want:e}"
                );
            }
        }
    }
}
