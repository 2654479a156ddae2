//! Pools, TFLite Micro's int8 `MaxPool` and `AveragePool` (the padding skipped, the average
//! over the taps inside, rounded half away from zero), and MEAN over rows and columns, the
//! global average pool.

use super::conv::Padding;
use crate::int8::{Output, Requant};

/// `Σ x[i]`, exact in `i32` (a window of up to 2^24 values).
#[cfg(not(nn_arm_dsp))]
#[inline]
fn sum_i8(x: &[i8]) -> i32 {
    x.iter().map(|&v| v as i32).sum()
}
#[cfg(nn_arm_dsp)]
use super::dot_arm::sum_i8;

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

    /// Calls `f` on each window's values one by one (clipped to the image) and writes what
    /// it returns.
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

    /// Calls `f` on each window (the rows of one channel's plane it covers, clipped to the
    /// image) and writes what it returns: for a sum taken a run of memory at a time.
    fn run_windows(&self, input: &[i8], output: &mut [i8], mut f: impl FnMut(Window<'_>) -> i8) {
        let [ih, iw] = self.input;
        let [oh, ow] = self.output;
        assert_eq!(input.len(), self.channels * ih * iw, "input length");
        assert_eq!(output.len(), self.channels * oh * ow, "output length");
        for c in 0..self.channels {
            let plane = &input[c * ih * iw..][..ih * iw];
            for oy in 0..oh {
                let rows = self.span(0, oy);
                for ox in 0..ow {
                    let window = Window {
                        plane,
                        width: iw,
                        rows: rows.clone(),
                        cols: self.span(1, ox),
                    };
                    output[(c * oh + oy) * ow + ox] = f(window);
                }
            }
        }
    }
}

/// A pool's window on one channel: the rows `rows` and columns `cols` of a plane `width`
/// values wide, within the image.
struct Window<'a> {
    plane: &'a [i8],
    width: usize,
    rows: core::ops::Range<usize>,
    cols: core::ops::Range<usize>,
}

impl Window<'_> {
    /// Calls `g` on the window's values as runs of consecutive memory: one run when it
    /// spans whole rows.
    #[inline(always)]
    fn for_each_run(&self, mut g: impl FnMut(&[i8])) {
        let whole = self.cols.start == 0 && self.cols.end == self.width;
        let (runs, len) = if whole {
            (1, self.rows.len() * self.width)
        } else {
            (self.rows.len(), self.cols.len())
        };
        let mut at = self.rows.start * self.width + self.cols.start;
        for _ in 0..runs {
            g(&self.plane[at..at + len]);
            at += self.width;
        }
    }

    /// How many values the window holds.
    fn len(&self) -> usize {
        self.rows.len() * self.cols.len()
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
    shape.run_windows(input, output, |window| {
        let mut sum = 0i32;
        window.for_each_run(|run| sum += sum_i8(run));
        let n = (window.len() as i32).max(1);
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
        let sum = sum_i8(plane);
        *y = out.write(requant.apply(sum - input_zero_point * hw as i32));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::int8::Activation;

    /// Each window's taps one by one: the average rounded half away from zero, the largest.
    fn reference(shape: &Pool2dShape, input: &[i8], average: bool, out: Output, output: &mut [i8]) {
        let [ih, iw] = shape.input;
        let [oh, ow] = shape.output;
        for c in 0..shape.channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let (mut sum, mut n, mut max) = (0i32, 0i32, -128i32);
                    for ky in 0..shape.window[0] {
                        for kx in 0..shape.window[1] {
                            let y = (oy * shape.stride[0] + ky) as isize - shape.pad[0] as isize;
                            let x = (ox * shape.stride[1] + kx) as isize - shape.pad[1] as isize;
                            if y < 0 || x < 0 || y >= ih as isize || x >= iw as isize {
                                continue;
                            }
                            let v = input[(c * ih + y as usize) * iw + x as usize] as i32;
                            sum += v;
                            n += 1;
                            max = max.max(v);
                        }
                    }
                    let n = n.max(1);
                    let avg = if sum > 0 {
                        (sum + n / 2) / n
                    } else {
                        (sum - n / 2) / n
                    };
                    let v = if average { avg } else { max };
                    output[(c * oh + oy) * ow + ox] = v.clamp(out.min, out.max) as i8;
                }
            }
        }
    }

    #[test]
    fn pools_equal_the_tap_by_tap_loop() {
        let mut s = 0x2545_F491u32;
        let mut input = [0i8; 3 * 25 * 7];
        for v in input.iter_mut() {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            *v = s as i8;
        }
        let out = Output::new(0.1, -3, Activation::Relu);
        let plain = Output::new(0.1, 0, Activation::None);
        // Whole-image windows (one run each), windows inside, and windows clipped by SAME
        // padding on either side, on rows as wide as the image and narrower.
        let cases = [
            ([25, 7], [25, 7], [1, 1], Padding::Valid),
            ([25, 7], [5, 7], [5, 1], Padding::Valid),
            ([25, 7], [2, 2], [2, 2], Padding::Valid),
            ([25, 7], [3, 3], [2, 2], Padding::Same),
            ([25, 7], [3, 3], [1, 1], Padding::Same),
            ([25, 7], [4, 7], [3, 2], Padding::Same),
            ([24, 6], [25, 7], [1, 1], Padding::Same),
        ];
        for (image, window, stride, padding) in cases {
            let shape = Pool2dShape::tflite([3, image[0], image[1]], window, stride, padding);
            let x = &input[..3 * image[0] * image[1]];
            let n = 3 * shape.output[0] * shape.output[1];
            for o in [out, plain] {
                let (mut got, mut want) = ([0i8; 3 * 25 * 7], [0i8; 3 * 25 * 7]);
                avg_pool2d(&shape, x, o, &mut got[..n]);
                reference(&shape, x, true, o, &mut want[..n]);
                assert_eq!(got[..n], want[..n], "average {shape:?}");
                max_pool2d(&shape, x, o, &mut got[..n]);
                reference(&shape, x, false, o, &mut want[..n]);
                assert_eq!(got[..n], want[..n], "max {shape:?}");
            }
        }
        let mut got = [0i8; 3];
        global_avg_pool(&input, 0, Requant::new(1.0 / 175.0), plain, &mut got);
        for (c, &g) in got.iter().enumerate() {
            let sum: i32 = input[c * 175..][..175].iter().map(|&v| v as i32).sum();
            assert_eq!(
                g,
                plain.write(Requant::new(1.0 / 175.0).apply(sum)),
                "channel {c}"
            );
        }
    }
}
