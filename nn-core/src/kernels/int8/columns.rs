//! Convolution as a matrix product two output positions and two channels at a time, for the
//! DSP extension (Cortex-M4, M7): CMSIS-NN's `arm_nn_mat_mult_kernel_s8_s16` in this crate's
//! layouts. Each position's inputs (a 1×1 convolution's channels, or a patch) are written
//! once as `i16` offsets `x − zp`, and each word of four weights, split into two pairs by
//! `SXTB16`, meets both positions' inputs: eight `SMLAD`s for four weight-input pairs of two
//! channels at two positions, one instruction per multiply-add in the loop.
//!
//! The driver, its column layout and its edges (an odd channel or position, inputs past the
//! last four, the requantisation) are portable Rust, tested on every host against the plain
//! convolution; only the inner block is assembly (`columns_arm.rs`), with a portable twin
//! here that computes the same sums.

use super::arith::{Fused, Prepared, Scale};
use crate::int8::{Output, Weights};

/// The most inputs per position (a 1×1 convolution's input channels, or a patch
/// `in · kH · kW`) the columns hold: 1 KB of them on the stack, and 512 bytes of patches.
pub(crate) const MAX_INPUTS: usize = 256;

/// Output channels whose multipliers are prepared at a time.
const BLOCK: usize = 64;

/// Where each position's `k` inputs come from.
pub(crate) enum Inputs<'a, F: FnMut(usize, &mut [i8])> {
    /// `fill(p, x)` writes position `p`'s inputs into `x` (a patch).
    Each(F),
    /// A 1×1 convolution's image `[k, positions]`: position `p`'s inputs are
    /// `image[i · positions + p]`.
    Planes(&'a [i8]),
}

/// `output[c · positions + p] = clamp(zp_out + requant[c](bias[c] + Σ_i w[c · k + i] ·
/// (x_p[i] − zp)))`, where `inputs` gives position `p`'s `k` inputs `x_p` and
/// `weights.weight` is `[channels, k]` (`channels = output.len() / positions`).
///
/// # Panics
/// If `k` is above [`MAX_INPUTS`] or the lengths disagree.
pub(crate) fn conv_columns(
    weights: &Weights,
    k: usize,
    zp: i32,
    positions: usize,
    out: Output,
    output: &mut [i8],
    mut inputs: Inputs<impl FnMut(usize, &mut [i8])>,
) {
    assert!(k <= MAX_INPUTS && positions > 0);
    let weight = weights.weight;
    let channels = output.len() / positions;
    assert!(output.len() == channels * positions && weight.len() == channels * k);
    let groups = k / 4;
    // Per four inputs `x0..x3` of positions `p` and `p + 1`: the words (x0, x2), (x1, x3)
    // of `p`, then of `p + 1`, each an `i16` pair, the first in the low half.
    let mut columns = [0u32; MAX_INPUTS];
    let mut patches = [[0i8; MAX_INPUTS]; 2];
    let mut bias = [0i32; BLOCK];
    let mut fused = [Fused::default(); BLOCK];
    let mut prepared = [Prepared::default(); BLOCK];
    for c0 in (0..channels).step_by(BLOCK) {
        let g = BLOCK.min(channels - c0);
        let mut all_fused = true;
        for c in 0..g {
            let (b, r) = weights.channel(c0 + c);
            bias[c] = b;
            // Unused where not all are fused.
            let f = Fused::new(r.multiplier, r.shift);
            all_fused &= f.is_some();
            fused[c] = f.unwrap_or_default();
            prepared[c] = Prepared::new(r.multiplier, r.shift);
        }
        // Per pair of channels, the biases and both multipliers, as the assembly reads them.
        #[cfg(nn_arm_dsp)]
        let records: [[i32; 8]; BLOCK / 2] = core::array::from_fn(|j| {
            let (a, b) = (2 * j, (2 * j + 1).min(BLOCK - 1));
            let ([ma, ha, sa], [mb, hb, sb]) = (fused[a].parts(), fused[b].parts());
            [bias[a], bias[b], ma, ha, sa, mb, hb, sb]
        });
        for p in (0..positions).step_by(2) {
            let two = p + 1 < positions;
            let [first, second] = &mut patches;
            let (first, second) = (&mut first[..k], &mut second[..k]);
            let direct = match &mut inputs {
                #[cfg(nn_arm_dsp)]
                Inputs::Planes(image) if two && 4 * groups == k => {
                    // Straight from the image's planes, both positions in one halfword.
                    planes_columns(image, positions, p, zp, &mut columns[..k]);
                    true
                }
                Inputs::Planes(image) => {
                    for (i, (a, b)) in first.iter_mut().zip(second.iter_mut()).enumerate() {
                        let row = &image[i * positions..];
                        *a = row[p];
                        *b = row[if two { p + 1 } else { p }];
                    }
                    false
                }
                Inputs::Each(fill) => {
                    fill(p, first);
                    if two {
                        fill(p + 1, second);
                    } else {
                        second.copy_from_slice(first);
                    }
                    false
                }
            };
            let pack = |lo: i8, hi: i8| {
                (lo as i32 - zp) as u16 as u32 | ((hi as i32 - zp) as u16 as u32) << 16
            };
            let pairs = columns
                .chunks_exact_mut(4)
                .zip(first.chunks_exact(4))
                .zip(second.chunks_exact(4));
            if !direct {
                for ((c, a), b) in pairs {
                    c[0] = pack(a[0], a[2]);
                    c[1] = pack(a[1], a[3]);
                    c[2] = pack(b[0], b[2]);
                    c[3] = pack(b[1], b[3]);
                }
            }
            let columns = &columns[..4 * groups];
            let tails = [&first[4 * groups..], &second[4 * groups..]];
            let block = Block {
                weight: &weight[c0 * k..(c0 + g) * k],
                k,
                columns,
                tails,
                zp,
                bias: &bias[..g],
                out,
            };
            let at = c0 * positions + p;
            let count = if two { 2 } else { 1 };
            #[cfg_attr(not(nn_arm_dsp), allow(unused_mut))]
            let mut from = 0;
            #[cfg(nn_arm_dsp)]
            if all_fused && two && groups > 0 && 4 * groups == k && g >= 2 {
                // Every pair of channels in assembly, requantisation included (no inputs
                // past the last four).
                let mut pairs = super::columns_arm::Pairs {
                    weight: block.weight.as_ptr(),
                    k,
                    columns: columns.as_ptr(),
                    end: columns.as_ptr_range().end,
                    params: records.as_ptr(),
                    output: output[at..].as_mut_ptr(),
                    positions,
                    pairs: g / 2,
                    zero_point: out.zero_point,
                    min: out.min,
                    max: out.max,
                };
                // Every pair's outputs lie within `output`: channel `c0 + c` at
                // position `p + 1` is `at + c · positions + 1`, below its length.
                assert!(at + (2 * (g / 2) - 1) * positions + 1 < output.len());
                // SAFETY: the columns are `groups > 0` whole groups; the block's `g` rows
                // of `k` weights, `g / 2` records and the outputs (checked above) are
                // what it reads and writes.
                unsafe { super::columns_arm::pairs(&mut pairs) };
                from = g / 2 * 2;
            }
            if all_fused {
                block.run(&fused[..g], &mut output[at..], positions, count, from);
            } else {
                block.run(&prepared[..g], &mut output[at..], positions, count, from);
            }
        }
    }
}

