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
}
