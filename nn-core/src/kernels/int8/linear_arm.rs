//! A baked `Linear` of up to 256 inputs (a multiple of 8) on the Cortex-M4/M7 (the DSP
//! extension): the inputs packed once as `i16` pairs, then four rows per pass of them, each
//! block of four rows laid out when the layer is baked ([`interleave`]) so that one pointer
//! streams through its weights; the four accumulators requantised as soon as they are
//! summed, each row's rescaling chosen when the layer was baked. The rows past the last four
//! stay row-major and run two (or one) at a time through [`super::dot_arm`]'s inner product.

use super::arith::{Rescales, Scale};
use super::dot_arm::{one, pack, two};
use crate::int8::Output;
use core::mem::MaybeUninit;

/// Whether a baked layer of `n` inputs runs through [`linear_packed`] (its weights laid out
/// by [`interleave`]).
pub(crate) const fn packs(n: usize) -> bool {
    n > 0 && n <= 256 && n.is_multiple_of(8)
}

/// The weights of a layer that [`packs`], as [`linear_packed`] reads them: each block of
/// four rows as its four rows' first four weights, then their next four, and so on; the
/// rows past the last block of four as they are. Other layers' weights unchanged.
pub(crate) const fn interleave<const IN: usize, const OUT: usize>(
    weight: [[i8; IN]; OUT],
) -> [[i8; IN]; OUT] {
    if !packs(IN) {
        return weight;
    }
    let mut out = weight;
    let mut b = 0;
    while b < OUT / 4 {
        let mut g = 0;
        while g < IN / 4 {
            let mut k = 0;
            while k < 4 {
                let mut j = 0;
                while j < 4 {
                    let at = b * 4 * IN + g * 16 + k * 4 + j;
                    out[at / IN][at % IN] = weight[4 * b + k][4 * g + j];
                    j += 1;
                }
                k += 1;
            }
            g += 1;
        }
        b += 1;
    }
    out
}

/// `output[o] = out.write(scale[o](bias[o] + Σ_i w[o, i] · input[i]))`, the weights `w` laid
/// out by [`interleave`]: [`super::linear`] with an input zero point of 0 (folded into the
/// biases) and the same bits.
///
/// # Panics
/// If `input.len()` is not one that [`packs`], or the other lengths are not `output.len()`
/// rows (of `input.len()` weights).
#[inline]
pub(crate) fn linear_packed<const OUT: usize>(
    input: &[i8],
    weight: &[i8],
    bias: &[i32],
    scale: &Rescales<OUT>,
    out: Output,
    output: &mut [i8],
) {
    match scale {
        Rescales::Fused(scale) => sized(input, weight, bias, scale, out, output),
        Rescales::Mixed(scale) => sized(input, weight, bias, scale, out, output),
    }
}

/// [`linear_packed`] with each row's rescaling `S`.
#[inline(always)]
fn sized<S: Scale>(
    input: &[i8],
    weight: &[i8],
    bias: &[i32],
    scale: &[S],
    out: Output,
    output: &mut [i8],
) {
    let n = input.len();
    assert!(packs(n), "{n} inputs");
    // A buffer no larger than needed.
    if n <= 64 {
        rows::<32, S>(input, weight, bias, scale, out, output)
    } else if n <= 128 {
        rows::<64, S>(input, weight, bias, scale, out, output)
    } else {
        rows::<128, S>(input, weight, bias, scale, out, output)
    }
}

