//! `MaxPool2d<C, K, H, W>` and `AvgPool2d<C, K, H, W>`: PyTorch's `nn.MaxPool2d(K)` and
//! `nn.AvgPool2d(K)` on flat NCHW samples.
//!
//! Both use PyTorch's defaults: a `K × K` window moved by `K` (so windows do not overlap),
//! no padding, and floor mode, so that the last `H mod K` rows and `W mod K` columns are in
//! no window and get a zero gradient.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// Rejects the sizes neither pool can take; a `const fn`, so that their `CHECK` constants
/// run it at compile time.
const fn check(c: usize, k: usize, h: usize, w: usize) {
    assert!(c > 0, "a pooling layer needs at least 1 channel (`C`)");
    assert!(
        k > 0,
        "a pooling layer needs a window size `K` of at least 1"
    );
    assert!(
        k <= h,
        "the pooling window `K` is taller than the input `H`; use a smaller window"
    );
    assert!(
        k <= w,
        "the pooling window `K` is wider than the input `W`; use a smaller window"
    );
}

/// Calls `f(window, out)` for every window of one sample: `window` is the index of the
/// window's first input (top left) within the sample, `out` its output index.
#[inline(always)]
fn windows<const C: usize, const K: usize, const H: usize, const W: usize>(
    mut f: impl FnMut(usize, usize),
) {
    let (oh, ow) = (H / K, W / K);
    let mut out = 0;
    for c in 0..C {
        for i in 0..oh {
            for j in 0..ow {
                f(c * H * W + i * K * W + j * K, out);
                out += 1;
            }
        }
    }
}

/// Max pooling over `K × K` windows with stride `K`, on `C` channels of `H × W`, as
/// PyTorch's `nn.MaxPool2d(K)`. The output is `C` channels of [`OH`](Self::OH) ×
/// [`OW`](Self::OW), `H / K × W / K` (floor mode).
///
/// Ties and NaNs go as in PyTorch: the first maximum in row-major window order wins, and a
/// NaN wins over any number. Backward sends each output's gradient to that one element.
///
/// # Shapes
/// - input `[batch, C·H·W]`: each sample is PyTorch's `[C, H, W]`, flat
/// - output `[batch, C·OH·OW]`, each sample `[C, OH, OW]`, flat; no parameters
///
/// The training pass caches which element of each window was the maximum (`batch · OUT`
/// floats).
///
/// ```
/// use nn::{Layer, MaxPool2d};
/// let x = [
///     1.0, 2.0, 5.0, 0.0, 9.0,
///     3.0, 4.0, 1.0, 1.0, 9.0,
///     9.0, 9.0, 9.0, 9.0, 9.0,
/// ];
/// let mut y = [0.0; 2];
/// MaxPool2d::<1, 2, 3, 5>.forward(&x, &mut y); // the last row and column are in no window
/// assert_eq!(y, [4.0, 5.0]);
/// assert_eq!(<MaxPool2d<8, 2, 26, 26> as Layer>::OUT, 8 * 13 * 13);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool2d<const C: usize, const K: usize, const H: usize, const W: usize>;

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<const C: usize, const K: usize, const H: usize, const W: usize> bytemuck::Zeroable
    for MaxPool2d<C, K, H, W>
{
}

impl<const C: usize, const K: usize, const H: usize, const W: usize> MaxPool2d<C, K, H, W> {
    const CHECK: () = check(C, K, H, W);
    /// Output height, `H / K`.
    pub const OH: usize = {
        let () = Self::CHECK;
        H / K
    };
    /// Output width, `W / K`.
    pub const OW: usize = {
        let () = Self::CHECK;
        W / K
    };

