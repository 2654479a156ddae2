//! Tests of the depthwise convolution: a per-channel scale, and the band against the taps.

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
    let requant: [Requant; 32] = core::array::from_fn(|i| Requant::new(0.003 + i as f64 * 0.0007));
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
    for (k, &(c, m, image, kernel, stride, dilation, padding, act)) in cases.iter().enumerate() {
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
