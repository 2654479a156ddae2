//! Pools, TFLite Micro's int8 `MaxPool` and `AveragePool` (the padding skipped, the average
//! over the taps inside, rounded half away from zero), and MEAN over rows and columns, the
//! global average pool.

use super::conv::Padding;
use crate::int8::{Output, Requant};

/// The geometry of a pool on one image `[C, H, W]` (padding as [`Conv2dShape`]'s).
///
/// [`Conv2dShape`]: super::Conv2dShape
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dShape {
    /// Channels.
    pub channels: usize,
    /// Input rows and columns.
    pub input: [usize; 2],
    /// Output rows and columns.
    pub output: [usize; 2],
    /// Window rows and columns.
    pub window: [usize; 2],
    /// Stride along rows and columns.
    pub stride: [usize; 2],
    /// Padding above and to the left.
    pub pad: [usize; 2],
}

impl Pool2dShape {
    /// The geometry TFLite gives an input `[C, H, W]` under `padding`.
    pub const fn tflite(
        input: [usize; 3],
        window: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
    ) -> Pool2dShape {
        let (oh, ph) = padding.axis(input[1], window[0], stride[0]);
        let (ow, pw) = padding.axis(input[2], window[1], stride[1]);
        Pool2dShape {
            channels: input[0],
            input: [input[1], input[2]],
            output: [oh, ow],
            window,
            stride,
            pad: [ph, pw],
        }
    }

    /// The input rows (or columns) window `o` covers, clipped to the image.
    fn span(&self, axis: usize, o: usize) -> core::ops::Range<usize> {
        let start = (o * self.stride[axis]) as isize - self.pad[axis] as isize;
        let end = (start + self.window[axis] as isize).min(self.input[axis] as isize);
        start.max(0) as usize..end.max(0) as usize
    }

    fn run(
        &self,
        input: &[i8],
        output: &mut [i8],
        mut f: impl FnMut(&mut dyn Iterator<Item = i8>) -> i8,
    ) {
        let [ih, iw] = self.input;
        let [oh, ow] = self.output;
        assert_eq!(input.len(), self.channels * ih * iw, "input length");
        assert_eq!(output.len(), self.channels * oh * ow, "output length");
        for c in 0..self.channels {
            let plane = &input[c * ih * iw..][..ih * iw];
            for oy in 0..oh {
                let rows = self.span(0, oy);
                for ox in 0..ow {
                    let cols = self.span(1, ox);
                    let mut taps = rows
                        .clone()
                        .flat_map(|y| plane[y * iw..][cols.clone()].iter().copied());
                    output[(c * oh + oy) * ow + ox] = f(&mut taps);
                }
            }
        }
    }
}

/// The largest value of each window, clamped to `[out.min, out.max]` (a fused activation;
/// the quantisation is the input's).
///
/// # Panics
/// If a slice's length is not the shape's.
pub fn max_pool2d(shape: &Pool2dShape, input: &[i8], out: Output, output: &mut [i8]) {
    shape.run(input, output, |taps| {
        let m = taps.map(i32::from).max().unwrap_or(-128);
        m.clamp(out.min, out.max) as i8
    });
}

/// The average of each window's values inside the image, rounded half away from zero
/// (TFLite's integer division), clamped to `[out.min, out.max]`.
///
/// # Panics
/// If a slice's length is not the shape's.
pub fn avg_pool2d(shape: &Pool2dShape, input: &[i8], out: Output, output: &mut [i8]) {
    shape.run(input, output, |taps| {
        let (mut sum, mut n) = (0i32, 0i32);
        for v in taps {
            sum += v as i32;
            n += 1;
        }
        let n = n.max(1);
        let avg = if sum > 0 {
            (sum + n / 2) / n
        } else {
            (sum - n / 2) / n
        };
        avg.clamp(out.min, out.max) as i8
    });
}

/// The mean of each channel of `[C, H, W]` (TFLite's MEAN over rows and columns):
/// `clamp(zp_out + requant(Σ x − zp_in · H · W))`, `requant` from [`Requant::mean`].
///
/// # Panics
/// If `input.len()` is not a multiple of `output.len()`.
pub fn global_avg_pool(
    input: &[i8],
    input_zero_point: i32,
    requant: Requant,
    out: Output,
    output: &mut [i8],
) {
    assert!(
        input.len().is_multiple_of(output.len().max(1)),
        "input length"
    );
    let hw = input.len() / output.len().max(1);
    for (y, plane) in output.iter_mut().zip(input.chunks_exact(hw.max(1))) {
        let sum: i32 = plane.iter().map(|&v| v as i32).sum();
        *y = out.write(requant.apply(sum - input_zero_point * hw as i32));
    }
}
