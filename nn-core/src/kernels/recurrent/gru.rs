//! One step of PyTorch's GRU, gates in PyTorch's order (r, z, n):
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = n + z ⊙ (h - n)          (PyTorch's form of (1 - z) ⊙ n + z ⊙ h)
//! ```

use super::math::{sigmoid_all, tanh_all};
use super::{affine, as_rows, from_l2, in_registers, madd, sum_block, sum_rows, Mat};

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
    gates::<FMA, H, H>(&gi, &gh, 0, H, h, keep);
}

/// [`gru_step`] for a cell's transposed weights, `IN` inputs, where products fuse, every sum
/// held in registers from the bias to the last term:
/// - where the weights come from the second-level cache ([`from_l2`]), sixteen units at a time:
///   their sums, then their gates, so that one block's gates run while the next block's
///   weights arrive;
/// - else, where the registers hold all `3 · H` sums of a product, all of them, then the
///   gates.
///
/// Else through [`gru_step`]. The same sums in the same order, so the same bits.
#[inline(always)]
pub(crate) fn gru_step_fixed<const FMA: bool, const WIDE: bool, const IN: usize, const H: usize>(
    w: &GruWeights<'_>,
    x: &[f32],
    h: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    if let (true, Mat::Cols(ih), Mat::Cols(hh)) = (FMA && from_l2(3 * H * (IN + H)), w.ih, w.hh) {
        let w = Fixed::<IN, H> {
            ih: as_rows(ih),
            hh: as_rows(hh),
            b_ih: as_rows(&w.b_ih[..3 * H]),
            b_hh: as_rows(&w.b_hh[..3 * H]),
        };
        w.step::<FMA, 16>(as_rows(x), h, keep);
    } else if let (true, Mat::Cols(ih), Mat::Cols(hh)) =
        (in_registers::<FMA, WIDE>(3 * H), w.ih, w.hh)
    {
        let ih: &[[[f32; H]; 3]; IN] = as_rows(ih);
        let hh: &[[[f32; H]; 3]; H] = as_rows(hh);
        let b_ih: &[[f32; H]; 3] = as_rows(&w.b_ih[..3 * H]);
        let b_hh: &[[f32; H]; 3] = as_rows(&w.b_hh[..3 * H]);
        let x: &[f32; IN] = as_rows(x);
        let mut gi = *b_ih;
        sum_rows::<FMA, IN, 3, H>(&mut gi, ih, x);
        let mut gh = *b_hh;
        sum_rows::<FMA, H, 3, H>(&mut gh, hh, h);
        gates::<FMA, H, H>(&gi, &gh, 0, H, h, keep);
    } else {
        gru_step::<FMA, WIDE, H>(w, x, h, keep);
    }
}

/// A cell's weights as arrays of the sizes the compiler knows.
struct Fixed<'a, const IN: usize, const H: usize> {
    ih: &'a [[[f32; H]; 3]; IN],
    hh: &'a [[[f32; H]; 3]; H],
    b_ih: &'a [[f32; H]; 3],
    b_hh: &'a [[f32; H]; 3],
}

impl<const IN: usize, const H: usize> Fixed<'_, IN, H> {
    /// One step, `L` units at a time.
    #[inline(always)]
    fn step<const FMA: bool, const L: usize>(
        &self,
        x: &[f32; IN],
        h: &mut [f32; H],
        mut keep: Option<&mut [f32]>,
    ) {
        let old = *h;
        let mut at = 0;
        while at + L <= H {
            self.units::<FMA, L>(at, L, x, &old, h, keep.as_deref_mut());
            at += L;
        }
        if at < H {
            self.units::<FMA, L>(at, H - at, x, &old, h, keep);
        }
    }

    /// Units `at .. at + n` (`n ≤ L`): their sums over `x` and the old `h`, then their gates,
    /// written to `h`.
    #[inline(always)]
    fn units<const FMA: bool, const L: usize>(
        &self,
        at: usize,
        n: usize,
        x: &[f32; IN],
        old: &[f32; H],
        h: &mut [f32; H],
        keep: Option<&mut [f32]>,
    ) {
        let sums = |b: &[[f32; H]; 3]| {
            let mut a = [[0.0f32; L]; 3];
            for (a, b) in a.iter_mut().zip(b) {
                a[..n].copy_from_slice(&b[at..at + n]);
            }
            a
        };
        let (mut gi, mut gh) = (sums(self.b_ih), sums(self.b_hh));
        sum_block::<FMA, 3, H, L>(&mut gi, self.ih, x, at, n);
        sum_block::<FMA, 3, H, L>(&mut gh, self.hh, old, at, n);
        gates::<FMA, H, L>(&gi, &gh, at, n, h, keep);
    }
}

/// The gates of units `at .. at + n` (`n ≤ L`) from their products `gi = b_ih + W_ih x` and
/// `gh = b_hh + W_hh h`, and their `h'`.
#[inline(always)]
fn gates<const FMA: bool, const H: usize, const L: usize>(
    gi: &[[f32; L]; 3],
    gh: &[[f32; L]; 3],
    at: usize,
    n: usize,
    h: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    // Loops, not `core::array::from_fn`, which may stay a call compiled without the vector
    // unit's instructions.
    let (mut r, mut z, mut nn) = ([0.0f32; L], [0.0f32; L], [0.0f32; L]);
    let (r, z, nn) = (&mut r[..n], &mut z[..n], &mut nn[..n]);
    for j in 0..n {
        r[j] = gi[0][j] + gh[0][j];
        z[j] = gi[1][j] + gh[1][j];
    }
    sigmoid_all::<FMA>(r);
    sigmoid_all::<FMA>(z);
    for j in 0..n {
        nn[j] = madd::<FMA>(r[j], gh[2][j], gi[2][j]);
    }
    tanh_all::<FMA>(nn);
    let h = &mut h[at..at + n];
    for j in 0..n {
        h[j] = madd::<FMA>(z[j], h[j] - nn[j], nn[j]);
    }
    if let Some(keep) = keep {
        for (dst, src) in keep.chunks_exact_mut(H).zip([&*r, z, nn, &gh[2][..n]]) {
            dst[at..at + n].copy_from_slice(src);
        }
    }
}
