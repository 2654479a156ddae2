//! The transposed convolution's loops, over the geometry of the convolution it is the adjoint
//! of.
//!
//! PyTorch's `ConvTranspose2d(CIN, COUT, K, stride=S, padding=P)` on `H × W` is the input
//! gradient of `Conv2d(COUT, CIN, K, stride=S, padding=P)` on its `OH × OW` output, with the
//! same weight: `[CIN, COUT, K, K]` is that convolution's `[out, in, K, K]`. So the geometry
//! here (`Shape::GEOM`) is that convolution's: `cin` = `COUT` channels of `h × w` = `OH ×
//! OW` in, `oh × ow` = `H × W` out, and its patch matrix has one row per tap `(co, ki, kj)`,
//! `COUT·K·K` of them, and one column per input pixel of the transposed convolution. Then:
//!
//! - forward, `y = b + col2im(Wᵀ · x)`: each input pixel scatters `x · W` into the output
//!   (what the convolution's input gradient does);
//! - input gradient, `dx = W · im2col(dy)`: the convolution's forward pass over `dy`;
//! - weight gradient, `dW = x · im2col(dy)ᵀ`: the convolution's weight gradient with the two
//!   roles swapped; bias gradient, the sum of each output plane of `dy`.
//!
//! The direct loops (no heap) walk `Geom::runs`; with `alloc`, the blocked paths build the
//! patch matrix in a caller's buffer, a block of taps and pixels at a time, and multiply on
//! `matrixmultiply`. Weights are the row-major `[CIN, COUT·K·K]` matrix `w`; a sample's
//! input is `[CIN, H·W]` and its output `[COUT, OH·OW]`.

use super::Shape;
#[cfg(feature = "alloc")]
use crate::gemm::{gemm, MatMut, MatRef};
#[cfg(feature = "alloc")]
use crate::kernels::conv::im2col::Blocks;
use crate::kernels::lane_sum;

/// Output pixels per channel (`OH·OW`), input pixels per channel (`H·W`) and taps of `G`.
fn sizes<G: Shape>() -> (usize, usize, usize) {
    let g = G::GEOM;
    (g.h * g.w, g.positions(), g.taps())
}

/// Fills each output plane of one sample with its bias.
fn fill_bias<G: Shape>(bias: &[f32], y: &mut [f32]) {
    let (plane, _, _) = sizes::<G>();
    for (y, b) in y.chunks_exact_mut(plane).zip(bias) {
        y.fill(*b);
    }
}

/// Adds each output plane's sum of one sample's `dy` into the bias gradient `gb` (empty for
/// a layer without bias).
pub(crate) fn bias_grad<G: Shape>(dy: &[f32], gb: &mut [f32]) {
    let (plane, _, _) = sizes::<G>();
    for (g, dy) in gb.iter_mut().zip(dy.chunks_exact(plane)) {
        *g += lane_sum(dy);
    }
}

/// One sample's forward pass by direct loops, `y ← b + col2im(Wᵀ · x)`, with no heap.
pub(crate) fn forward_direct<G: Shape>(w: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
    let (s, (_, q, taps)) = (G::GEOM.s, sizes::<G>());
    fill_bias::<G>(bias, y);
    // Tap by tap, each input row's valid run scatters `w · x` along an output row, for
    // every input channel.
    for (r, at, out, n) in G::GEOM.runs() {
        let y = &mut y[out..][..(n - 1) * s + 1];
        for (x, w) in x.chunks_exact(q).zip(w[r..].iter().step_by(taps)) {
            for (y, x) in y.iter_mut().step_by(s).zip(&x[at..][..n]) {
                *y += w * x;
            }
        }
    }
}

/// One sample's backward pass by direct loops, with no heap: adds the weight gradient into
/// `gw` and, when `dx` is given, writes the input gradient: what the build without `alloc`
/// runs, and what the tests hold the blocked path to.
#[cfg_attr(all(feature = "alloc", not(test)), allow(dead_code))]
pub(crate) fn backward_direct<G: Shape>(
    w: &[f32],
    x: &[f32],
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    gw: &mut [f32],
) {
    let (s, (_, q, taps)) = (G::GEOM.s, sizes::<G>());
    if let Some(dx) = dx.as_deref_mut() {
        dx.fill(0.0);
    }
    for (r, at, out, n) in G::GEOM.runs() {
        let dy = &dy[out..][..(n - 1) * s + 1];
        for (ci, x) in x.chunks_exact(q).enumerate() {
            let g = &mut gw[ci * taps + r];
            for (x, d) in x[at..][..n].iter().zip(dy.iter().step_by(s)) {
                *g += x * d;
            }
            if let Some(dx) = dx.as_deref_mut() {
                let w = w[ci * taps + r];
                let dx = &mut dx[ci * q + at..][..n];
                for (dx, d) in dx.iter_mut().zip(dy.iter().step_by(s)) {
                    *dx += w * d;
                }
            }
        }
    }
}

/// One sample's forward pass through `block` (at least 1 float of room): the bias, then for
/// each block of taps `rows` and input pixels `cols`, `y += col2im(W[:, rows]ᵀ · x[:, cols])`.
#[cfg(feature = "alloc")]
pub(crate) fn forward_blocked<G: Shape>(
    w: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    block: &mut [f32],
) {
    let g = G::GEOM;
    let (_, q, taps) = sizes::<G>();
    let cin = x.len() / q;
    fill_bias::<G>(bias, y);
    let blocks = Blocks::new(&g, block.len());
    for cols in blocks.col_ranges() {
        let x_part = MatRef::strided(&x[cols.start..], cin, cols.len(), q, 1);
        for rows in blocks.row_ranges() {
            let part = &mut block[..rows.len() * cols.len()];
            gemm(
                1.0,
                MatRef::strided(&w[rows.start..], rows.len(), cin, 1, taps),
                x_part,
                0.0,
                MatMut::row_major(part, rows.len(), cols.len()),
            );
            g.col2im_add(part, y, rows.clone(), cols.clone());
        }
    }
}

/// One sample's backward pass through `block`: for each block of taps `rows` and input
/// pixels `cols`, with `p = im2col(dy)[rows, cols]`, `dW[:, rows] += x[:, cols] · pᵀ` and
/// `dx[:, cols] += W[:, rows] · p`.
#[cfg(feature = "alloc")]
pub(crate) fn backward_blocked<G: Shape>(
    w: &[f32],
    x: &[f32],
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    gw: &mut [f32],
    block: &mut [f32],
) {
    let g = G::GEOM;
    let (_, q, taps) = sizes::<G>();
    let cin = x.len() / q;
    if let Some(dx) = dx.as_deref_mut() {
        dx.fill(0.0);
    }
    let blocks = Blocks::new(&g, block.len());
    for cols in blocks.col_ranges() {
        let x_part = MatRef::strided(&x[cols.start..], cin, cols.len(), q, 1);
        for rows in blocks.row_ranges() {
            let part = &mut block[..rows.len() * cols.len()];
            g.im2col(dy, part, rows.clone(), cols.clone());
            let p = MatRef::row_major(part, rows.len(), cols.len());
            gemm(
                1.0,
                x_part,
                p.t(),
                1.0,
                MatMut::strided(&mut gw[rows.start..], cin, rows.len(), taps, 1),
            );
            if let Some(dx) = dx.as_deref_mut() {
                gemm(
                    1.0,
                    MatRef::strided(&w[rows.start..], cin, rows.len(), taps, 1),
                    p,
                    1.0,
                    MatMut::strided(&mut dx[cols.start..], cin, cols.len(), q, 1),
                );
            }
        }
    }
}
