//! `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`, on [`Gradients`].

use crate::{Gradients, Network};

impl<N: Network> Gradients<N> {
    /// `torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)`: scales every
    /// gradient by `min(1, max_norm / (total + 1e-6))`, where `total` is the `norm_type`
    /// norm of all gradients together, and returns `total` (before clipping). `norm_type`
    /// is any `p > 0` (2 is PyTorch's default) or `f32::INFINITY` (the largest magnitude).
    ///
    /// The norm is summed in double precision; PyTorch takes each tensor's norm, then the
    /// norm of those, which is the same number up to float32 rounding. As in PyTorch
    /// (`error_if_nonfinite=False`), a NaN or infinite total is returned and scales the
    /// gradients to NaN or 0.
    ///
    /// ```
    /// nn::network! { struct Net<Linear<1, 2>> }
    /// let mut grads = nn::Gradients::<Net>::new();
    /// grads.as_mut_slice().copy_from_slice(&[3.0, 0.0, 4.0, 0.0]);
    /// let total = grads.clip_grad_norm(1.0, 2.0);
    /// assert_eq!(total, 5.0);
    /// assert!((grads.as_slice()[0] - 0.6).abs() < 1e-6);
    /// ```
    ///
    /// # Panics
    /// When `norm_type` is not above 0 (PyTorch's norms of order 0 and −∞ are not
    /// offered: neither bounds a gradient's size).
    #[doc(alias = "clip_grad_norm_")]
    pub fn clip_grad_norm(&mut self, max_norm: f32, norm_type: f32) -> f32 {
        assert!(
            norm_type > 0.0,
            "clip_grad_norm: `norm_type` is {norm_type}, but it must be above 0 (2, or f32::INFINITY)"
        );
        let g = self.as_mut_slice();
        let total = if norm_type == f32::INFINITY {
            g.iter().fold(0.0f32, |m, v| {
                if v.is_nan() || m.is_nan() {
                    f32::NAN
                } else {
                    m.max(v.abs())
                }
            })
        } else if norm_type == 2.0 {
            libm::sqrt(g.iter().map(|&v| v as f64 * v as f64).sum::<f64>()) as f32
        } else {
            let p = norm_type as f64;
            let sum: f64 = g.iter().map(|&v| libm::pow(libm::fabs(v as f64), p)).sum();
            libm::pow(sum, 1.0 / p) as f32
        };
        // float32, as PyTorch's tensors compute the coefficient.
        let coef = (max_norm / (total + 1e-6)).min(1.0);
        let coef = if coef.is_nan() { f32::NAN } else { coef };
        g.iter_mut().for_each(|v| *v *= coef);
        total
    }

    /// `torch.nn.utils.clip_grad_value_(params, clip_value)`: clamps every gradient into
    /// `[-clip_value, clip_value]` (NaN stays NaN).
    ///
    /// ```
    /// nn::network! { struct Net<Linear<1, 2>> }
    /// let mut grads = nn::Gradients::<Net>::new();
    /// grads.as_mut_slice().copy_from_slice(&[3.0, -0.5, -4.0, 0.0]);
    /// grads.clip_grad_value(1.0);
    /// assert_eq!(grads.as_slice(), [1.0, -0.5, -1.0, 0.0]);
    /// ```
    #[doc(alias = "clip_grad_value_")]
    pub fn clip_grad_value(&mut self, clip_value: f32) {
        for v in self.as_mut_slice() {
            if *v > clip_value {
                *v = clip_value;
            } else if *v < -clip_value {
                *v = -clip_value;
            }
        }
    }
}
