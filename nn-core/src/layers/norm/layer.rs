//! `LayerNorm<N>`: PyTorch's `nn.LayerNorm(N)` on `[batch, N]` inputs.

use core::fmt;

#[cfg(feature = "alloc")]
use crate::TrainError;
use crate::{Backward, Layer, Rng};

/// Layer normalisation over the `N` features of each row, as PyTorch's `nn.LayerNorm(N)`
/// with its defaults (`eps = 1e-5`, elementwise affine with a bias):
/// `y = (x − mean) / √(var + eps) · weight + bias`, the mean and the biased variance taken
/// over each row's features.
///
/// Unlike [`crate::BatchNorm`] it keeps no running statistics: training and inference
/// compute the same thing, and a batch of one is fine.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; `weight`, `bias`: `[N]`.
///
/// ```
/// use nn::{Layer, LayerNorm, Rng};
/// let mut ln: LayerNorm<4> = nn::Zeroable::zeroed();
/// ln.init(&mut Rng::seed(0)); // weight 1, bias 0
/// let mut y = [0.0; 4];
/// ln.forward(&[1.0, 2.0, 3.0, 4.0], &mut y);
/// // mean 2.5, biased variance 1.25
/// let s = 1.0 / (1.25f32 + 1e-5).sqrt();
/// assert!(y.iter().zip([-1.5, -0.5, 0.5, 1.5]).all(|(y, d)| (y - d * s).abs() < 1e-6));
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct LayerNorm<const N: usize> {
    /// The scale γ, `[N]`; starts at 1.
    pub weight: [f32; N],
    /// The shift β, `[N]`; starts at 0.
    pub bias: [f32; N],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const N: usize> bytemuck::Zeroable for LayerNorm<N> {}

clone_in_place!(LayerNorm<const N: usize> { weight, bias });

impl<const N: usize> LayerNorm<N> {
    /// Added to the variance before its square root, as in PyTorch.
    pub const EPS: f32 = 1e-5;

    /// Normalises one row into `y`; returns its mean and `1/√(var + eps)`.
    #[inline]
    fn row(&self, x: &[f32], y: &mut [f32]) -> (f32, f32) {
        let (x, y) = (&x[..N], &mut y[..N]);
        let inv_n = 1.0 / N as f32;
        let mean = x.iter().sum::<f32>() * inv_n;
        // Two passes: stable where E[x²] − E[x]² is not.
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() * inv_n;
        let invstd = 1.0 / libm::sqrtf(var + Self::EPS);
        for j in 0..N {
            y[j] = (x[j] - mean) * invstd * self.weight[j] + self.bias[j];
        }
        (mean, invstd)
    }
}

#[diagnostic::do_not_recommend]
impl<const N: usize> Layer for LayerNorm<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 2 * N;
    const MACS: usize = Self::PARAMS;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LayerNorm<{N}>")
    }

    fn init(&mut self, _rng: &mut Rng) {
        self.weight = [1.0; N];
        self.bias = [0.0; N];
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        self.row(x, y);
    }

    fn cache_len(batch: usize) -> usize {
        2 * batch // each row's mean, then each row's 1/√(var + eps)
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), TrainError> {
        let (means, invstds) = cache[..2 * batch].split_at_mut(batch);
        let rows = x.chunks_exact(N).zip(y.chunks_exact_mut(N));
        for (((x, y), m), s) in rows.zip(means).zip(invstds) {
            (*m, *s) = self.row(x, y);
        }
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let batch = io.batch;
        let (means, invstds) = io.cache[..2 * batch].split_at(batch);
        let (gw, gb) = grad.split_at_mut(N);
        let rows = io.x.chunks_exact(N).zip(io.dy.chunks_exact(N));
        for ((x, dy), (m, s)) in rows.zip(means.iter().zip(invstds)) {
            for j in 0..N {
                gw[j] += dy[j] * (x[j] - m) * s;
                gb[j] += dy[j];
            }
        }
        let Some(dx) = dx else { return };
        // With g = dy ⊙ weight and x̂ the normalised row:
        // dx = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / √(var + eps).
        let inv_n = 1.0 / N as f32;
        let rows = dx
            .chunks_exact_mut(N)
            .zip(io.x.chunks_exact(N))
            .zip(io.dy.chunks_exact(N));
        for (((dx, x), dy), (m, s)) in rows.zip(means.iter().zip(invstds)) {
            let mut sum_g = 0.0f32;
            let mut sum_g_xhat = 0.0f32;
            for j in 0..N {
                let g = dy[j] * self.weight[j];
                sum_g += g;
                sum_g_xhat += g * (x[j] - m) * s;
            }
            let (mean_g, mean_g_xhat) = (sum_g * inv_n, sum_g_xhat * inv_n);
            for j in 0..N {
                let xhat = (x[j] - m) * s;
                dx[j] = s * (dy[j] * self.weight[j] - mean_g - xhat * mean_g_xhat);
            }
        }
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        f("weight", &[N], &self.weight);
        f("bias", &[N], &self.bias);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        f("weight", &mut self.weight);
        f("bias", &mut self.bias);
    }
}
