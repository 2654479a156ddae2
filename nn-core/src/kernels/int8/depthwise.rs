//! Depthwise convolution, TFLite Micro's `DepthwiseConvPerChannel`.

use super::arith::Prepared;
use super::conv::Conv2dShape;
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

/// `i16` values in the padded band of one channel (2 KB on the stack).
const BAND: usize = 1024;

/// The depthwise convolution through a band of each channel's rows held as `i16` offsets
/// `x − zp` with the padding around them as zeros (TFLite's padding with the zero point adds
/// nothing), so that each output is a plain sum over its window without bounds. `false`,
/// writing nothing, when `N` values do not hold the window's rows of one output row.
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
    if extent[0] * width > N || oh == 0 || ow == 0 {
        return false;
    }
    // Output rows per band.
    let rows = (N / width - extent[0]) / sy + 1;
    let mut band = [0i16; N];
    for oc in 0..s.out_channels {
        let ic = oc / multiplier;
        let plane = &input[ic * ih * iw..][..ih * iw];
        let filter = &weights.weight[oc * kh * kw..][..kh * kw];
        let (bias, requant) = weights.channel(oc);
        let requant = Prepared::new(requant.multiplier, requant.shift);
        let ys = &mut output[oc * oh * ow..][..oh * ow];
        // A 3 × 3 window without dilation, the commonest, unrolled.
        let three = ([kh, kw, dy, dx] == [3, 3, 1, 1]).then(|| Taps3::new(filter));
        for oy0 in (0..oh).step_by(rows) {
            let oy1 = oh.min(oy0 + rows);
            // Input rows `top..top + height` (signed: the padding above is negative).
            let top = (oy0 * sy) as isize - s.pad[0] as isize;
            let height = (oy1 - 1 - oy0) * sy + extent[0];
            for r in 0..height {
                let row = &mut band[r * width..][..width];
                let y = top + r as isize;
                if y < 0 || y >= ih as isize {
                    row.fill(0);
                    continue;
                }
                let xs = &plane[y as usize * iw..][..iw];
                let (before, rest) = row.split_at_mut(s.pad[1]);
                before.fill(0);
                let (image, after) = rest.split_at_mut(iw);
                for (b, &x) in image.iter_mut().zip(xs) {
                    *b = (x as i32 - zp) as i16;
                }
                after.fill(0);
            }
            for oy in oy0..oy1 {
                let y0 = (oy - oy0) * sy;
                let ys = &mut ys[oy * ow..][..ow];
                if let Some(taps) = &three {
                    // The window's three rows in the band, three values of each per output.
                    let rows = &band[y0 * width..][..3 * width];
                    let (r0, rest) = rows.split_at(width);
                    let (r1, r2) = rest.split_at(width);
                    for (ox, y) in ys.iter_mut().enumerate() {
                        let x = ox * sx;
                        let acc = taps
                            .row(0, &r0[x..x + 3])
                            .wrapping_add(taps.row(1, &r1[x..x + 3]))
                            .wrapping_add(taps.row(2, &r2[x..x + 3]));
                        *y = out.write(requant.apply(bias.wrapping_add(acc)));
                    }
                    continue;
                }
                for (ox, y) in ys.iter_mut().enumerate() {
                    let at = y0 * width + ox * sx;
                    let acc = window(&band[at..], width, filter, kw, [dy, dx]);
                    *y = out.write(requant.apply(bias.wrapping_add(acc)));
                }
            }
        }
    }
    true
}

/// A 3 × 3 filter prepared for [`Taps3::row`]: each row's first two weights as an `i16`
/// pair (low half the first) and its third.
struct Taps3 {
    pairs: [u32; 3],
    third: [i32; 3],
}

impl Taps3 {
    fn new(filter: &[i8]) -> Taps3 {
        let w = |i: usize| filter[i] as i16 as u16 as u32;
        Taps3 {
            pairs: core::array::from_fn(|r| w(3 * r) | w(3 * r + 1) << 16),
            third: core::array::from_fn(|r| filter[3 * r + 2] as i32),
        }
    }

    /// `Σ_k w[r, k] · x[k]` over the three values `x` of the window's row `r`.
    #[inline(always)]
    fn row(&self, r: usize, x: &[i16]) -> i32 {
        let x: &[i16; 3] = x.try_into().expect("three values");
        let third = self.third[r] * x[2] as i32;
        #[cfg(nn_arm_dsp)]
        {
            // The first two values as one word (little-endian: the first in the low half).
            // SAFETY: `x` holds three `i16`, so its first four bytes are readable; a
            // Cortex-M4 reads a word at any address.
            let pair = unsafe { (x.as_ptr() as *const u32).read_unaligned() };
            super::dot_arm::smlad(pair, self.pairs[r], third)
        }
        #[cfg(not(nn_arm_dsp))]
        {
            let p = self.pairs[r];
            let (w0, w1) = (p as u16 as i16 as i32, (p >> 16) as u16 as i16 as i32);
            third + w0 * x[0] as i32 + w1 * x[1] as i32
        }
    }
}

