//! Depthwise convolution, TFLite Micro's `DepthwiseConvPerChannel`.

use super::arith::{Fused, Prepared, Scale};
use super::conv::{copy, Conv2dShape};
use crate::int8::{Output, Weights};

/// A depthwise convolution of one int8 image: output channel `c` is input channel
/// `c / M` (`M = out_channels / in_channels`, TFLite's depth multiplier) through its own
/// filter; `weight` is `[C · M, 1, kH, kW]` (PyTorch's grouped layout with `groups = C`).
/// The requantisation, zero points and padding are [`conv2d`](super::conv2d)'s.
///
/// # Panics
/// If a slice's length is not the shape's, or the output channels are not a multiple of the
/// input channels.
pub fn depthwise_conv2d(
    shape: &Conv2dShape,
    input: &[i8],
    input_zero_point: i32,
    weights: Weights,
    out: Output,
    output: &mut [i8],
) {
    let s = shape;
    let [kh, kw] = s.kernel;
    let [oh, ow] = s.output;
    assert_eq!(s.out_channels % s.in_channels, 0, "depth multiplier");
    let multiplier = s.out_channels / s.in_channels;
    assert_eq!(input.len(), s.input_len(), "input length");
    assert_eq!(output.len(), s.output_len(), "output length");
    assert_eq!(
        weights.weight.len(),
        s.out_channels * kh * kw,
        "weight length"
    );
    weights.check(s.out_channels);
    if [kh, kw] == [1, 1] && s.stride == [1, 1] && s.pad == [0, 0] && multiplier == 1 {
        // A per-channel scale (a folded batch norm): each output its input's channel weight.
        let plane = oh * ow;
        for (c, (ys, xs)) in output
            .chunks_exact_mut(plane.max(1))
            .zip(input.chunks_exact(plane.max(1)))
            .enumerate()
        {
            let (bias, requant) = weights.channel(c);
            let w = weights.weight[c] as i32;
            for (y, &x) in ys.iter_mut().zip(xs) {
                *y = out.write(requant.apply(bias + w * (x as i32 - input_zero_point)));
            }
        }
        return;
    }
    if banded::<BAND>(
        s,
        multiplier,
        input,
        input_zero_point,
        &weights,
        out,
        output,
    ) {
        return;
    }
    by_taps(
        s,
        multiplier,
        input,
        input_zero_point,
        &weights,
        out,
        output,
    );
}

/// Bytes in the band of one channel's rows (1 KB on the stack).
const BAND: usize = 1024;

