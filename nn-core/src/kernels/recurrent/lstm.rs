//! One step of PyTorch's LSTM, gates in PyTorch's order (i, f, g, o):
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g
//! h' = o ⊙ tanh(c')
//! ```

use super::math::{sigmoid_all, tanh_all};
use super::{affine, as_rows, from_l2, in_registers, sum_block, sum_rows, Mat};

/// An LSTM's weights as a step reads them: `W_ih` `[4H, IN]` and `W_hh` `[4H, H]` in either
/// layout, and the two biases added, `b_ih + b_hh`, `[4H]`.
#[derive(Clone, Copy)]
pub(crate) struct LstmWeights<'a> {
    pub ih: Mat<'a>,
    pub hh: Mat<'a>,
    pub b: &'a [f32],
}

/// Floats per unit that a training step keeps for backward: i, f, g, o, c' and tanh c'.
pub(crate) const LSTM_KEEP: usize = 6;

/// One step: `h` and `c` become `h'` and `c'` for the input `x`. With `keep`
/// (`LSTM_KEEP · H` floats), what backward needs is written there:
/// `[i, f, g, o, c', tanh c']`, `H` each.
#[inline(always)]
pub(crate) fn lstm_step<const FMA: bool, const WIDE: bool, const H: usize>(
    w: &LstmWeights<'_>,
    x: &[f32],
    h: &mut [f32; H],
    c: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    let mut a = [[0.0f32; H]; 4];
    a.as_flattened_mut().copy_from_slice(&w.b[..4 * H]);
    affine::<FMA, WIDE>(a.as_flattened_mut(), w.ih, x);
    affine::<FMA, WIDE>(a.as_flattened_mut(), w.hh, h);
    gates::<FMA, H, H>(a, 0, H, h, c, keep);
}

/// [`lstm_step`] for a cell's transposed weights, `IN` inputs, where products fuse, every sum
/// held in registers from the bias to the last term:
/// - where the weights come from the second-level cache ([`from_l2`]), sixteen units at a time:
///   their four sums, then their gates, so that one block's gates run while the next block's
///   weights arrive;
/// - else, where the registers hold all `4 · H` sums, all of them, then the gates.
///
/// Else through [`lstm_step`]. The same sums in the same order, so the same bits.
#[inline(always)]
pub(crate) fn lstm_step_fixed<
    const FMA: bool,
    const WIDE: bool,
    const IN: usize,
    const H: usize,
>(
    w: &LstmWeights<'_>,
    x: &[f32],
    h: &mut [f32; H],
    c: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    if let (true, Mat::Cols(ih), Mat::Cols(hh)) = (FMA && from_l2(4 * H * (IN + H)), w.ih, w.hh) {
        let w = Fixed::<IN, H> {
            ih: as_rows(ih),
            hh: as_rows(hh),
            b: as_rows(&w.b[..4 * H]),
        };
        w.step::<FMA, 16>(as_rows(x), h, c, keep);
    } else if let (true, Mat::Cols(ih), Mat::Cols(hh)) =
        (in_registers::<FMA, WIDE>(4 * H), w.ih, w.hh)
    {
        let ih: &[[[f32; H]; 4]; IN] = as_rows(ih);
        let hh: &[[[f32; H]; 4]; H] = as_rows(hh);
        let mut a: [[f32; H]; 4] = *as_rows(&w.b[..4 * H]);
        sum_rows::<FMA, IN, 4, H>(&mut a, ih, as_rows(x));
        sum_rows::<FMA, H, 4, H>(&mut a, hh, h);
        gates::<FMA, H, H>(a, 0, H, h, c, keep);
    } else {
        lstm_step::<FMA, WIDE, H>(w, x, h, c, keep);
    }
}

/// A cell's weights as arrays of the sizes the compiler knows.
struct Fixed<'a, const IN: usize, const H: usize> {
    ih: &'a [[[f32; H]; 4]; IN],
    hh: &'a [[[f32; H]; 4]; H],
    b: &'a [[f32; H]; 4],
}

impl<const IN: usize, const H: usize> Fixed<'_, IN, H> {
    /// One step, `L` units at a time.
    #[inline(always)]
    fn step<const FMA: bool, const L: usize>(
        &self,
        x: &[f32; IN],
        h: &mut [f32; H],
        c: &mut [f32; H],
        mut keep: Option<&mut [f32]>,
    ) {
        let old = *h;
        let mut at = 0;
        while at + L <= H {
            self.units::<FMA, L>(at, L, x, &old, h, c, keep.as_deref_mut());
            at += L;
        }
        if at < H {
            self.units::<FMA, L>(at, H - at, x, &old, h, c, keep);
        }
    }

    /// Units `at .. at + n` (`n ≤ L`): their sums over `x` and the old `h`, then their gates,
    /// written to `h` and `c`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn units<const FMA: bool, const L: usize>(
        &self,
        at: usize,
        n: usize,
        x: &[f32; IN],
        old: &[f32; H],
        h: &mut [f32; H],
        c: &mut [f32; H],
        keep: Option<&mut [f32]>,
    ) {
        let mut a = [[0.0f32; L]; 4];
        for (a, b) in a.iter_mut().zip(self.b) {
            a[..n].copy_from_slice(&b[at..at + n]);
        }
        sum_block::<FMA, 4, H, L>(&mut a, self.ih, x, at, n);
        sum_block::<FMA, 4, H, L>(&mut a, self.hh, old, at, n);
        gates::<FMA, H, L>(a, at, n, h, c, keep);
    }
}

/// The gates of units `at .. at + n` (`n ≤ L`) from their sums `a = b + W_ih x + W_hh h`, and
/// their `h'` and `c'`.
#[inline(always)]
fn gates<const FMA: bool, const H: usize, const L: usize>(
    a: [[f32; L]; 4],
    at: usize,
    n: usize,
    h: &mut [f32; H],
    c: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    let [mut i, mut f, mut g, mut o] = a;
    let (i, f, g, o) = (&mut i[..n], &mut f[..n], &mut g[..n], &mut o[..n]);
    sigmoid_all::<FMA>(i);
    sigmoid_all::<FMA>(f);
    tanh_all::<FMA>(g);
    sigmoid_all::<FMA>(o);
    let c = &mut c[at..at + n];
    for j in 0..n {
        c[j] = f[j] * c[j] + i[j] * g[j];
    }
    let mut tc = [0.0f32; L];
    let tc = &mut tc[..n];
    tc.copy_from_slice(c);
    tanh_all::<FMA>(tc);
    let h = &mut h[at..at + n];
    for j in 0..n {
        h[j] = o[j] * tc[j];
    }
    if let Some(keep) = keep {
        for (dst, src) in keep.chunks_exact_mut(H).zip([&*i, f, g, o, c, tc]) {
            dst[at..at + n].copy_from_slice(src);
        }
    }
}
