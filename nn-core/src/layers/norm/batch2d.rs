//! `BatchNorm2d<C, H, W>`: PyTorch's `nn.BatchNorm2d(C)` on flat NCHW samples.

use core::fmt;

use crate::kernels::batch_norm2d::{self as norm2d, Planes};
#[cfg(feature = "alloc")]
use crate::TrainError;
use crate::{Backward, Layer};

/// Batch normalisation of `C` channels of `H × W`, as PyTorch's `nn.BatchNorm2d(C)` with its
/// defaults (`eps = 1e-5`, `momentum = 0.1`, affine, tracking running statistics): each
/// channel is normalised with statistics over the batch and all `H × W` positions.
///
/// Training ([`Layer::forward_train`]) normalises with the batch's mean and biased variance
/// per channel, over `batch · H · W` values, and moves the running statistics towards the
/// batch's mean and *unbiased* variance. Inference ([`Layer::forward`],
/// [`Layer::forward_batch`]) uses the running statistics. As for [`crate::BatchNorm`], the
/// method called decides the mode. Training needs at least 2 values per channel, so a batch
/// of one is fine unless `H · W` is 1.
///
/// # Shapes
/// - input `[batch, C·H·W]`: each sample is PyTorch's `[C, H, W]`, flat; output the same
/// - `weight`, `bias`, `running_mean`, `running_var`: `[C]`; `num_batches_tracked`: a count
///
/// ```
/// use nn::{BatchNorm2d, Layer, Rng, Zeroable};
/// let mut bn = BatchNorm2d::<2, 1, 2>::zeroed();
/// bn.init(&mut Rng::seed(0)); // weight 1, bias 0, running mean 0, running var 1
/// let x = [1.0, 3.0, -2.0, -2.0]; // channel 0: 1, 3; channel 1: -2, -2
/// let mut y = [0.0; 4];
/// let mut cache = [0.0; 4];
/// bn.forward_train(&x, &mut y, 1, &mut cache).unwrap();
/// // Channel 0 has mean 2 and variance 1; channel 1 is constant.
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[1] - 1.0).abs() < 1e-4 && y[2] == 0.0);
/// assert!((bn.running_mean[0] - 0.2).abs() < 1e-6 && bn.num_batches_tracked == 1);
/// // The unbiased variance of 1 and 3 is 2: 0.9 · 1 + 0.1 · 2.
/// assert!((bn.running_var[0] - 1.1).abs() < 1e-6);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct BatchNorm2d<const C: usize, const H: usize, const W: usize> {
    /// The scale γ, `[C]`; starts at 1.
    pub weight: [f32; C],
    /// The shift β, `[C]`; starts at 0.
    pub bias: [f32; C],
    /// Running mean, `[C]`; starts at 0.
    pub running_mean: [f32; C],
    /// Running (unbiased) variance, `[C]`; starts at 1.
    pub running_var: [f32; C],
    /// Training batches seen, as PyTorch counts them.
    pub num_batches_tracked: u64,
}

// SAFETY: the fields are `f32` arrays and a `u64`; all-zero bits are valid for both.
unsafe impl<const C: usize, const H: usize, const W: usize> bytemuck::Zeroable
    for BatchNorm2d<C, H, W>
{
}

clone_in_place!(BatchNorm2d<const C: usize, const H: usize, const W: usize> { weight, bias, running_mean, running_var, num_batches_tracked });

impl<const C: usize, const H: usize, const W: usize> BatchNorm2d<C, H, W> {
    batch_norm_state!(inherent);

    const CHECK: () = {
        assert!(C > 0, "`BatchNorm2d` needs at least 1 channel (`C`)");
        assert!(
            H > 0 && W > 0,
            "`BatchNorm2d` needs planes of at least 1×1 (`H`, `W`)"
        );
    };
    /// Values per channel per sample.
    const PLANE: usize = {
        let () = Self::CHECK;
        H * W
    };

    /// The batch's shape, for the kernels.
    const fn planes(batch: usize) -> Planes {
        Planes {
            batch,
            channels: C,
            plane: Self::PLANE,
        }
    }
}

