//! One step of PyTorch's LSTM, gates in PyTorch's order (i, f, g, o):
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g
//! h' = o ⊙ tanh(c')
//! ```

use super::math::{sigmoid_all, tanh_all};
use super::{affine, as_rows, in_registers, sum_rows, Mat};

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
    gates::<FMA, H>(a, h, c, keep);
}

/// [`lstm_step`] for a cell's transposed weights, `IN` inputs: every sum held in registers
/// from the bias to the last term where the registers hold all `4 · H` of a product, else
/// through [`lstm_step`]. The same sums in the same order, so the same bits.
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
    if let (true, Mat::Cols(ih), Mat::Cols(hh)) = (in_registers::<FMA, WIDE>(4 * H), w.ih, w.hh) {
        let ih: &[[[f32; H]; 4]; IN] = as_rows(ih);
        let hh: &[[[f32; H]; 4]; H] = as_rows(hh);
        let mut a: [[f32; H]; 4] = *as_rows(&w.b[..4 * H]);
        sum_rows::<FMA, IN, 4, H>(&mut a, ih, as_rows(x));
        sum_rows::<FMA, H, 4, H>(&mut a, hh, h);
        gates::<FMA, H>(a, h, c, keep);
    } else {
        lstm_step::<FMA, WIDE, H>(w, x, h, c, keep);
    }
}

/// The gates from the sums `a = b + W_ih x + W_hh h`, and `h'` and `c'`.
#[inline(always)]
fn gates<const FMA: bool, const H: usize>(
    a: [[f32; H]; 4],
    h: &mut [f32; H],
    c: &mut [f32; H],
    keep: Option<&mut [f32]>,
) {
    let [mut i, mut f, mut g, mut o] = a;
    sigmoid_all::<FMA>(&mut i);
    sigmoid_all::<FMA>(&mut f);
    tanh_all::<FMA>(&mut g);
    sigmoid_all::<FMA>(&mut o);
    for j in 0..H {
        c[j] = f[j] * c[j] + i[j] * g[j];
    }
    let mut tc = *c;
    tanh_all::<FMA>(&mut tc);
    for j in 0..H {
        h[j] = o[j] * tc[j];
    }
    if let Some(keep) = keep {
        for (dst, src) in keep.chunks_exact_mut(H).zip([&i, &f, &g, &o, &*c, &tc]) {
            dst.copy_from_slice(src);
        }
    }
}
