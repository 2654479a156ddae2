//! Convolution, TFLite Micro's `ConvPerChannel`, and the geometry convolutions and pools
//! share: TFLite's `SAME` and `VALID` padding.

use super::arith::Prepared;
use super::columns::{conv_columns, Inputs, MAX_INPUTS};
use super::dot::dot_rows;
use crate::int8::{Output, Weights};

/// TFLite's padding: `Valid` reads no padding; `Same` gives `⌈in / stride⌉` outputs and pads
/// the total needed, `(out − 1) · stride + extent − in`, half before (rounded down) and the
/// rest after: an odd total puts the extra row or column at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding.
    Valid,
    /// TFLite's (and TensorFlow's) `SAME`.
    Same,
}

impl Padding {
    /// (outputs, padding before) of one axis of `size` inputs, a window of `extent`
    /// (dilation included) and a `stride`.
    pub const fn axis(self, size: usize, extent: usize, stride: usize) -> (usize, usize) {
        match self {
            Padding::Valid => ((size + stride - extent) / stride, 0),
            Padding::Same => {
                let out = size.div_ceil(stride);
                let needed = (out - 1) * stride + extent;
                (out, needed.saturating_sub(size) / 2)
            }
        }
    }
}

/// The geometry of a convolution on one image `[C, H, W]`: sizes, stride, dilation, and the
/// padding before (`pad[0]` rows above, `pad[1]` columns left; what is after follows from the
/// output size). Positions in the padding are skipped, which is TFLite's padding with the
/// input's zero point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dShape {
    /// Input channels.
    pub in_channels: usize,
    /// Input rows and columns.
    pub input: [usize; 2],
    /// Output channels.
    pub out_channels: usize,
    /// Output rows and columns.
    pub output: [usize; 2],
    /// Kernel rows and columns.
    pub kernel: [usize; 2],
    /// Stride along rows and columns.
    pub stride: [usize; 2],
    /// Dilation along rows and columns.
    pub dilation: [usize; 2],
    /// Padding above and to the left.
    pub pad: [usize; 2],
}

impl Conv2dShape {
    /// The geometry TFLite gives an input `[C, H, W]` under `padding`.
    ///
    /// ```
    /// use nn::int8::{Conv2dShape, Padding};
    /// // 8 rows, kernel 3, stride 2: 4 outputs, 1 row of padding needed, after.
    /// let s = Conv2dShape::tflite([3, 8, 8], 4, [3, 3], [2, 2], [1, 1], Padding::Same);
    /// assert_eq!((s.output, s.pad), ([4, 4], [0, 0]));
    /// ```
    pub const fn tflite(
        input: [usize; 3],
        out_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    ) -> Conv2dShape {
        let extent = [
            (kernel[0] - 1) * dilation[0] + 1,
            (kernel[1] - 1) * dilation[1] + 1,
        ];
        let (oh, ph) = padding.axis(input[1], extent[0], stride[0]);
        let (ow, pw) = padding.axis(input[2], extent[1], stride[1]);
        Conv2dShape {
            in_channels: input[0],
            input: [input[1], input[2]],
            out_channels,
            output: [oh, ow],
            kernel,
            stride,
            dilation,
            pad: [ph, pw],
        }
    }

    /// Values in the input image.
    pub const fn input_len(&self) -> usize {
        self.in_channels * self.input[0] * self.input[1]
    }

    /// Values in the output image.
    pub const fn output_len(&self) -> usize {
        self.out_channels * self.output[0] * self.output[1]
    }

    /// The kernel taps of output `o` along `axis` (0 rows, 1 columns) that fall inside the
    /// image, and the input index of the first of them.
    #[inline(always)]
    pub(crate) fn taps(&self, axis: usize, o: usize) -> (core::ops::Range<usize>, usize) {
        let (s, d, p) = (self.stride[axis], self.dilation[axis], self.pad[axis]);
        let start = o * s;
        if d == 1 {
            // The same without a division.
            let hi = (p + self.input[axis])
                .saturating_sub(start)
                .min(self.kernel[axis]);
            let lo = p.saturating_sub(start).min(hi);
            return (lo..hi, start + lo - p.min(start + lo));
        }
        // Taps k with p <= start + k·d < p + size.
        let lo = p.saturating_sub(start).div_ceil(d);
        let hi = (p + self.input[axis])
            .saturating_sub(start)
            .div_ceil(d)
            .min(self.kernel[axis]);
        let lo = lo.min(hi);
        (lo..hi, start + lo * d - p.min(start + lo * d))
    }
}