/// The depthwise convolution through a band of each channel's rows with the padding around
/// them, so that each output is a plain sum over its window without bounds. The padding
/// holds the input's zero point and each bias takes `− zp · Σ w`: a padded tap adds
/// `w · zp − w · zp`, nothing, as TFLite's skipped tap. `false`, writing nothing, when `N`
/// bytes do not hold the window's rows of one output row.
fn banded<const N: usize>(
    s: &Conv2dShape,
    multiplier: usize,
    input: &[i8],
    zp: i32,
    weights: &Weights,
    out: Output,
    output: &mut [i8],
) -> bool {
    let [kh, kw] = s.kernel;
    let [ih, iw] = s.input;
    let [oh, ow] = s.output;
    let [sy, sx] = s.stride;
    let [dy, dx] = s.dilation;
    let extent = [(kh - 1) * dy + 1, (kw - 1) * dx + 1];
    // Columns of the padded band: the padding before, the image, the padding after.
    let width = ((ow.max(1) - 1) * sx + extent[1]).max(s.pad[1] + iw);
    // Four bytes past the band's last row stay readable (the 3 × 3 windows read words).
    let room = N - SLACK;
    if extent[0] * width > room || oh == 0 || ow == 0 {
        return false;
    }
    // Output rows per band; with one band, the padding is the same for every channel.
    let rows = (room / width - extent[0]) / sy + 1;
    let one_band = rows >= oh;
    let mut band = [zp as i8; N];
    #[cfg(nn_arm_dsp)]
    let mut acc = [0i32; ACC];
    for oc in 0..s.out_channels {
        let ic = oc / multiplier;
        let plane = &input[ic * ih * iw..][..ih * iw];
        let filter = &weights.weight[oc * kh * kw..][..kh * kw];
        let (bias, requant) = weights.channel(oc);
        let sum = filter.iter().fold(0i32, |a, &w| a + w as i32);
        let bias = bias.wrapping_sub(zp.wrapping_mul(sum));
        let ys = &mut output[oc * oh * ow..][..oh * ow];
        for oy0 in (0..oh).step_by(rows) {
            let oy1 = oh.min(oy0 + rows);
            // Input rows `top..top + height` (signed: the padding above is negative).
            let top = (oy0 * sy) as isize - s.pad[0] as isize;
            let height = (oy1 - 1 - oy0) * sy + extent[0];
            let pad = !one_band || oc == 0;
            if !pad {
                // The padding is in place: the image's rows only.
                let lo = top.max(0) as usize;
                let hi = (top + height as isize).clamp(0, ih as isize) as usize;
                for y in lo..hi {
                    let r = (y as isize - top) as usize;
                    let row = &mut band[r * width + s.pad[1]..][..iw];
                    copy(row, &plane[y * iw..][..iw]);
                }
            }
            for r in (0..height).filter(|_| pad) {
                let row = &mut band[r * width..][..width];
                let y = top + r as isize;
                if y < 0 || y >= ih as isize {
                    if pad {
                        row.fill(zp as i8);
                    }
                    continue;
                }
                let (before, rest) = row.split_at_mut(s.pad[1]);
                let (image, after) = rest.split_at_mut(iw);
                if pad {
                    before.fill(zp as i8);
                    after.fill(zp as i8);
                }
                copy(image, &plane[y as usize * iw..][..iw]);
            }
            let mut band = Band {
                band: &band,
                width,
                stride: [sy, sx],
                #[cfg(nn_arm_dsp)]
                acc: &mut acc,
            };
            let rows = oy0..oy1;
            let ys = &mut ys[oy0 * ow..oy1 * ow];
            let r = requant;
            if let Some(f) = Fused::new(r.multiplier, r.shift) {
                band.run(filter, [kh, kw], [dy, dx], bias, f, out, rows, ys);
            } else {
                let p = Prepared::new(r.multiplier, r.shift);
                band.run(filter, [kh, kw], [dy, dx], bias, p, out, rows, ys);
            }
        }
    }
    true
}

/// Accumulators of a piece of a band's rows, for the assembly (1 KB on the stack).
#[cfg(nn_arm_dsp)]
const ACC: usize = 256;

/// Bytes past a band's rows that its windows may read.
const SLACK: usize = 4;

/// One band of a channel's rows, padded.
struct Band<'a> {
    /// Accumulators for the assembly's rows.
    #[cfg(nn_arm_dsp)]
    acc: &'a mut [i32; ACC],
    band: &'a [i8],
    width: usize,
    stride: [usize; 2],
}