/// [`linear_packed`] with room for `2 · H` inputs.
#[inline(always)]
fn rows<const H: usize, S: Scale>(
    input: &[i8],
    weight: &[i8],
    bias: &[i32],
    scale: &[S],
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
    let mut buffer = [const { MaybeUninit::<u32>::uninit() }; H];
    let words = &mut buffer[..n / 2];
    pack(words, input);
    // SAFETY: `pack` wrote every one of the `n / 2` words (two per four inputs, `n` a
    // multiple of 8).
    let pairs = unsafe { core::slice::from_raw_parts(words.as_ptr() as *const u32, n / 2) };
    let mut w = weight.as_ptr();
    let mut ys = output.chunks_exact_mut(4);
    let mut bs = bias.chunks_exact(4);
    let mut ss = scale.chunks_exact(4);
    for ((y, b), s) in (&mut ys).zip(&mut bs).zip(&mut ss) {
        // The block's `4 · n` weights, within `weight` by the lengths checked above.
        let (a, next) = four(w, pairs);
        for k in 0..4 {
            y[k] = out.write(s[k].apply(a[k].wrapping_add(b[k])));
        }
        w = next;
    }
    // The last rows, row-major.
    let (ys, bs, ss) = (ys.into_remainder(), bs.remainder(), ss.remainder());
    let mut last = ys.chunks_exact_mut(2);
    for ((y, b), s) in (&mut last).zip(bs.chunks_exact(2)).zip(ss.chunks_exact(2)) {
        let (a0, a1) = two(w, n, pairs);
        y[0] = out.write(s[0].apply(a0.wrapping_add(b[0])));
        y[1] = out.write(s[1].apply(a1.wrapping_add(b[1])));
        w = w.wrapping_add(2 * n);
    }
    if let ([y], [.., b], [.., s]) = (last.into_remainder(), bs, ss) {
        *y = out.write(s.apply(one(w, pairs).wrapping_add(*b)));
    }
}

/// Four interleaved rows at `w` dotted with `pairs` (a multiple of four words); returns the
/// four sums and the address past the block.
#[inline(always)]
fn four(w: *const i8, pairs: &[u32]) -> ([i32; 4], *const i8) {
    let [mut a0, mut a1, mut a2, mut a3] = [0i32; 4];
    let mut w = w;
    let x = pairs.as_ptr();
    let end = x.wrapping_add(pairs.len());
    debug_assert!(pairs.len().is_multiple_of(4) && !pairs.is_empty());
    // SAFETY: reads `8 · pairs.len()` weights from `w` (the caller's block of four rows; a
    // Cortex-M4 reads unaligned words) and `pairs.len()` words from `pairs` (aligned, a
    // multiple of four and not none); writes only the registers named.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldrd {xa}, {xb}, [{x}], #8",
            "ldr {v}, [{w}], #4",
            "sxtb16 {t}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "smlad {a0}, {v}, {xa}, {a0}",
            "smlad {a0}, {t}, {xb}, {a0}",
            "ldr {v}, [{w}], #4",
            "sxtb16 {t}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "smlad {a1}, {v}, {xa}, {a1}",
            "smlad {a1}, {t}, {xb}, {a1}",
            "ldr {v}, [{w}], #4",
            "sxtb16 {t}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "smlad {a2}, {v}, {xa}, {a2}",
            "smlad {a2}, {t}, {xb}, {a2}",
            "ldr {v}, [{w}], #4",
            "sxtb16 {t}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "smlad {a3}, {v}, {xa}, {a3}",
            "smlad {a3}, {t}, {xb}, {a3}",
            "ldrd {xa}, {xb}, [{x}], #8",
            "ldr {v}, [{w}], #4",
            "sxtb16 {t}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "smlad {a0}, {v}, {xa}, {a0}",
            "smlad {a0}, {t}, {xb}, {a0}",
            "ldr {v}, [{w}], #4",
            "sxtb16 {t}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "smlad {a1}, {v}, {xa}, {a1}",
            "smlad {a1}, {t}, {xb}, {a1}",
            "ldr {v}, [{w}], #4",
            "sxtb16 {t}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "smlad {a2}, {v}, {xa}, {a2}",
            "smlad {a2}, {t}, {xb}, {a2}",
            "ldr {v}, [{w}], #4",
            "sxtb16 {t}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "smlad {a3}, {v}, {xa}, {a3}",
            "smlad {a3}, {t}, {xb}, {a3}",
            "cmp {x}, {end}",
            "bne 2b",
            x = inout(reg) x => _,
            w = inout(reg) w,
            end = in(reg) end,
            xa = out(reg) _,
            xb = out(reg) _,
            v = out(reg) _,
            t = out(reg) _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            options(readonly, nostack),
        );
    }
    ([a0, a1, a2, a3], w)
}