/// `Σ filter[ky, kx] · band[ky · dy · width + kx · dx]`: one output's window.
#[inline(always)]
fn window(band: &[i16], width: usize, filter: &[i8], kw: usize, [dy, dx]: [usize; 2]) -> i32 {
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
mod tests {
    use super::*;
    use crate::int8::{conv2d, Activation, Padding, Requant};

    #[test]
    fn per_channel_scale_equals_a_convolution_of_each_channel() {
        let (c, h, w) = (5, 3, 4);
        let x: [i8; 60] = core::array::from_fn(|i| (i as i32 * 37 % 256 - 128) as i8);
        let weight = [127i8, -128, 3, -7, 0];
        let bias = [1000i32, -5, 0, 77, -1];
        let requant = [0.3f64, 0.01, 1.7, 0.25, 0.9].map(Requant::new);
        let out = Output::new(0.5, -3, Activation::None);
        let shape = Conv2dShape::tflite([c, h, w], c, [1, 1], [1, 1], [1, 1], Padding::Valid);
        let mut got = [0i8; 60];
        let weights = Weights {
            weight: &weight,
            bias: Some(&bias),
            requant: &requant,
        };
        depthwise_conv2d(&shape, &x, 9, weights, out, &mut got);
        let one = Conv2dShape::tflite([1, h, w], 1, [1, 1], [1, 1], [1, 1], Padding::Valid);
        for k in 0..c {
            let mut want = [0i8; 12];
            let weights = Weights {
                weight: &weight[k..k + 1],
                bias: Some(&bias[k..k + 1]),
                requant: &requant[k..k + 1],
            };
            conv2d(&one, &x[k * 12..][..12], 9, weights, out, &mut want);
            assert_eq!(got[k * 12..][..12], want, "channel {k}");
        }
    }

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
    fn band_equals_the_taps_on_every_geometry() {
        let x = values::<2048>(1);
        let weight = values::<512>(2);
        let bias: [i32; 32] = core::array::from_fn(|i| (i as i32 * 7919) % 4001 - 2000);
        let requant: [Requant; 32] =
            core::array::from_fn(|i| Requant::new(0.003 + i as f64 * 0.0007));
        // Channels, multiplier, image, kernel, stride, dilation, padding, activation.
        let cases = [
            (
                4,
                1,
                [25, 5],
                [3, 3],
                [1, 1],
                [1, 1],
                Padding::Same,
                Activation::Relu,
            ),
            (
                3,
                2,
                [7, 6],
                [3, 3],
                [1, 1],
                [1, 1],
                Padding::Same,
                Activation::None,
            ),
            (
                2,
                1,
                [9, 8],
                [3, 3],
                [2, 2],
                [1, 1],
                Padding::Same,
                Activation::Relu6,
            ),
            (
                2,
                1,
                [10, 9],
                [3, 3],
                [2, 2],
                [1, 1],
                Padding::Valid,
                Activation::None,
            ),
            (
                3,
                1,
                [6, 7],
                [5, 5],
                [1, 1],
                [1, 1],
                Padding::Same,
                Activation::None,
            ),
            (
                2,
                1,
                [11, 9],
                [3, 2],
                [1, 2],
                [2, 3],
                Padding::Same,
                Activation::Relu,
            ),
            (
                5,
                1,
                [1, 1],
                [3, 3],
                [1, 1],
                [1, 1],
                Padding::Same,
                Activation::None,
            ),
            (
                1,
                3,
                [4, 13],
                [1, 4],
                [1, 3],
                [1, 1],
                Padding::Valid,
                Activation::None,
            ),
        ];
        for (k, &(c, m, image, kernel, stride, dilation, padding, act)) in cases.iter().enumerate()
        {
            let shape = Conv2dShape::tflite(
                [c, image[0], image[1]],
                c * m,
                kernel,
                stride,
                dilation,
                padding,
            );
            let input = &x[..shape.input_len()];
            let weights = Weights {
                weight: &weight[..c * m * kernel[0] * kernel[1]],
                bias: Some(&bias[..c * m]),
                requant: &requant[..c * m],
            };
            let out = Output::new(0.5, -3 + k as i32, act);
            let zp = 11 - 3 * k as i32;
            let n = shape.output_len();
            let mut want = [0i8; 1024];
            by_taps(&shape, m, input, zp, &weights, out, &mut want[..n]);
            let mut got = [0i8; 1024];
            // One band for every row, and bands of the fewest rows the window allows.
            assert!(banded::<1024>(
                &shape,
                m,
                input,
                zp,
                &weights,
                out,
                &mut got[..n]
            ));
            assert_eq!(got[..n], want[..n], "case {k}, one band");
            let mut got = [0i8; 1024];
            assert!(
                banded::<64>(&shape, m, input, zp, &weights, out, &mut got[..n]),
                "case {k}"
            );
            assert_eq!(got[..n], want[..n], "case {k}, narrow bands");
            depthwise_conv2d(&shape, input, zp, weights, out, &mut got[..n]);
            assert_eq!(got[..n], want[..n], "case {k}, the public kernel");
        }
        // A window wider than the band falls back to the taps.
        let wide = Conv2dShape::tflite([1, 30, 30], 1, [7, 7], [1, 1], [1, 1], Padding::Same);
        let weights = Weights {
            weight: &weight[..49],
            bias: None,
            requant: &requant[..1],
        };
        let out = Output::new(0.5, 0, Activation::None);
        assert!(!banded::<64>(
            &wide,
            1,
            &x[..900],
            0,
            &weights,
            out,
            &mut [0i8; 900]
        ));
    }
}
