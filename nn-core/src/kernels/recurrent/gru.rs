//! One step of PyTorch's GRU, gates in PyTorch's order (r, z, n):
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = n + z ⊙ (h - n)          (PyTorch's form of (1 - z) ⊙ n + z ⊙ h)
//! ```

use super::math::{sigmoid_all, tanh_all};
use super::{affine, Mat};

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
