//! One step of PyTorch's LSTM, gates in PyTorch's order (i, f, g, o):
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g
//! h' = o ⊙ tanh(c')
//! ```

use super::math::{sigmoid_all, tanh_all};
use super::{affine, Mat};

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
