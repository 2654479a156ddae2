//! One step of PyTorch's GRU, gates in PyTorch's order (r, z, n):
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = n + z ⊙ (h - n)          (PyTorch's form of (1 - z) ⊙ n + z ⊙ h)
//! ```

use super::math::{sigmoid_all, tanh_all};
use super::{affine, as_rows, in_registers, sum_rows, Mat};

/// A GRU's weights as a step reads them: `W_ih` `[3H, IN]` and `W_hh` `[3H, H]` in either
/// layout, and the biases, `[3H]` each.
#[derive(Clone, Copy)]
pub(crate) struct GruWeights<'a> {
    pub ih: Mat<'a>,
    pub hh: Mat<'a>,
    pub b_ih: &'a [f32],
    pub b_hh: &'a [f32],
}

/// Floats per unit that a training step keeps for backward: r, z, n and `W_hn h + b_hn`.
pub(crate) const GRU_KEEP: usize = 4;

/// One step: `h` becomes `h'` for the input `x`. With `keep` (`GRU_KEEP · H` floats), the
/// gates backward needs are written there: `[r, z, n, W_hn h + b_hn]`, `H` each.
#[inline(always)]
pub(crate) fn gru_step<const FMA: bool, const WIDE: bool, const H: usize>(
    w: &GruWeights<'_>,
    x: &[f32],
    h: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    let mut gi = [[0.0f32; H]; 3];
    gi.as_flattened_mut().copy_from_slice(&w.b_ih[..3 * H]);
    affine::<FMA, WIDE>(gi.as_flattened_mut(), w.ih, x);
    let mut gh = [[0.0f32; H]; 3];
    gh.as_flattened_mut().copy_from_slice(&w.b_hh[..3 * H]);
    affine::<FMA, WIDE>(gh.as_flattened_mut(), w.hh, h);
    gates::<FMA, H>(&gi, &gh, h, keep);
}

/// [`gru_step`] for a cell's transposed weights, `IN` inputs: every sum held in registers
/// from the bias to the last term where the registers hold all `3 · H` of a product, else
/// through [`gru_step`]. The same sums in the same order, so the same bits.
#[inline(always)]
pub(crate) fn gru_step_fixed<const FMA: bool, const WIDE: bool, const IN: usize, const H: usize>(
    w: &GruWeights<'_>,
    x: &[f32],
    h: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    if let (true, Mat::Cols(ih), Mat::Cols(hh)) = (in_registers::<FMA, WIDE>(3 * H), w.ih, w.hh) {
        let ih: &[[[f32; H]; 3]; IN] = as_rows(ih);
        let hh: &[[[f32; H]; 3]; H] = as_rows(hh);
        let b_ih: &[[f32; H]; 3] = as_rows(&w.b_ih[..3 * H]);
        let b_hh: &[[f32; H]; 3] = as_rows(&w.b_hh[..3 * H]);
        let x: &[f32; IN] = as_rows(x);
        let mut gi = *b_ih;
        sum_rows::<FMA, IN, 3, H>(&mut gi, ih, x);
        let mut gh = *b_hh;
        sum_rows::<FMA, H, 3, H>(&mut gh, hh, h);
        gates::<FMA, H>(&gi, &gh, h, keep);
    } else {
        gru_step::<FMA, WIDE, H>(w, x, h, keep);
    }
}

/// The gates from the products `gi = b_ih + W_ih x` and `gh = b_hh + W_hh h`, and `h'`.
#[inline(always)]
fn gates<const FMA: bool, const H: usize>(
    gi: &[[f32; H]; 3],
    gh: &[[f32; H]; 3],
    h: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    // Loops, not `core::array::from_fn`, which may stay a call compiled without the vector
    // unit's instructions.
    let (mut r, mut z, mut n) = ([0.0f32; H], [0.0f32; H], [0.0f32; H]);
    for j in 0..H {
        r[j] = gi[0][j] + gh[0][j];
        z[j] = gi[1][j] + gh[1][j];
    }
    sigmoid_all::<FMA>(&mut r);
    sigmoid_all::<FMA>(&mut z);
    for j in 0..H {
        n[j] = gi[2][j] + r[j] * gh[2][j];
    }
    tanh_all::<FMA>(&mut n);
    for j in 0..H {
        h[j] = n[j] + z[j] * (h[j] - n[j]);
    }
    if let Some(keep) = keep {
        let (kr, rest) = keep.split_at_mut(H);
        let (kz, rest) = rest.split_at_mut(H);
        let (kn, kg) = rest.split_at_mut(H);
        kr.copy_from_slice(&r);
        kz.copy_from_slice(&z);
        kn.copy_from_slice(&n);
        kg[..H].copy_from_slice(&gh[2]);
    }
}