/// A convolution of one int8 image: for each output channel `c` and position,
/// `clamp(zp_out + requant[c](bias[c] + Σ w[c, i, ky, kx] · (x[i, y, x] − zp_in)))` over the
/// taps inside the image. The weight is `[out, in, kH, kW]`.
///
/// # Panics
/// If a slice's length is not the shape's.
pub fn conv2d(
    shape: &Conv2dShape,
    input: &[i8],
    input_zero_point: i32,
    weights: Weights,
    out: Output,
    output: &mut [i8],
) {
    let s = shape;
    let [kh, kw] = s.kernel;
    let [ih, iw] = s.input;
    let [oh, ow] = s.output;
    assert_eq!(input.len(), s.input_len(), "input length");
    assert_eq!(output.len(), s.output_len(), "output length");
    assert_eq!(
        weights.weight.len(),
        s.out_channels * s.in_channels * kh * kw,
        "weight length"
    );
    weights.check(s.out_channels);
    if [kh, kw] == [1, 1] && s.stride == [1, 1] && s.pad == [0, 0] && s.input == s.output {
        return pointwise(s, input, input_zero_point, weights, out, output);
    }
    let patch_len = s.in_channels * kh * kw;
    if cfg!(nn_arm_dsp) && patch_len <= MAX_INPUTS && oh * ow > 0 {
        // Two positions' patches at a time against two filters at a time.
        let positions = oh * ow;
        let zp = input_zero_point;
        let fill = |p: usize, piece: &mut [i8]| patch(s, input, zp, [p / ow, p % ow], piece);
        let inputs = Inputs::Each(fill);
        return conv_columns(&weights, patch_len, zp, positions, out, output, inputs);
    }
    // For each output position, its patch `[in, kH, kW]` is packed (in pieces of `PATCH`,
    // positions in the padding holding the zero point, so they add nothing) and dotted with
    // the filters of a block of output channels through the shared inner product.
    const PATCH: usize = 512;
    const BLOCK: usize = 64;
    let [dy, dx] = s.dilation;
    let mut patch = [0i8; PATCH];
    let mut acc = [0i32; BLOCK];
    // With one block of channels, each channel's multiplier prepared once for every position.
    let one_block = s.out_channels <= BLOCK;
    let mut prepared = [Prepared::default(); BLOCK];
    if one_block {
        for (k, p) in prepared.iter_mut().enumerate().take(s.out_channels) {
            let r = weights.channel(k).1;
            *p = Prepared::new(r.multiplier, r.shift);
        }
    }
    for oy in 0..oh {
        let (kys, y0) = s.taps(0, oy);
        for ox in 0..ow {
            let (kxs, x0) = s.taps(1, ox);
            for oc0 in (0..s.out_channels).step_by(BLOCK) {
                let g = BLOCK.min(s.out_channels - oc0);
                let acc = &mut acc[..g];
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = weights.channel(oc0 + k).0;
                }
                for k0 in (0..patch_len).step_by(PATCH) {
                    let len = PATCH.min(patch_len - k0);
                    let piece = &mut patch[..len];
                    // Packed again for each block of channels: a piece is at most `PATCH`
                    // values, dotted with up to `BLOCK` filters.
                    if oc0 == 0 || patch_len > PATCH {
                        if kys.len() < kh || kxs.len() < kw {
                            piece.fill(input_zero_point as i8);
                        }
                        for ic in 0..s.in_channels {
                            let plane = &input[ic * ih * iw..][..ih * iw];
                            for (j, ky) in kys.clone().enumerate() {
                                let row = &plane[(y0 + j * dy) * iw..][..iw];
                                let base = (ic * kh + ky) * kw;
                                if dx == 1 && base >= k0 && base + kw <= k0 + len {
                                    // The taps of this kernel row, side by side in the input.
                                    let to = base - k0 + kxs.start;
                                    piece[to..to + kxs.len()]
                                        .copy_from_slice(&row[x0..x0 + kxs.len()]);
                                    continue;
                                }
                                for (i, kx) in kxs.clone().enumerate() {
                                    let p = (base + kx).wrapping_sub(k0);
                                    if p < len {
                                        piece[p] = row[x0 + i * dx];
                                    }
                                }
                            }
                        }
                    }
                    dot_rows(
                        &weights.weight[oc0 * patch_len + k0..],
                        patch_len,
                        piece,
                        input_zero_point,
                        acc,
                        None,
                    );
                }
                for (k, &a) in acc.iter().enumerate() {
                    let oc = oc0 + k;
                    let y = if one_block {
                        prepared[k].apply(a)
                    } else {
                        weights.channel(oc).1.apply(a)
                    };
                    output[(oc * oh + oy) * ow + ox] = out.write(y);
                }
            }
        }
    }
}