/// The columns of positions `p` and `p + 1` of a 1×1 convolution's image `[k, positions]`
/// (`columns.len() == k`, a multiple of 4): each channel's two values are one halfword, and
/// `SXTB16` of two channels' halfwords gives both positions' pairs.
#[cfg(nn_arm_dsp)]
fn planes_columns(image: &[i8], positions: usize, p: usize, zp: i32, columns: &mut [u32]) {
    let zp = (zp as u16 as u32) * 0x1_0001;
    for (g, c) in columns.chunks_exact_mut(4).enumerate() {
        let both = |j: usize| {
            let x = &image[(4 * g + j) * positions + p..][..2];
            x[0] as u8 as u32 | (x[1] as u8 as u32) << 8
        };
        // Bytes (x0 at p, x0 at p + 1, x2 at p, x2 at p + 1), and the same of x1, x3.
        let [even_p, even_q] = super::dot_arm::split_pairs(both(0) | both(2) << 16, zp);
        let [odd_p, odd_q] = super::dot_arm::split_pairs(both(1) | both(3) << 16, zp);
        c.copy_from_slice(&[even_p, odd_p, even_q, odd_q]);
    }
}

/// Two positions' columns against a block of channels.
struct Block<'a> {
    /// `[g, k]`.
    weight: &'a [i8],
    k: usize,
    columns: &'a [u32],
    /// Each position's inputs past the last four.
    tails: [&'a [i8]; 2],
    zp: i32,
    bias: &'a [i32],
    out: Output,
}

impl Block<'_> {
    /// Writes channel `c`'s outputs of the `count` positions at `output[c · positions]`, for
    /// the channels from `from` on.
    #[inline(always)]
    fn run<R: Scale>(
        &self,
        requant: &[R],
        output: &mut [i8],
        positions: usize,
        count: usize,
        from: usize,
    ) {
        let (k, g) = (self.k, self.bias.len());
        let body = self.columns.len();
        for c in (from..g).step_by(2) {
            // A last odd channel reads its own row twice.
            let d = if c + 1 < g { 1 } else { 0 };
            let rows = [&self.weight[c * k..][..k], &self.weight[(c + d) * k..][..k]];
            let mut acc = [
                self.bias[c],
                self.bias[c],
                self.bias[c + d],
                self.bias[c + d],
            ];
            if body > 0 {
                block_2x2(rows, self.columns, &mut acc);
            }
            if body < k {
                for (r, row) in rows.iter().enumerate() {
                    for (q, tail) in self.tails.iter().enumerate() {
                        for (&w, &x) in row[body..].iter().zip(*tail) {
                            acc[2 * r + q] += w as i32 * (x as i32 - self.zp);
                        }
                    }
                }
            }
            for r in 0..=d {
                let scale = requant[c + r];
                let ys = &mut output[(c + r) * positions..];
                for q in 0..count {
                    ys[q] = self.out.write(scale.apply(acc[2 * r + q]));
                }
            }
        }
    }
}

