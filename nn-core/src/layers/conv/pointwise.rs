//! The batched paths of a 1 × 1 [`Conv2d`] of stride 1 without padding: each sample is a
//! matrix product with the weight (`[COUT, CIN] · [CIN, H·W]`), with no patch matrix.

use super::Conv2d;
use crate::gemm::{gemm, MatMut, MatRef};
use crate::kernels::lane_sum;
use crate::Layer;

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Conv2d<CIN, COUT, K, S, P, H, W, BIAS>
{
    /// Whether this convolution is a matrix product per sample: a 1 × 1 kernel, stride 1,
    /// no padding.
    pub(super) const POINTWISE: bool = K == 1 && S == 1 && P == 0;

    /// `y ← W · x + bias` sample by sample for a [`Self::POINTWISE`] convolution.
    pub(super) fn forward_pointwise(&self, x: &[f32], y: &mut [f32]) {
        let q = Self::POSITIONS;
        let w = MatRef::row_major(self.weight_matrix(), COUT, CIN);
        for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
            for (plane, &b) in y.chunks_exact_mut(q).zip(&self.bias) {
                plane.fill(b);
            }
            gemm(
                1.0,
                w,
                MatRef::row_major(x, CIN, q),
                1.0,
                MatMut::row_major(y, COUT, q),
            );
        }
    }

    /// The backward pass of a [`Self::POINTWISE`] convolution: per sample,
    /// `dW += dY · Xᵀ` and `dX = Wᵀ · dY`; adds the weight and bias gradients into `grad`
    /// and writes the input gradient into `dx` when given.
    pub(super) fn backward_pointwise(
        &self,
        x: &[f32],
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        grad: &mut [f32],
    ) {
        let q = Self::POSITIONS;
        let (gw, gb) = grad.split_at_mut(COUT * CIN);
        let w = MatRef::row_major(self.weight_matrix(), COUT, CIN);
        let samples = x.chunks_exact(Self::IN).zip(dy.chunks_exact(Self::OUT));
        for (s, (x, dy)) in samples.enumerate() {
            for (g, plane) in gb.iter_mut().zip(dy.chunks_exact(q)) {
                *g += lane_sum(plane);
            }
            let dyv = MatRef::row_major(dy, COUT, q);
            gemm(
                1.0,
                dyv,
                MatRef::row_major(x, CIN, q).t(),
                1.0,
                MatMut::row_major(gw, COUT, CIN),
            );
            if let Some(dx) = dx.as_deref_mut() {
                let dx = &mut dx[s * Self::IN..][..Self::IN];
                gemm(1.0, w.t(), dyv, 0.0, MatMut::row_major(dx, CIN, q));
            }
        }
    }
}