impl Band<'_> {
    /// Output rows `rows` (of the band's first, `rows.start`) into `ys`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn run<R: Scale>(
        &mut self,
        filter: &[i8],
        kernel: [usize; 2],
        dilation: [usize; 2],
        bias: i32,
        requant: R,
        out: Output,
        rows: core::ops::Range<usize>,
        ys: &mut [i8],
    ) {
        let [sy, sx] = self.stride;
        let width = self.width;
        let ow = ys.len() / rows.len();
        let write = |acc: i32| out.write(requant.apply(acc));
        let three = (kernel == [3, 3] && dilation == [1, 1]).then(|| Taps3::new(filter));
        #[cfg(nn_arm_dsp)]
        if let (Some(taps), [1, 1]) = (&three, self.stride) {
            let shape = [rows.len(), ow];
            if taps.rows(self, bias, shape, ys, requant.fused(out), write) {
                return;
            }
        }
        for (j, ys) in ys.chunks_exact_mut(ow).enumerate() {
            let at = j * sy * width;
            if let Some(taps) = &three {
                // Three rows from the window's top, each readable four bytes on.
                let band = &self.band[at..];
                let r = [band, &band[width..], &band[2 * width..]];
                let mut ox = 0;
                if sx == 1 {
                    while ox + 1 < ow {
                        let mut acc = [bias; 2];
                        for (k, row) in r.iter().enumerate() {
                            acc = taps.two(k, row, ox, acc);
                        }
                        ys[ox] = write(acc[0]);
                        ys[ox + 1] = write(acc[1]);
                        ox += 2;
                    }
                }
                while ox < ow {
                    let mut acc = bias;
                    for (k, row) in r.iter().enumerate() {
                        acc = taps.one(k, row, ox * sx, acc);
                    }
                    ys[ox] = write(acc);
                    ox += 1;
                }
                continue;
            }
            for (ox, y) in ys.iter_mut().enumerate() {
                let acc = window(
                    &self.band[at + ox * sx..],
                    width,
                    filter,
                    kernel[1],
                    dilation,
                );
                *y = write(bias.wrapping_add(acc));
            }
        }
    }
}

/// A 3 × 3 filter prepared for its rows: each row's outer weights as an `i16` pair (the
/// first in the low half) and its middle one.
struct Taps3 {
    outer: [u32; 3],
    middle: [i32; 3],
}

impl Taps3 {
    #[inline(always)]
    fn new(filter: &[i8]) -> Taps3 {
        let w = |i: usize| filter[i] as i16 as u16 as u32;
        Taps3 {
            outer: core::array::from_fn(|r| w(3 * r) | w(3 * r + 2) << 16),
            middle: core::array::from_fn(|r| filter[3 * r + 1] as i32),
        }
    }

    /// Every output of `band` at stride 1, `rows` rows of `ow`, through the assembly's
    /// accumulators, requantised and written by `write`; `false`, writing nothing, if a row
    /// does not fit the accumulators.
    #[cfg(nn_arm_dsp)]
    fn rows(
        &self,
        band: &mut Band,
        bias: i32,
        [rows, ow]: [usize; 2],
        ys: &mut [i8],
        fused: Option<[i32; 6]>,
        write: impl Fn(i32) -> i8,
    ) -> bool {
        use super::depthwise_arm::{rows_3x3, Rows3};
        if ow + 1 > ACC {
            return false;
        }
        let per = (ACC - 1) / ow;
        let pairs = ow.div_ceil(2);
        let width = band.width;
        let acc = &mut *band.acc;
        let half = |w: i32| w as u16 as u32;
        for j0 in (0..rows).step_by(per) {
            let m = per.min(rows - j0);
            // What the routine reads: its rows, the two below, a word past the last pair.
            assert!((j0 + m + 1) * width + 2 * pairs + 2 <= band.band.len());
            let mut r = Rows3 {
                band: band.band[j0 * width..].as_ptr(),
                width,
                acc: acc.as_mut_ptr(),
                pairs,
                rows: m,
                outputs: ow,
                outer: self.outer,
                middle: [
                    half(self.middle[0]) | half(self.middle[1]) << 16,
                    half(self.middle[2]),
                ],
                bias,
            };
            // SAFETY: the band's bytes are checked above; `m · ow + 1 <= ACC` accumulators
            // hold the `(m − 1) · ow + 2 · pairs` written; `pairs`, `m` at least 1.
            unsafe { rows_3x3(&mut r) };
            let ys = &mut ys[j0 * ow..(j0 + m) * ow];
            if let Some(params) = &fused {
                super::depthwise_arm::requantize(&acc[..ys.len()], ys, params);
                continue;
            }
            for (y, &a) in ys.iter_mut().zip(acc.iter()) {
                *y = write(a);
            }
        }
        true
    }

