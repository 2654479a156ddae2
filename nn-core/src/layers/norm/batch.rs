//! `BatchNorm<N>`: PyTorch's `nn.BatchNorm1d(N)` on `[batch, N]` inputs.

use core::fmt;

use crate::kernels::parts::{for_n_parts, parts};
#[cfg(feature = "alloc")]
use crate::TrainError;
use crate::{Backward, Layer};

/// Elements of the batch per thread, at least, for BatchNorm's passes to split over the
/// pool: by features for its sums, by rows for the rest.
const PART_MIN: usize = 1 << 13;

/// Batch normalisation over `N` features, as PyTorch's `nn.BatchNorm1d(N)` with its
/// defaults (`eps = 1e-5`, `momentum = 0.1`, affine, tracking running statistics).
///
/// Training ([`Layer::forward_train`]) normalises with the batch's mean and biased
/// variance, and moves the running statistics towards the batch's mean and *unbiased*
/// variance. Inference ([`Layer::forward`], [`Layer::forward_batch`]) uses the running
/// statistics. Which one runs is decided by the method called, so there is no mode flag
/// to forget.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; `weight`, `bias`, `running_mean`,
/// `running_var`: `[N]`.
///
/// ```
/// use nn::{BatchNorm, Layer, Rng};
/// let mut bn: BatchNorm<2> = nn::Zeroable::zeroed();
/// bn.init(&mut Rng::seed(0));
/// let mut y = [0.0; 2];
/// bn.forward(&[1.0, -2.0], &mut y); // running mean 0, running var 1
/// assert!((y[0] - 1.0).abs() < 1e-4 && (y[1] + 2.0).abs() < 1e-4);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct BatchNorm<const N: usize> {
    /// The scale γ, `[N]`; starts at 1.
    pub weight: [f32; N],
    /// The shift β, `[N]`; starts at 0.
    pub bias: [f32; N],
    /// Running mean, `[N]`; starts at 0.
    pub running_mean: [f32; N],
    /// Running (unbiased) variance, `[N]`; starts at 1.
    pub running_var: [f32; N],
    /// Training batches seen, as PyTorch counts them.
    pub num_batches_tracked: u64,
}

// SAFETY: the fields are `f32` arrays and a `u64`; all-zero bits are valid for both.
unsafe impl<const N: usize> bytemuck::Zeroable for BatchNorm<N> {}

clone_in_place!(BatchNorm<const N: usize> { weight, bias, running_mean, running_var, num_batches_tracked });

impl<const N: usize> BatchNorm<N> {
    batch_norm_state!(inherent);
}

