//! The batched paths of [`Conv2d`]: patch matrices built block by block in a buffer the
//! caller provides (a stack array), and the products on `matrixmultiply`.
//!
//! Two plans. The usual one ([`Plan::Grouped`]) takes whole output rows with every tap, puts
//! a row of ones above the patch matrix so that the bias rides along in the product, and,
//! for fewer than 16 output channels, sets the patch matrices of `⌈16 / COUT⌉` samples side by
//! side against a block-diagonal weight: `matrixmultiply`'s AVX-512 tile is 16 × 16, and a
//! product with 8 output channels otherwise runs every tile through its slower masked path.
//! When even one output row of every tap does not fit the buffer (thousands of taps),
//! [`Plan::Blocked`] splits the taps too, accumulating the blocks' products, with the bias
//! added on its own.

use core::marker::PhantomData;
use core::ops::Range;

use super::Conv2d;
use crate::gemm::{gemm, MatMut, MatRef};
use crate::kernels::conv::im2col::{Blocks, Geom};
use crate::kernels::conv::Shape;
use crate::kernels::lane_sum;
use crate::kernels::simd::{vectorized, Kernel};
use crate::Layer;

/// Floats of the stack block of [`Layer::forward_batch`](crate::Layer::forward_batch) and
/// [`Layer::backward`](crate::Layer::backward): 64 KB, enough for two samples' patch
/// matrices of the example CNN's first layer (2 × 9 × 676 floats) or one of its second
/// (72 × 121) with the row of ones.
pub(super) const BLOCK: usize = 16384;

/// How a batch is cut for the products.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// `group` samples at a time, `cols_per` columns (whole output rows) at a time.
    Grouped { group: usize, cols_per: usize },
    /// Blocks of taps and columns.
    Blocked(Blocks),
}

impl Plan {
    /// The plan for geometry `g` with `cout` output channels in `room` floats.
    fn new(g: &Geom, cout: usize, room: usize) -> Plan {
        let taps = g.taps();
        let wanted = if cout >= 16 {
            1
        } else {
            16usize.div_ceil(cout)
        };
        for group in [wanted, 1] {
            // The patch matrices behind their row of ones, and the weight (forward) or the
            // gradient (backward) matrix, `[1 + group·taps, group·cout]`.
            let k = 1 + group * taps;
            let matrix = k * group * cout;
            if matrix + k * g.ow <= room {
                let rows = (room - matrix) / (k * g.ow);
                let rows = g.oh.div_ceil(g.oh.div_ceil(rows.clamp(1, g.oh)));
                return Plan::Grouped {
                    group,
                    cols_per: rows * g.ow,
                };
            }
        }
        Plan::Blocked(Blocks::new(g, room))
    }
}

/// The ranges of `step` columns (the last one shorter) covering `0..n`.
fn ranges(n: usize, step: usize) -> impl Iterator<Item = Range<usize>> {
    (0..n).step_by(step).map(move |c| c..(c + step).min(n))
}

/// [`Geom::im2col`] for the convolution `G`, compiled for the widest vector unit.
struct Im2col<'a, G> {
    x: &'a [f32],
    dst: &'a mut [f32],
    rows: Range<usize>,
    cols: Range<usize>,
    shape: PhantomData<G>,
}

impl<G: Shape> Kernel for Im2col<'_, G> {
    #[inline(always)]
    fn run(self) {
        G::GEOM.im2col(self.x, self.dst, self.rows, self.cols)
    }
}

/// [`Geom::col2im_add`] for the convolution `G`, compiled for the widest vector unit.
struct Col2im<'a, G> {
    d: &'a [f32],
    dx: &'a mut [f32],
    rows: Range<usize>,
    cols: Range<usize>,
    shape: PhantomData<G>,
}

