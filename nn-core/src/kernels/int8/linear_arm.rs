//! A baked `Linear` of up to 256 inputs on the Cortex-M4/M7 (the DSP extension): the inputs
//! packed once as `i16` pairs, then two rows at a time through the inner product of
//! [`super::dot_arm`], each pair of accumulators requantised as soon as it is summed, with
//! each row's rescaling chosen when the layer was baked. No accumulator buffer, no per-row
//! decision at run time: what a small layer spends beside its multiply-adds.

use super::arith::Rescale;
use super::dot_arm::{one, pack, two};
use crate::int8::Output;

/// The most inputs [`linear_packed`] takes.
pub(crate) const MAX_INPUTS: usize = 256;

/// `output[o] = out.write(scale[o](bias[o] + Σ_i weight[o · n + i] · input[i]))` with
/// `n = input.len()` at most [`MAX_INPUTS`]: [`super::linear`] with an input zero point of 0
/// (folded into the biases) and the same bits.
///
/// # Panics
/// If `input` is longer than [`MAX_INPUTS`], or the other lengths are not `output.len()`
/// rows (of `n` weights).
#[inline]
pub(crate) fn linear_packed(
    input: &[i8],
    weight: &[i8],
    bias: &[i32],
    scale: &[Rescale],
    out: Output,
    output: &mut [i8],
) {
    let n = input.len();
    assert!(n <= MAX_INPUTS, "{n} inputs");
    // A buffer no larger than needed.
    if n <= 64 {
        rows::<32>(input, weight, bias, scale, out, output)
    } else if n <= 128 {
        rows::<64>(input, weight, bias, scale, out, output)
    } else {
        rows::<128>(input, weight, bias, scale, out, output)
    }
}

/// [`linear_packed`] with room for `2 · H` inputs.
#[inline(always)]
fn rows<const H: usize>(
    input: &[i8],
    weight: &[i8],
    bias: &[i32],
    scale: &[Rescale],
    out: Output,
    output: &mut [i8],
) {
    let n = input.len();
    let rows = output.len();
    assert!(
        n <= 2 * H && weight.len() == rows * n && bias.len() == rows && scale.len() == rows,
        "a weight of {} values, {} biases and {} scales for {n} inputs and {rows} outputs",
        weight.len(),
        bias.len(),
        scale.len()
    );
    let mut pairs = [0u32; H];
    let body = n / 4 * 4;
    pack(&mut pairs[..body / 2], &input[..body]);
    let pairs = &pairs[..body / 2];
    // The inputs past the last four, one at a time.
    let tail = |row: &[i8]| {
        let mut s = 0i32;
        for (&w, &x) in row[body..].iter().zip(&input[body..]) {
            s = s.wrapping_add(w as i32 * x as i32);
        }
        s
    };
    let mut w = weight.as_ptr();
    let mut ys = output.chunks_exact_mut(2);
    let mut bs = bias.chunks_exact(2);
    let mut ss = scale.chunks_exact(2);
    let mut r = 0;
    for ((y, b), s) in (&mut ys).zip(&mut bs).zip(&mut ss) {
        // Rows `r` and `r + 1`: within `weight` by the lengths checked above.
        let (mut a0, mut a1) = two(w, n, pairs);
        if body < n {
            a0 = a0.wrapping_add(tail(&weight[r * n..][..n]));
            a1 = a1.wrapping_add(tail(&weight[(r + 1) * n..][..n]));
        }
        y[0] = out.write(s[0].apply(a0.wrapping_add(b[0])));
        y[1] = out.write(s[1].apply(a1.wrapping_add(b[1])));
        w = w.wrapping_add(2 * n);
        r += 2;
    }
    if let ([y], [b], [s]) = (
        ys.into_remainder(),
        bs.remainder(),
        ss.remainder(),
    ) {
        let mut a = one(w, pairs);
        if body < n {
            a = a.wrapping_add(tail(&weight[r * n..][..n]));
        }
        *y = out.write(s.apply(a.wrapping_add(*b)));
    }
}