    /// Max-pools one sample `x` into `y`; with `TRAIN`, also writes into `args` which
    /// element of each window won (its offset `ki · K + kj`, exact as an `f32`).
    ///
    /// PyTorch's rule, element by element in row-major window order: an element wins when it
    /// is larger than the best so far or is NaN, so the first of equal maxima stays and the
    /// last NaN wins. Each output row goes in chunks of `N` windows (see [`Self::chunk`]).
    #[inline(always)]
    fn pool<const TRAIN: bool>(x: &[f32], y: &mut [f32], args: &mut [f32]) {
        let (oh, ow) = (H / K, W / K);
        for (c, (xc, yc)) in x
            .chunks_exact(H * W)
            .zip(y.chunks_exact_mut(oh * ow))
            .enumerate()
        {
            for (i, yr) in yc.chunks_exact_mut(ow).enumerate() {
                let rows: [&[f32]; K] =
                    core::array::from_fn(|ki| &xc[(i * K + ki) * W..][..ow * K]);
                let ar = if TRAIN {
                    &mut args[(c * oh + i) * ow..][..ow]
                } else {
                    &mut []
                };
                match ow {
                    16.. => Self::row::<16, TRAIN>(&rows, yr, ar),
                    8.. => Self::row::<8, TRAIN>(&rows, yr, ar),
                    4.. => Self::row::<4, TRAIN>(&rows, yr, ar),
                    _ => Self::row::<1, TRAIN>(&rows, yr, ar),
                }
            }
        }
    }

    /// One output row in chunks of `N` windows; the last chunk overlaps the one before it
    /// (recomputing a few windows to the same values) rather than running a scalar tail.
    #[inline(always)]
    fn row<const N: usize, const TRAIN: bool>(rows: &[&[f32]; K], y: &mut [f32], args: &mut [f32]) {
        let ow = y.len();
        let mut j = 0;
        while j + N <= ow {
            Self::chunk::<N, TRAIN>(rows, y, args, j);
            j += N;
        }
        if j < ow {
            Self::chunk::<N, TRAIN>(rows, y, args, ow - N);
        }
    }