impl<G: Shape> Kernel for Col2im<'_, G> {
    #[inline(always)]
    fn run(self) {
        G::GEOM.col2im_add(self.d, self.dx, self.rows, self.cols)
    }
}

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
    /// Writes the block `rows × cols` of sample `x`'s patch matrix into `dst`.
    fn im2col(x: &[f32], dst: &mut [f32], rows: Range<usize>, cols: Range<usize>) {
        vectorized(Im2col::<Self> {
            x,
            dst,
            rows,
            cols,
            shape: PhantomData,
        });
    }

    /// Adds the block `rows × cols` of a patch-matrix gradient into sample gradient `dx`.
    fn col2im_add(d: &[f32], dx: &mut [f32], rows: Range<usize>, cols: Range<usize>) {
        vectorized(Col2im::<Self> {
            d,
            dx,
            rows,
            cols,
            shape: PhantomData,
        });
    }

    /// Fills `a` with the row of ones and the columns `cols` of the patch matrices of the
    /// samples `x` (one after another, `IN` floats each): `[1 + samples·TAPS, cols.len()]`.
    fn patches(x: &[f32], a: &mut [f32], cols: Range<usize>) {
        let n = cols.len();
        let (ones, rest) = a.split_at_mut(n);
        ones.fill(1.0);
        let per = Self::TAPS * n;
        for (x, dst) in x.chunks_exact(Self::IN).zip(rest.chunks_exact_mut(per)) {
            Self::im2col(x, dst, 0..Self::TAPS, cols.clone());
        }
    }

    /// Batch inference, `y ← conv(x)`, through `block`.
    pub(super) fn forward_blocks(&self, x: &[f32], y: &mut [f32], batch: usize, block: &mut [f32]) {
        let (x, y) = (&x[..batch * Self::IN], &mut y[..batch * Self::OUT]);
        match Plan::new(&<Self as Shape>::GEOM, COUT, block.len()) {
            Plan::Grouped { group, cols_per } => self.forward_grouped(x, y, block, group, cols_per),
            Plan::Blocked(blocks) => self.forward_blocked(x, y, block, blocks),
        }
    }

    /// [`Plan::Grouped`] inference: for each group of samples and block of columns,
    /// `yᵀ[cols] = [1 | colsᵀ…] · [bias…; blockdiag(Wᵀ…)]`, written by strides straight
    /// into the samples' outputs.
    fn forward_grouped(
        &self,
        x: &[f32],
        y: &mut [f32],
        block: &mut [f32],
        group: usize,
        cols_per: usize,
    ) {
        let (taps, q) = (Self::TAPS, Self::POSITIONS);
        let (k, n) = (1 + group * taps, group * COUT);
        let (a_room, b) = block.split_at_mut(block.len() - k * n);
        // [1 + group·TAPS, group·COUT]: the bias in the first row, then Wᵀ for each sample
        // of the group down the diagonal.
        b.fill(0.0);
        let w = self.weight_matrix();
        for h in 0..group {
            for co in 0..COUT {
                let col = h * COUT + co;
                b[col] = self.bias[co];
                for r in 0..taps {
                    b[(1 + h * taps + r) * n + col] = w[co * taps + r];
                }
            }
        }
        let batch = x.len() / Self::IN;
        for s in (0..batch).step_by(group) {
            let g = group.min(batch - s);
            let kg = 1 + g * taps;
            let xs = &x[s * Self::IN..][..g * Self::IN];
            for cols in ranges(q, cols_per) {
                let a = &mut a_room[..kg * cols.len()];
                Self::patches(xs, a, cols.clone());
                gemm(
                    1.0,
                    MatRef::strided(a, cols.len(), kg, 1, cols.len()),
                    MatRef::strided(b, kg, g * COUT, n, 1),
                    0.0,
                    MatMut::strided(
                        &mut y[s * Self::OUT + cols.start..],
                        cols.len(),
                        g * COUT,
                        1,
                        q,
                    ),
                );
            }
        }
    }

    /// [`Plan::Blocked`] inference: the bias first, then `y[:, cols] += W[:, rows] ·
    /// patches[rows, cols]` block by block.
    fn forward_blocked(&self, x: &[f32], y: &mut [f32], block: &mut [f32], blocks: Blocks) {
        let (taps, q) = (Self::TAPS, Self::POSITIONS);
        let w = self.weight_matrix();
        for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
            self.fill_bias(y);
            for cols in blocks.col_ranges() {
                for rows in blocks.row_ranges() {
                    let part = &mut block[..rows.len() * cols.len()];
                    Self::im2col(x, part, rows.clone(), cols.clone());
                    gemm(
                        1.0,
                        MatRef::strided(&w[rows.start..], COUT, rows.len(), taps, 1),
                        MatRef::row_major(part, rows.len(), cols.len()),
                        1.0,
                        MatMut::strided(&mut y[cols.start..], COUT, cols.len(), q, 1),
                    );
                }
            }
        }
    }

    /// The backward pass through `block`: adds the weight and bias gradients into `grad`
    /// and, when `dx` is given, writes the input gradient.
    pub(super) fn backward_blocks(
        &self,
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grad: &mut [f32],
        block: &mut [f32],
    ) {
        if Self::POINTWISE {
            return self.backward_pointwise(x, dy, dx, grad);
        }
        #[cfg(feature = "std")]
        let mut dx = dx;
        // Stride 1 on AVX-512: the direct kernels, no patch matrix
        // (`kernels/conv/shifted/gradients.rs`).
        #[cfg(feature = "std")]
        if S == 1 {
            let (gw, gb) = grad.split_at_mut(COUT * Self::TAPS);
            let w = self.weight_matrix();
            if Self::GROUPED.backward_direct(w, x, dy, dx.as_deref_mut(), gw, gb) {
                return;
            }
        }
        match Plan::new(&<Self as Shape>::GEOM, COUT, block.len()) {
            Plan::Grouped { group, cols_per } => {
                self.backward_grouped(x, dy, dx, grad, block, group, cols_per)
            }
            Plan::Blocked(blocks) => self.backward_blocked(x, dy, dx, grad, block, blocks),
        }
    }

    /// [`Plan::Grouped`] backward. For each group and block of columns, one product gives
    /// `[dbias | dW…]` for every sample of the group, `dy[cols] · [1 | colsᵀ…]`, into a
    /// `[group·COUT, 1 + group·TAPS]` matrix that accumulates over the batch and whose
    /// diagonal blocks are the gradients (the others, products of one sample's output
    /// gradient with another's patches, are left unread); then per sample
    /// `dx += col2im(Wᵀ · dy[cols])`, the product written over that sample's patches.
    #[allow(clippy::too_many_arguments)]
    fn backward_grouped(
        &self,
        x: &[f32],
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        grad: &mut [f32],
        block: &mut [f32],
        group: usize,
        cols_per: usize,
    ) {
        let (taps, q) = (Self::TAPS, Self::POSITIONS);
        let (k, n) = (1 + group * taps, group * COUT);
        let (a_room, sums) = block.split_at_mut(block.len() - n * k);
        sums.fill(0.0);
        let w = self.weight_matrix();
        let batch = x.len() / Self::IN;
        for s in (0..batch).step_by(group) {
            let g = group.min(batch - s);
            let kg = 1 + g * taps;
            let xs = &x[s * Self::IN..][..g * Self::IN];
            let dys = &dy[s * Self::OUT..][..g * Self::OUT];
            let mut dxs = dx
                .as_deref_mut()
                .map(|dx| &mut dx[s * Self::IN..][..g * Self::IN]);
            if let Some(dxs) = dxs.as_deref_mut() {
                dxs.fill(0.0);
            }
            for cols in ranges(q, cols_per) {
                let a = &mut a_room[..kg * cols.len()];
                Self::patches(xs, a, cols.clone());
                // sums[..g·COUT, ..kg] += dy[cols] · aᵀ; the group's output gradients are
                // `g·COUT` rows `POSITIONS` apart.
                gemm(
                    1.0,
                    MatRef::strided(&dys[cols.start..], g * COUT, cols.len(), q, 1),
                    MatRef::strided(a, cols.len(), kg, 1, cols.len()),
                    1.0,
                    MatMut::strided(sums, g * COUT, kg, k, 1),
                );
                let Some(dxs) = dxs.as_deref_mut() else {
                    continue;
                };
                let per = taps * cols.len();
                let parts = a[cols.len()..].chunks_exact_mut(per);
                let samples = dys
                    .chunks_exact(Self::OUT)
                    .zip(dxs.chunks_exact_mut(Self::IN));
                for (part, (dy, dx)) in parts.zip(samples) {
                    gemm(
                        1.0,
                        MatRef::row_major(w, COUT, taps).t(),
                        MatRef::strided(&dy[cols.start..], COUT, cols.len(), q, 1),
                        0.0,
                        MatMut::row_major(part, taps, cols.len()),
                    );
                    Self::col2im_add(part, dx, 0..taps, cols.clone());
                }
            }
        }
        let (gw, gb) = grad.split_at_mut(COUT * taps);
        for h in 0..group {
            for co in 0..COUT {
                let row = &sums[(h * COUT + co) * k..][..k];
                if BIAS {
                    gb[co] += row[0];
                }
                for (g, v) in gw[co * taps..][..taps].iter_mut().zip(&row[1 + h * taps..]) {
                    *g += v;
                }
            }
        }
    }

    /// [`Plan::Blocked`] backward: per sample and block, `dW[:, rows] += dy[:, cols] ·
    /// patches[rows, cols]ᵀ` and `dx += col2im(Wᵀ[rows, :] · dy[:, cols])`; the bias
    /// gradient on its own.
    fn backward_blocked(
        &self,
        x: &[f32],
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        grad: &mut [f32],
        block: &mut [f32],
        blocks: Blocks,
    ) {
        let (taps, q) = (Self::TAPS, Self::POSITIONS);
        let w = self.weight_matrix();
        let (gw, gb) = grad.split_at_mut(COUT * taps);
        for (b, (x, dy)) in x
            .chunks_exact(Self::IN)
            .zip(dy.chunks_exact(Self::OUT))
            .enumerate()
        {
            for (g, plane) in gb.iter_mut().zip(dy.chunks_exact(q)) {
                *g += lane_sum(plane);
            }
            let mut dx = dx
                .as_deref_mut()
                .map(|dx| &mut dx[b * Self::IN..][..Self::IN]);
            if let Some(dx) = dx.as_deref_mut() {
                dx.fill(0.0);
            }
            for cols in blocks.col_ranges() {
                let dy_part = MatRef::strided(&dy[cols.start..], COUT, cols.len(), q, 1);
                for rows in blocks.row_ranges() {
                    let part = &mut block[..rows.len() * cols.len()];
                    Self::im2col(x, part, rows.clone(), cols.clone());
                    gemm(
                        1.0,
                        dy_part,
                        MatRef::row_major(part, rows.len(), cols.len()).t(),
                        1.0,
                        MatMut::strided(&mut gw[rows.start..], COUT, rows.len(), taps, 1),
                    );
                    let Some(dx) = dx.as_deref_mut() else {
                        continue;
                    };
                    gemm(
                        1.0,
                        MatRef::strided(&w[rows.start..], rows.len(), COUT, 1, taps),
                        dy_part,
                        0.0,
                        MatMut::row_major(part, rows.len(), cols.len()),
                    );
                    Self::col2im_add(part, dx, rows.clone(), cols.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
