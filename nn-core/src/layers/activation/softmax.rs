//! `Softmax<N>` and `LogSoftmax<N>`: PyTorch's `nn.Softmax(dim=1)` and
//! `nn.LogSoftmax(dim=1)` over the features of each row.
//!
//! Not elementwise (each output depends on the whole row), so each has its own [`Layer`]
//! impl. Both subtract the row's maximum before exponentiating, so that logits of any size
//! give finite results, as in PyTorch.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// The row's maximum and `Σ exp(x − max)`.
#[inline]
fn max_and_sum(x: &[f32]) -> (f32, f32) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    let sum = x.iter().map(|v| libm::expf(v - max)).sum();
    (max, sum)
}

/// The softmax of each row, `yᵢ = exp(xᵢ) / Σⱼ exp(xⱼ)`, as PyTorch's `nn.Softmax(dim=1)`
/// on `[batch, N]` inputs. In `network!`: `Softmax`, taking its width from the layer before.
///
/// Train a classifier on logits with `CrossEntropyLoss` rather than on `Softmax` outputs;
/// use this layer where probabilities are the output wanted.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`, each output row summing to 1; no parameters.
///
/// ```
/// use nn::{Layer, Softmax};
/// let mut y = [0.0; 3];
/// Softmax::<3>.forward(&[1.0, 1.0, 1e4], &mut y); // no overflow
/// assert_eq!(y, [0.0, 0.0, 1.0]);
/// Softmax::<3>.forward(&[0.0, 0.0, 0.0], &mut y);
/// assert!(y.iter().all(|p| (p - 1.0 / 3.0).abs() < 1e-7));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softmax<const N: usize>;

/// The log-softmax of each row, `yᵢ = xᵢ − log Σⱼ exp(xⱼ)`, as PyTorch's
/// `nn.LogSoftmax(dim=1)` on `[batch, N]` inputs. In `network!`: `LogSoftmax`.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{Layer, LogSoftmax};
/// let mut y = [0.0; 2];
/// LogSoftmax::<2>.forward(&[0.0, 0.0], &mut y);
/// assert!(y.iter().all(|v| (v + core::f32::consts::LN_2).abs() < 1e-7));
/// LogSoftmax::<2>.forward(&[-1e4, 1e4], &mut y); // no overflow
/// assert_eq!(y, [-2e4, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogSoftmax<const N: usize>;

// SAFETY: zero-sized types have exactly one value, which all-zero (no) bytes represent.
unsafe impl<const N: usize> bytemuck::Zeroable for Softmax<N> {}
// SAFETY: as above.
unsafe impl<const N: usize> bytemuck::Zeroable for LogSoftmax<N> {}

#[diagnostic::do_not_recommend]
impl<const N: usize> Layer for Softmax<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Softmax")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let (x, y) = (&x[..N], &mut y[..N]);
        let (max, sum) = max_and_sum(x);
        let inv = 1.0 / sum;
        for (y, x) in y.iter_mut().zip(x) {
            *y = libm::expf(x - max) * inv;
        }
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        // dxᵢ = yᵢ (dyᵢ − Σⱼ dyⱼ yⱼ).
        let Some(dx) = dx else { return };
        let rows = dx
            .chunks_exact_mut(N)
            .zip(io.y.chunks_exact(N))
            .zip(io.dy.chunks_exact(N));
        for ((dx, y), dy) in rows.take(io.batch) {
            let dot: f32 = y.iter().zip(dy).map(|(y, d)| y * d).sum();
            for ((dx, y), dy) in dx.iter_mut().zip(y).zip(dy) {
                *dx = y * (dy - dot);
            }
        }
    }
}

#[diagnostic::do_not_recommend]
impl<const N: usize> Layer for LogSoftmax<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogSoftmax")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let (x, y) = (&x[..N], &mut y[..N]);
        let (max, sum) = max_and_sum(x);
        let log_sum = libm::logf(sum);
        for (y, x) in y.iter_mut().zip(x) {
            *y = (x - max) - log_sum;
        }
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        // dxᵢ = dyᵢ − exp(yᵢ) Σⱼ dyⱼ, with exp(yᵢ) the softmax.
        let Some(dx) = dx else { return };
        let rows = dx
            .chunks_exact_mut(N)
            .zip(io.y.chunks_exact(N))
            .zip(io.dy.chunks_exact(N));
        for ((dx, y), dy) in rows.take(io.batch) {
            let sum: f32 = dy.iter().sum();
            for ((dx, y), dy) in dx.iter_mut().zip(y).zip(dy) {
                *dx = dy - libm::expf(*y) * sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_independent_and_sum_to_one() {
        let x = [1.0, 2.0, 3.0, -50.0, 0.0, 50.0];
        let mut y = [0.0; 6];
        let s = Softmax::<3>;
        s.forward(&x[..3], &mut y[..3]);
        s.forward(&x[3..], &mut y[3..]);
        for row in y.chunks_exact(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let mut l = [0.0; 3];
        LogSoftmax::<3>.forward(&x[..3], &mut l);
        for (l, y) in l.iter().zip(&y[..3]) {
            assert!((libm::expf(*l) - y).abs() < 1e-6);
        }
    }
}