    /// `acc + Σ_k w[r, k] · row[x + k]`; `row[x..x + 4]` is readable.
    #[inline(always)]
    fn one(&self, r: usize, row: &[i8], x: usize, acc: i32) -> i32 {
        #[cfg(nn_arm_dsp)]
        {
            super::dot_arm::window3(word(row, x), self.outer[r], self.middle[r], [acc, 0])[0]
        }
        #[cfg(not(nn_arm_dsp))]
        {
            let x = &row[x..x + 3];
            let (w0, w2) = (
                self.outer[r] as i16 as i32,
                (self.outer[r] >> 16) as i16 as i32,
            );
            acc.wrapping_add(w0 * x[0] as i32 + self.middle[r] * x[1] as i32 + w2 * x[2] as i32)
        }
    }

    /// `acc[q] + Σ_k w[r, k] · row[x + q + k]` for `q` 0 and 1.
    #[inline(always)]
    fn two(&self, r: usize, row: &[i8], x: usize, acc: [i32; 2]) -> [i32; 2] {
        #[cfg(nn_arm_dsp)]
        {
            super::dot_arm::window3(word(row, x), self.outer[r], self.middle[r], acc)
        }
        #[cfg(not(nn_arm_dsp))]
        {
            [self.one(r, row, x, acc[0]), self.one(r, row, x + 1, acc[1])]
        }
    }
}

/// The four bytes `row[x..x + 4]` as a little-endian word (one unaligned load on a
/// Cortex-M4).
#[cfg(nn_arm_dsp)]
#[inline(always)]
fn word(row: &[i8], x: usize) -> u32 {
    let bytes: &[i8; 4] = row[x..x + 4].try_into().expect("four bytes");
    u32::from_le_bytes(bytes.map(|b| b as u8))
}

/// `Σ filter[ky, kx] · band[ky · dy · width + kx · dx]`: one output's window.
#[inline(always)]
fn window(band: &[i8], width: usize, filter: &[i8], kw: usize, [dy, dx]: [usize; 2]) -> i32 {
    let mut acc = 0i32;
    for (ky, wrow) in filter.chunks_exact(kw).enumerate() {
        let row = &band[ky * dy * width..];
        for (kx, &w) in wrow.iter().enumerate() {
            acc = acc.wrapping_add(w as i32 * row[kx * dx] as i32);
        }
    }
    acc
}

/// The depthwise convolution tap by tap, each output's taps inside the image found from the
/// geometry: for windows too wide for [`banded`]'s band.
fn by_taps(
    s: &Conv2dShape,
    multiplier: usize,
    input: &[i8],
    input_zero_point: i32,
    weights: &Weights,
    out: Output,
    output: &mut [i8],
) {
    let [kh, kw] = s.kernel;
    let [ih, iw] = s.input;
    let [oh, ow] = s.output;
    let [dy, dx] = s.dilation;
    // Each position's taps found once, for every channel.
    for oy in 0..oh {
        let (kys, y0) = s.taps(0, oy);
        for ox in 0..ow {
            let (kxs, x0) = s.taps(1, ox);
            for (oc, ic) in (0..s.in_channels)
                .flat_map(|ic| core::iter::repeat_n(ic, multiplier))
                .enumerate()
            {
                let filter = &weights.weight[oc * kh * kw..][..kh * kw];
                let plane = &input[ic * ih * iw..][..ih * iw];
                let (bias, requant) = weights.channel(oc);
                let mut acc = bias;
                for (j, ky) in kys.clone().enumerate() {
                    let row = &plane[(y0 + j * dy) * iw..][..iw];
                    let wrow = &filter[ky * kw..][..kw];
                    for (i, kx) in kxs.clone().enumerate() {
                        acc += wrow[kx] as i32 * (row[x0 + i * dx] as i32 - input_zero_point);
                    }
                }
                output[(oc * oh + oy) * ow + ox] = out.write(requant.apply(acc));
            }
        }
    }
}

#[cfg(test)]
mod tests;