    /// The `N` windows from column `j` of an output row, from the `K` input rows under it.
    /// Fixed-size arrays and no branches, so that the compiler turns the loops over the
    /// windows into vector operations (with shuffles for the stride-`K` loads).
    // Indexes rather than iterators: the window offset outside, the `N` windows inside, so
    // that the inner loop is the one that vectorises.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    fn chunk<const N: usize, const TRAIN: bool>(
        rows: &[&[f32]; K],
        y: &mut [f32],
        args: &mut [f32],
        j: usize,
    ) {
        let mut best = [0.0f32; N];
        let mut arg = [0.0f32; N];
        for (ki, row) in rows.iter().enumerate() {
            let windows: &[[f32; K]; N] = match row[j * K..].as_chunks::<K>().0.first_chunk::<N>() {
                Some(w) => w,
                None => unreachable!("an output row has `OW` windows of `K` inputs"),
            };
            for kj in 0..K {
                let at = (ki * K + kj) as f32;
                for l in 0..N {
                    let v = windows[l][kj];
                    if ki == 0 && kj == 0 {
                        // PyTorch starts from −∞, which the first element always replaces
                        // (or equals, keeping offset 0).
                        best[l] = v;
                    } else {
                        // Selected by a bit mask rather than a branch, so that it vectorises.
                        let take = (((v > best[l]) | v.is_nan()) as u32).wrapping_neg();
                        best[l] =
                            f32::from_bits((v.to_bits() & take) | (best[l].to_bits() & !take));
                        arg[l] = f32::from_bits((at.to_bits() & take) | (arg[l].to_bits() & !take));
                    }
                }
            }
        }
        y[j..j + N].copy_from_slice(&best);
        if TRAIN {
            args[j..j + N].copy_from_slice(&arg);
        }
    }

    /// The input gradient of one sample: each output's gradient goes to the element `args`
    /// names in its window (windows do not overlap), every other element gets 0.
    #[inline(always)]
    fn unpool(dy: &[f32], args: &[f32], dx: &mut [f32]) {
        let (oh, ow) = (H / K, W / K);
        let planes = dx
            .chunks_exact_mut(H * W)
            .zip(dy.chunks_exact(oh * ow))
            .zip(args.chunks_exact(oh * ow));
        for ((dxc, dyc), ac) in planes {
            // The rows floor mode leaves out of every window.
            if !H.is_multiple_of(K) {
                dxc[oh * K * W..].fill(0.0);
            }
            for (i, (dyr, ar)) in dyc.chunks_exact(ow).zip(ac.chunks_exact(ow)).enumerate() {
                for ki in 0..K {
                    let row = &mut dxc[(i * K + ki) * W..][..W];
                    // The columns floor mode leaves out.
                    if !W.is_multiple_of(K) {
                        row[ow * K..].fill(0.0);
                    }
                    let row = &mut row[..ow * K];
                    match ow {
                        16.. => Self::unpool_row::<16>(row, dyr, ar, ki),
                        8.. => Self::unpool_row::<8>(row, dyr, ar, ki),
                        4.. => Self::unpool_row::<4>(row, dyr, ar, ki),
                        _ => Self::unpool_row::<1>(row, dyr, ar, ki),
                    }
                }
            }
        }
    }

    /// Row `ki` of the windows of one output row, in chunks of `N` windows as in
    /// [`Self::row`].
    #[allow(clippy::needless_range_loop)] // as in `chunk`: the windows inside
    #[inline(always)]
    fn unpool_row<const N: usize>(row: &mut [f32], dy: &[f32], args: &[f32], ki: usize) {
        let ow = dy.len();
        let mut j = 0;
        while j < ow {
            let at = j.min(ow - N);
            let (Some(d), Some(a), Some(w)) = (
                dy[at..].first_chunk::<N>(),
                args[at..].first_chunk::<N>(),
                row[at * K..].as_chunks_mut::<K>().0.first_chunk_mut::<N>(),
            ) else {
                unreachable!("an output row has `OW` windows of `K` inputs")
            };
            // The offsets (whole numbers, exact as `f32`) are compared by their bits, and the
            // gradient kept or cleared by a bit mask: no branches, so the loops vectorise.
            let mut out = [[0.0f32; K]; N];
            for kj in 0..K {
                let here = ((ki * K + kj) as f32).to_bits();
                for l in 0..N {
                    let keep = ((a[l].to_bits() == here) as u32).wrapping_neg();
                    out[l][kj] = f32::from_bits(d[l].to_bits() & keep);
                }
            }
            *w = out;
            j += N;
        }
    }
}

#[diagnostic::do_not_recommend]
impl<const C: usize, const K: usize, const H: usize, const W: usize> Layer
    for MaxPool2d<C, K, H, W>
{
    const IN: usize = {
        let () = Self::CHECK;
        C * H * W
    };
    const OUT: usize = C * Self::OH * Self::OW;
    const IN_IMAGE: Option<[usize; 3]> = Some([C, H, W]);
    const OUT_IMAGE: Option<[usize; 3]> = Some([C, Self::OH, Self::OW]);
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaxPool2d<{K}>")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        Self::pool::<false>(&x[..Self::IN], &mut y[..Self::OUT], &mut []);
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        let samples = x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT));
        for (x, y) in samples.take(batch) {
            Self::pool::<false>(x, y, &mut []);
        }
    }

    fn cache_len(batch: usize) -> usize {
        batch * Self::OUT // which element of each window won
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), crate::TrainError> {
        let samples = x
            .chunks_exact(Self::IN)
            .zip(y.chunks_exact_mut(Self::OUT))
            .zip(cache.chunks_exact_mut(Self::OUT));
        for ((x, y), args) in samples.take(batch) {
            Self::pool::<true>(x, y, args);
        }
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        let Some(dx) = dx else { return };
        let batch = io.batch;
        let samples =
            io.x.chunks_exact(Self::IN)
                .zip(io.dy.chunks_exact(Self::OUT));
        let dxs = dx.chunks_exact_mut(Self::IN);
        if io.cache.len() >= batch * Self::OUT {
            let args = io.cache.chunks_exact(Self::OUT);
            for (((_, dy), a), dx) in samples.zip(args).zip(dxs).take(batch) {
                Self::unpool(dy, a, dx);
            }
            return;
        }
        // No training pass before (only the no-heap build allows that): find each window's
        // winner again, one output row at a time, on the stack.
        for ((x, dy), dx) in samples.zip(dxs).take(batch) {
            dx.fill(0.0);
            windows::<C, K, H, W>(|at, out| {
                let (mut best, mut arg) = (f32::NEG_INFINITY, 0);
                for ki in 0..K {
                    for (kj, v) in x[at + ki * W..][..K].iter().enumerate() {
                        if *v > best || v.is_nan() {
                            (best, arg) = (*v, ki * W + kj);
                        }
                    }
                }
                dx[at + arg] = dy[out];
            });
        }
    }
}