/// `acc[2r + q] += Σ_i rows[r][i] · x_q[i]` over the columns' inputs (two rows, two
/// positions): the assembly block on the DSP extension.
#[inline(always)]
fn block_2x2(rows: [&[i8]; 2], columns: &[u32], acc: &mut [i32; 4]) {
    debug_assert!(rows[0].len() >= columns.len() && rows[1].len() >= columns.len());
    #[cfg(nn_arm_dsp)]
    {
        // The row's distance may be negative or zero (an odd channel reads its row twice).
        let stride = (rows[1].as_ptr() as usize).wrapping_sub(rows[0].as_ptr() as usize);
        // SAFETY: the columns are a whole number of groups of four words (`columns.len()`
        // a multiple of 4, at least 4: `body > 0` above), and each row holds a weight per
        // input the columns hold (`rows[r].len() >= columns.len()`), which is all the block
        // reads.
        unsafe { super::columns_arm::block_2x2(rows[0].as_ptr(), stride, columns, acc) }
    }
    #[cfg(not(nn_arm_dsp))]
    {
        let half = |w: u32, hi: bool| (if hi { w >> 16 } else { w } as u16 as i16) as i32;
        for (j, group) in columns.chunks_exact(4).enumerate() {
            for (r, row) in rows.iter().enumerate() {
                let w = &row[4 * j..][..4];
                for q in 0..2 {
                    let (even, odd) = (group[2 * q], group[2 * q + 1]);
                    acc[2 * r + q] += w[0] as i32 * half(even, false)
                        + w[2] as i32 * half(even, true)
                        + w[1] as i32 * half(odd, false)
                        + w[3] as i32 * half(odd, true);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::int8::{conv2d, Activation, Conv2dShape, Padding, Requant};

    /// Values from a xorshift generator, the same on every run.
    fn values<const N: usize>(seed: u32) -> [i8; N] {
        let mut s = seed;
        core::array::from_fn(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as i8
        })
    }

    #[test]
    fn columns_equal_the_convolution() {
        let x = values::<8192>(3);
        let weight = values::<8192>(4);
        let bias: [i32; 80] = core::array::from_fn(|i| (i as i32 * 7919) % 40001 - 20000);
        // Multipliers the fused rounding takes, and below them some it does not (a shift of
        // −1, a multiplier of exactly 2^30, one above 1).
        let mut requant: [Requant; 80] =
            core::array::from_fn(|i| Requant::new(0.0004 + i as f64 * 0.00003));
        let others = [Requant::new(0.3), Requant::new(0.5), Requant::new(1.5)];
        // Input channels, image, output channels, kernel, stride, padding, zero point, with
        // the multipliers all fused or not.
        let cases = [
            (64, [25, 5], 64, [1, 1], [1, 1], Padding::Valid, 0, true),
            (7, [3, 9], 5, [1, 1], [1, 1], Padding::Valid, 4, false),
            (13, [5, 3], 80, [1, 1], [1, 1], Padding::Valid, -7, true),
            (1, [49, 10], 64, [10, 4], [2, 2], Padding::Same, -5, true),
            (3, [8, 7], 9, [3, 3], [1, 1], Padding::Same, 12, false),
            (2, [9, 9], 3, [3, 2], [2, 3], Padding::Valid, -128, true),
            (6, [1, 1], 3, [1, 1], [1, 1], Padding::Valid, 127, false),
        ];
        for (n, &(cin, image, cout, kernel, stride, padding, zp, fused)) in cases.iter().enumerate()
        {
            if !fused {
                for (i, r) in requant.iter_mut().enumerate().step_by(3) {
                    *r = others[i % 3];
                }
            }
            let s = Conv2dShape::tflite(
                [cin, image[0], image[1]],
                cout,
                kernel,
                stride,
                [1, 1],
                padding,
            );
            let k = cin * kernel[0] * kernel[1];
            let weights = Weights {
                weight: &weight[..cout * k],
                bias: Some(&bias[..cout]),
                requant: &requant[..cout],
            };
            let out = Output::new(0.5, n as i32 - 3, Activation::Relu);
            let input = &x[..s.input_len()];
            let len = s.output_len();
            let mut want = [0i8; 8000];
            conv2d(&s, input, zp, weights, out, &mut want[..len]);
            let mut got = [0i8; 8000];
            let [oh, ow] = s.output;
            let fill = |p: usize, piece: &mut [i8]| {
                super::super::conv::patch(&s, input, zp, [p / ow, p % ow], piece)
            };
            let inputs = if kernel == [1, 1] && stride == [1, 1] && oh * ow == image[0] * image[1] {
                Inputs::Planes(input)
            } else {
                Inputs::Each(fill)
            };
            conv_columns(&weights, k, zp, oh * ow, out, &mut got[..len], inputs);
            assert_eq!(got[..len], want[..len], "case {n}");
        }
    }
}