/// `dst = src` for rows of a few bytes, a word at a time where they are at least four long
/// (a loop the compiler would make into a `memcpy` call).
#[inline(always)]
pub(super) fn copy(dst: &mut [i8], src: &[i8]) {
    let n = dst.len().min(src.len());
    if n < 4 {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s;
        }
        return;
    }
    let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
    let mut i = 0;
    loop {
        // The last word overlaps the one before where `n` is not a multiple of four.
        let at = i.min(n - 4);
        // SAFETY: `at + 4 <= n`, within both slices; unaligned reads and writes of a word.
        unsafe {
            let w = (s.add(at) as *const u32).read_unaligned();
            (d.add(at) as *mut u32).write_unaligned(w);
        }
        i += 4;
        if i >= n {
            break;
        }
    }
}

/// Writes the patch `[in, kH, kW]` of output position `[oy, ox]`, the zero point where the
/// window lies in the padding.
#[cfg_attr(not(nn_arm_dsp), allow(dead_code))]
pub(super) fn patch(
    s: &Conv2dShape,
    input: &[i8],
    zp: i32,
    [oy, ox]: [usize; 2],
    piece: &mut [i8],
) {
    let [kh, kw] = s.kernel;
    let [ih, iw] = s.input;
    let [dy, dx] = s.dilation;
    let (kys, y0) = s.taps(0, oy);
    let (kxs, x0) = s.taps(1, ox);
    if kys.len() < kh || kxs.len() < kw {
        piece.fill(zp as i8);
    }
    for (ic, filter) in piece.chunks_exact_mut(kh * kw).enumerate() {
        let plane = &input[ic * ih * iw..][..ih * iw];
        for (j, ky) in kys.clone().enumerate() {
            let row = &plane[(y0 + j * dy) * iw..][..iw];
            let taps = &mut filter[ky * kw..][..kw];
            if dx == 1 {
                copy(&mut taps[kxs.clone()], &row[x0..x0 + kxs.len()]);
            } else {
                for (i, kx) in kxs.clone().enumerate() {
                    taps[kx] = row[x0 + i * dx];
                }
            }
        }
    }
}

/// A 1×1 convolution at stride 1 without padding: each position's input channels gathered
/// from their planes (in pieces of `PIECE`), dotted with every filter through the shared
/// inner product.
fn pointwise(
    s: &Conv2dShape,
    input: &[i8],
    input_zero_point: i32,
    weights: Weights,
    out: Output,
    output: &mut [i8],
) {
    const PIECE: usize = 256;
    const BLOCK: usize = 64;
    let plane = s.output[0] * s.output[1];
    let cin = s.in_channels;
    if cfg!(nn_arm_dsp) && cin <= MAX_INPUTS && plane > 0 {
        // Two positions' channels at a time against two filters at a time.
        let inputs = Inputs::<fn(usize, &mut [i8])>::Planes(input);
        let zp = input_zero_point;
        return conv_columns(&weights, cin, zp, plane, out, output, inputs);
    }
    let mut column = [0i8; PIECE];
    let mut acc = [0i32; BLOCK];
    let mut bias = [0i32; BLOCK];
    let mut requant = [Prepared::default(); BLOCK];
    for oc0 in (0..s.out_channels).step_by(BLOCK) {
        let g = BLOCK.min(s.out_channels - oc0);
        // Each channel's bias and multiplier, prepared once for every position.
        for k in 0..g {
            let (b, r) = weights.channel(oc0 + k);
            bias[k] = b;
            requant[k] = Prepared::new(r.multiplier, r.shift);
        }
        for p in 0..plane {
            let acc = &mut acc[..g];
            acc.copy_from_slice(&bias[..g]);
            for k0 in (0..cin).step_by(PIECE) {
                let len = PIECE.min(cin - k0);
                let piece = &mut column[..len];
                for (ic, v) in piece.iter_mut().enumerate() {
                    *v = input[(k0 + ic) * plane + p];
                }
                dot_rows(
                    &weights.weight[oc0 * cin + k0..],
                    cin,
                    piece,
                    input_zero_point,
                    acc,
                    None,
                );
            }
            for (k, (&a, r)) in acc.iter().zip(&requant).enumerate() {
                output[(oc0 + k) * plane + p] = out.write(r.apply(a));
            }
        }
    }
}