/// Average pooling over `K × K` windows with stride `K`, on `C` channels of `H × W`, as
/// PyTorch's `nn.AvgPool2d(K)`: each output is its window's sum divided by `K²`. The output
/// is `C` channels of [`OH`](Self::OH) × [`OW`](Self::OW), `H / K × W / K` (floor mode).
///
/// # Shapes
/// - input `[batch, C·H·W]`: each sample is PyTorch's `[C, H, W]`, flat
/// - output `[batch, C·OH·OW]`, each sample `[C, OH, OW]`, flat; no parameters
///
/// ```
/// use nn::{AvgPool2d, Layer};
/// let x = [
///     1.0, 2.0, 5.0, 0.0,
///     3.0, 4.0, 1.0, 1.0,
/// ];
/// let mut y = [0.0; 2];
/// AvgPool2d::<1, 2, 2, 4>.forward(&x, &mut y);
/// assert_eq!(y, [2.5, 1.75]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool2d<const C: usize, const K: usize, const H: usize, const W: usize>;

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<const C: usize, const K: usize, const H: usize, const W: usize> bytemuck::Zeroable
    for AvgPool2d<C, K, H, W>
{
}

impl<const C: usize, const K: usize, const H: usize, const W: usize> AvgPool2d<C, K, H, W> {
    const CHECK: () = check(C, K, H, W);
    /// Output height, `H / K`.
    pub const OH: usize = {
        let () = Self::CHECK;
        H / K
    };
    /// Output width, `W / K`.
    pub const OW: usize = {
        let () = Self::CHECK;
        W / K
    };
    /// PyTorch's divisor: the window's size (there is no padding to leave out).
    const DIVISOR: f32 = (K * K) as f32;
}

#[diagnostic::do_not_recommend]
impl<const C: usize, const K: usize, const H: usize, const W: usize> Layer
    for AvgPool2d<C, K, H, W>
{
    const IN: usize = {
        let () = Self::CHECK;
        C * H * W
    };
    const OUT: usize = C * Self::OH * Self::OW;
    const IN_IMAGE: Option<[usize; 3]> = Some([C, H, W]);
    const OUT_IMAGE: Option<[usize; 3]> = Some([C, Self::OH, Self::OW]);
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AvgPool2d<{K}>")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        windows::<C, K, H, W>(|at, out| {
            // Summed in PyTorch's order, row by row, then divided.
            let mut sum = 0.0f32;
            for ki in 0..K {
                for v in &x[at + ki * W..][..K] {
                    sum += v;
                }
            }
            y[out] = sum / Self::DIVISOR;
        });
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        let samples = x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT));
        for (x, y) in samples.take(batch) {
            self.forward(x, y);
        }
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        let Some(dx) = dx else { return };
        let samples = dx
            .chunks_exact_mut(Self::IN)
            .zip(io.dy.chunks_exact(Self::OUT));
        for (dx, dy) in samples.take(io.batch) {
            dx.fill(0.0);
            windows::<C, K, H, W>(|at, out| {
                let d = dy[out] / Self::DIVISOR;
                for ki in 0..K {
                    dx[at + ki * W..][..K].fill(d);
                }
            });
        }
    }
}