#[diagnostic::do_not_recommend]
impl<const C: usize, const H: usize, const W: usize> Layer for BatchNorm2d<C, H, W> {
    const IN: usize = C * Self::PLANE;
    const OUT: usize = C * Self::PLANE;
    const IN_IMAGE: Option<[usize; 3]> = Some([C, H, W]);
    const OUT_IMAGE: Option<[usize; 3]> = Some([C, H, W]);
    const PARAMS: usize = 2 * C;
    const IN_PLACE: bool = true;
    const MACS: usize = Self::PARAMS;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchNorm2d<{C}>")
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let planes = y[..Self::OUT]
            .chunks_exact_mut(Self::PLANE)
            .zip(x.chunks_exact(Self::PLANE));
        for (c, (y, x)) in planes.enumerate() {
            let (s, t) = self.eval_affine(c);
            for (y, x) in y.iter_mut().zip(x) {
                *y = x * s + t;
            }
        }
    }

    fn forward_in_place(&self, xy: &mut [f32]) {
        for (c, plane) in xy[..Self::OUT].chunks_exact_mut(Self::PLANE).enumerate() {
            let (s, t) = self.eval_affine(c);
            for v in plane {
                *v = *v * s + t;
            }
        }
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        let samples = x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT));
        for (x, y) in samples.take(batch) {
            self.forward(x, y);
        }
    }

    fn cache_len(_batch: usize) -> usize {
        2 * C // the batch mean and 1/sqrt(var + eps), per channel
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), TrainError> {
        let n = batch * Self::PLANE;
        if n < 2 {
            return Err(TrainError::BatchTooSmall {
                layer: "",
                kind: "BatchNorm2d",
                batch,
            });
        }
        let (x, y) = (&x[..batch * Self::IN], &mut y[..batch * Self::OUT]);
        let (mean, invstd) = cache[..2 * C].split_at_mut(C);
        // Two passes for the variance: stable where E[x²] − E[x]² is not.
        let mut sums = [0.0f64; C];
        norm2d::sums(x, Self::planes(batch), &mut sums);
        for (m, s) in mean.iter_mut().zip(sums) {
            *m = (s / n as f64) as f32;
        }
        let mut squares = [0.0f64; C];
        norm2d::squares(x, mean, Self::planes(batch), &mut squares);
        let unbias = n as f64 / (n - 1) as f64;
        let mo = Self::MOMENTUM;
        for c in 0..C {
            let biased = squares[c] / n as f64;
            self.running_mean[c] = (1.0 - mo) * self.running_mean[c] + mo * mean[c];
            self.running_var[c] = (1.0 - mo) * self.running_var[c] + mo * (biased * unbias) as f32;
            invstd[c] = (1.0 / libm::sqrt(biased + Self::EPS as f64)) as f32;
        }
        self.num_batches_tracked += 1;
        let affine = (&self.weight[..], &self.bias[..]);
        norm2d::normalize(x, y, (mean, invstd), affine, Self::planes(batch));
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let batch = io.batch;
        let (mean, invstd) = io.cache[..2 * C].split_at(C);
        let (gw, gb) = grad.split_at_mut(C);
        // Σ dy and Σ dy·x̂ per channel: the bias and weight gradients, and the two sums the
        // input gradient needs.
        let mut sum_dy = [0.0f32; C];
        let mut sum_dy_xhat = [0.0f32; C];
        let (x, dy) = (&io.x[..batch * Self::IN], &io.dy[..batch * Self::OUT]);
        let sums = (&mut sum_dy[..], &mut sum_dy_xhat[..]);
        norm2d::grad_sums(x, dy, (mean, invstd), Self::planes(batch), sums);
        for c in 0..C {
            gw[c] += sum_dy_xhat[c];
            gb[c] += sum_dy[c];
        }
        let Some(dx) = dx else { return };
        let inv_n = 1.0 / (batch * Self::PLANE) as f32;
        let mean_dy: [f32; C] = core::array::from_fn(|c| sum_dy[c] * inv_n);
        let mean_dy_xhat: [f32; C] = core::array::from_fn(|c| sum_dy_xhat[c] * inv_n);
        let dx = &mut dx[..batch * Self::IN];
        let means = (&mean_dy[..], &mean_dy_xhat[..]);
        norm2d::input_grad(
            (x, dy, dx),
            (mean, invstd),
            &self.weight,
            means,
            Self::planes(batch),
        );
    }

    batch_norm_state!(layer C);
}