#[diagnostic::do_not_recommend]
impl<const N: usize> Layer for BatchNorm<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 2 * N;
    const IN_PLACE: bool = true;
    const MACS: usize = Self::PARAMS;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchNorm<{N}>")
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (j, (y, x)) in y.iter_mut().zip(x).enumerate() {
            let (s, t) = self.eval_affine(j);
            *y = x * s + t;
        }
    }

    fn forward_in_place(&self, xy: &mut [f32]) {
        for (j, v) in xy[..N].iter_mut().enumerate() {
            let (s, t) = self.eval_affine(j);
            *v = *v * s + t;
        }
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        let mut scale = [0.0f32; N];
        let mut shift = [0.0f32; N];
        for j in 0..N {
            (scale[j], shift[j]) = self.eval_affine(j);
        }
        for (y, x) in y.chunks_exact_mut(N).zip(x.chunks_exact(N)).take(batch) {
            for j in 0..N {
                y[j] = x[j] * scale[j] + shift[j];
            }
        }
    }

    fn cache_len(_batch: usize) -> usize {
        2 * N // the batch mean and 1/sqrt(var + eps), per feature
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), TrainError> {
        if batch < 2 {
            return Err(TrainError::BatchTooSmall {
                layer: "",
                kind: "BatchNorm",
                batch,
            });
        }
        let (x, y) = (&x[..batch * N], &mut y[..batch * N]);
        let (mean, invstd) = cache.split_at_mut(N);
        // Each feature's sums run down its column in row order, whichever thread has the
        // column: the same bits on any number of threads.
        let n = parts(batch * N, PART_MIN);
        let inv_b = 1.0 / batch as f32;
        // Two passes for the variance: stable where E[x²] - E[x]² is not.
        let var = &mut invstd[..N];
        for_n_parts((0..N, &mut mean[..N], var), n, 16, &|(cols, mean, var)| {
            mean.fill(0.0);
            for row in x.chunks_exact(N) {
                for (m, v) in mean.iter_mut().zip(&row[cols.clone()]) {
                    *m += v;
                }
            }
            for m in mean.iter_mut() {
                *m *= inv_b;
            }
            var.fill(0.0);
            for row in x.chunks_exact(N) {
                for ((s, v), m) in var.iter_mut().zip(&row[cols.clone()]).zip(mean.iter()) {
                    let d = v - m;
                    *s += d * d;
                }
            }
        });
        let var = invstd;
        let unbias = batch as f32 / (batch - 1) as f32;
        let m = Self::MOMENTUM;
        for j in 0..N {
            let biased = var[j] * inv_b;
            self.running_mean[j] = (1.0 - m) * self.running_mean[j] + m * mean[j];
            self.running_var[j] = (1.0 - m) * self.running_var[j] + m * biased * unbias;
            var[j] = 1.0 / libm::sqrtf(biased + Self::EPS);
        }
        self.num_batches_tracked += 1;
        let (invstd, mean) = (&*var, &*mean);
        let (weight, bias) = (&self.weight, &self.bias);
        for_n_parts((y, x), n, N, &|(y, x)| {
            for (yr, xr) in y.chunks_exact_mut(N).zip(x.chunks_exact(N)) {
                for j in 0..N {
                    yr[j] = (xr[j] - mean[j]) * invstd[j] * weight[j] + bias[j];
                }
            }
        });
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let batch = io.batch;
        let (mean, invstd) = io.cache.split_at(N);
        let (gw, gb) = grad.split_at_mut(N);
        let (x, dy) = (&io.x[..batch * N], &io.dy[..batch * N]);
        // Σ dy and Σ dy·x̂ per feature: the bias and weight gradients, and the two
        // sums the input gradient needs; down each column in row order, as forward's.
        let mut sum_dy = [0.0f32; N];
        let mut sum_dy_xhat = [0.0f32; N];
        let n = parts(batch * N, PART_MIN);
        let sums = (0..N, &mut sum_dy[..], &mut sum_dy_xhat[..]);
        for_n_parts(sums, n, 16, &|(cols, sum_dy, sum_dy_xhat)| {
            let (mean, invstd) = (&mean[cols.clone()], &invstd[cols.clone()]);
            for (xr, dyr) in x.chunks_exact(N).zip(dy.chunks_exact(N)) {
                let (xr, dyr) = (&xr[cols.clone()], &dyr[cols.clone()]);
                for j in 0..cols.len() {
                    sum_dy[j] += dyr[j];
                    sum_dy_xhat[j] += dyr[j] * (xr[j] - mean[j]) * invstd[j];
                }
            }
        });
        for j in 0..N {
            gw[j] += sum_dy_xhat[j];
            gb[j] += sum_dy[j];
        }
        if let Some(dx) = dx {
            let inv_b = 1.0 / batch as f32;
            let (sum_dy, sum_dy_xhat, weight) = (&sum_dy, &sum_dy_xhat, &self.weight);
            for_n_parts((&mut dx[..batch * N], x, dy), n, N, &|(dx, x, dy)| {
                let rows = dx
                    .chunks_exact_mut(N)
                    .zip(x.chunks_exact(N))
                    .zip(dy.chunks_exact(N));
                for ((dxr, xr), dyr) in rows {
                    for j in 0..N {
                        let xhat = (xr[j] - mean[j]) * invstd[j];
                        dxr[j] = weight[j]
                            * invstd[j]
                            * (dyr[j] - inv_b * sum_dy[j] - xhat * inv_b * sum_dy_xhat[j]);
                    }
                }
            });
        }
    }

    batch_norm_state!(layer N);
}
