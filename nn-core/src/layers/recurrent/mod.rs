//! The recurrent layers, PyTorch's `nn.GRU` and `nn.LSTM` (`batch_first=True`): [`GRU`] and
//! [`LSTM`] in a file each, their one-step forms ([`GruCell`], [`LstmCell`]) and carried
//! states ([`GruState`], [`LstmState`]) in `cell`, the layers of a stack (`num_layers`) in
//! `stack`, backpropagation through time in `through_time`, and here what they share: how a
//! one-sample pass chooses its weights' layout, PyTorch's initialisation, and the products
//! of backpropagation through time.
//!
//! A sample is `T` steps of `IN` features, `[T, IN]` flat (`T · IN` values), as PyTorch's
//! `batch_first=True` lays out `[batch, T, IN]`; the output is every step's hidden state,
//! `[T, H]`, or with `LAST = true` the last step's alone, `[H]` (what PyTorch code takes as
//! `out[:, -1]` before a `Linear`). The state starts at zero in a network, as PyTorch's does
//! without `h0`; a cell carries it between calls.
//!
//! The step's arithmetic lives in `crate::kernels::recurrent`; every pass runs it in the same
//! order, so that a step, a sequence, a batch and a training pass agree bit for bit.

mod cell;
mod from_state;
mod gru;
mod lstm;
mod stack;
mod through_time;

pub use cell::{GruCell, GruState, LstmCell, LstmState};
pub use from_state::FromState;
pub use gru::GRU;
pub use lstm::LSTM;
pub(crate) use stack::NAMES;
pub use stack::{GruLayer, LstmLayer};

use crate::Rng;

/// The most bytes a one-sample `forward` spends on the stack for a transposed copy of the
/// weights (a cell), which it then steps through; a layer whose cell is larger reads its
/// weights in PyTorch's layout, in place, with the same result bit for bit. Small with no
/// `std`, where stacks are a microcontroller's.
const STACK_CELL: usize = if cfg!(feature = "std") {
    128 * 1024
} else {
    16 * 1024
};

/// PyTorch's initialisation of a recurrent layer: every parameter uniform in `±1/sqrt(H)`,
/// drawn in the order of its parameters.
fn init_uniform<const H: usize>(params: [&mut [f32]; 4], rng: &mut Rng) {
    let bound = 1.0 / libm::sqrtf(H as f32);
    for p in params {
        for w in p {
            *w = rng.uniform(-bound, bound);
        }
    }
}

/// `w += gᵀ v` for `g` `[n, r]` and `v` `[n, k]` row-major, `w` `[r, k]`: a weight's
/// gradient summed over `n` steps.
fn add_outer(w: &mut [f32], g: &[f32], v: &[f32], n: usize, r: usize, k: usize) {
    #[cfg(feature = "alloc")]
    {
        use crate::gemm::{gemm, MatMut, MatRef};
        gemm(
            1.0,
            MatRef::row_major(&g[..n * r], n, r).t(),
            MatRef::row_major(&v[..n * k], n, k),
            1.0,
            MatMut::row_major(&mut w[..r * k], r, k),
        );
    }
    #[cfg(not(feature = "alloc"))]
    for (g, v) in g.chunks_exact(r).zip(v.chunks_exact(k)).take(n) {
        for (w, g) in w.chunks_exact_mut(k).zip(g) {
            for (w, v) in w.iter_mut().zip(v) {
                *w += g * v;
            }
        }
    }
}

/// `b += Σ` of the rows of `g`, `[n, r]`: a bias's gradient.
fn add_rows(b: &mut [f32], g: &[f32], r: usize) {
    for row in g.chunks_exact(r) {
        for (b, g) in b.iter_mut().zip(row) {
            *b += g;
        }
    }
}

/// `x = g w` for `g` `[n, r]` and `w` `[r, k]`: the input's gradient at `n` steps.
fn times_weight(x: &mut [f32], g: &[f32], w: &[f32], n: usize, r: usize, k: usize) {
    #[cfg(feature = "alloc")]
    {
        use crate::gemm::{gemm, MatMut, MatRef};
        gemm(
            1.0,
            MatRef::row_major(&g[..n * r], n, r),
            MatRef::row_major(&w[..r * k], r, k),
            0.0,
            MatMut::row_major(&mut x[..n * k], n, k),
        );
    }
    #[cfg(not(feature = "alloc"))]
    for (x, g) in x.chunks_exact_mut(k).zip(g.chunks_exact(r)).take(n) {
        x.fill(0.0);
        for (w, g) in w.chunks_exact(k).zip(g) {
            for (x, w) in x.iter_mut().zip(w) {
                *x += g * w;
            }
        }
    }
}

/// `dh += Wᵀ g` for `w` `[r, H]` row-major: the gradient that flows back through `W_hh`.
#[inline(always)]
fn add_back<const H: usize>(dh: &mut [f32; H], w: &[f32], g: &[f32]) {
    for (row, g) in w.chunks_exact(H).zip(g) {
        for (d, w) in dh.iter_mut().zip(row) {
            *d += g * w;
        }
    }
}

/// `out ← wᵀ` for `w` `[r, k]` row-major, `out` `[k, r]`.
fn transpose(w: &[f32], out: &mut [f32], r: usize, k: usize) {
    for (i, row) in w.chunks_exact(k).take(r).enumerate() {
        for (j, v) in row.iter().enumerate() {
            out[j * r + i] = *v;
        }
    }
}
