//! Depthwise convolution, TFLite Micro's `DepthwiseConvPerChannel`.

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
    let [ih, iw] = s.input;
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
