//! The pools where `MaxPool2d` and `AvgPool2d` do not reach: a rectangular window, a stride
//! other than the window, zero padding (`MaxPool2dGeneral`, `AvgPool2dGeneral`), and PyTorch's
//! global average pool (`AdaptiveAvgPool2d`). `network!` picks the general ones for such a
//! declaration and keeps the fast ones for PyTorch's defaults.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// A pooling window's geometry.
#[derive(Clone, Copy)]
struct Win {
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    oh: usize,
    ow: usize,
}

impl Win {
    /// Calls `f(out, plane, rows, cols)` for every window of one sample: `plane` the index of
    /// the channel's first input, `rows` and `cols` the input rows and columns of the window
    /// that lie inside the image (padding left out).
    #[inline(always)]
    fn each(
        &self,
        mut f: impl FnMut(usize, usize, core::ops::Range<usize>, core::ops::Range<usize>),
    ) {
        let clip = |o: usize, s: usize, p: usize, k: usize, n: usize| {
            let start = o * s;
            (start.max(p) - p)..((start + k).min(n + p).max(p) - p)
        };
        let mut out = 0;
        for c in 0..self.c {
            for i in 0..self.oh {
                let rows = clip(i, self.sh, self.ph, self.kh, self.h);
                for j in 0..self.ow {
                    let cols = clip(j, self.sw, self.pw, self.kw, self.w);
                    f(out, c * self.h * self.w, rows.clone(), cols);
                    out += 1;
                }
            }
        }
    }
}

/// Declares a pool type over `C, KH, KW, SH, SW, PH, PW, H, W` with its checks and sizes.
macro_rules! pool_type {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<
            const C: usize,
            const KH: usize,
            const KW: usize,
            const SH: usize,
            const SW: usize,
            const PH: usize,
            const PW: usize,
            const H: usize,
            const W: usize,
        >;

        // SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
        unsafe impl<
                const C: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PH: usize,
                const PW: usize,
                const H: usize,
                const W: usize,
            > bytemuck::Zeroable for $name<C, KH, KW, SH, SW, PH, PW, H, W>
        {
        }

        impl<
                const C: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PH: usize,
                const PW: usize,
                const H: usize,
                const W: usize,
            > $name<C, KH, KW, SH, SW, PH, PW, H, W>
        {
            const CHECK: () = {
                assert!(C > 0 && KH > 0 && KW > 0 && SH > 0 && SW > 0, "a pooling layer has a size of 0");
                assert!(
                    KH <= H + 2 * PH && KW <= W + 2 * PW,
                    "the pooling window is larger than the padded input"
                );
                assert!(
                    2 * PH <= KH && 2 * PW <= KW,
                    "a pooling layer's padding must be at most half its window, as PyTorch requires"
                );
            };
            /// Output height, `(H + 2·PH − KH) / SH + 1`.
            pub const OH: usize = {
                let () = Self::CHECK;
                (H + 2 * PH - KH) / SH + 1
            };
            /// Output width, `(W + 2·PW − KW) / SW + 1`.
            pub const OW: usize = {
                let () = Self::CHECK;
                (W + 2 * PW - KW) / SW + 1
            };
            const WIN: Win = Win {
                c: C,
                h: H,
                w: W,
                kh: KH,
                kw: KW,
                sh: SH,
                sw: SW,
                ph: PH,
                pw: PW,
                oh: Self::OH,
                ow: Self::OW,
            };

            fn describe_as(f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let pair = |f: &mut fmt::Formatter<'_>, a: usize, b: usize| {
                    if a == b {
                        write!(f, "{a}")
                    } else {
                        write!(f, "({a}, {b})")
                    }
                };
                write!(f, concat!($what, "<"))?;
                pair(f, KH, KW)?;
                if SH != KH || SW != KW {
                    f.write_str(", stride = ")?;
                    pair(f, SH, SW)?;
                }
                if PH != 0 || PW != 0 {
                    f.write_str(", padding = ")?;
                    pair(f, PH, PW)?;
                }
                f.write_str(">")
            }
        }
    };
}

pool_type!(
    /// Max pooling over `KH × KW` windows moved by `(SH, SW)`, with `PH` rows and `PW` columns
    /// of −∞ around the input, on `C` channels of `H × W`, as PyTorch's
    /// `nn.MaxPool2d((KH, KW), stride=(SH, SW), padding=(PH, PW))` (floor mode). In
    /// `network!`: `MaxPool2d<3, stride = 2, padding = 1>`.
    ///
    /// Ties and NaNs go as in PyTorch: the first maximum in row-major window order wins, and
    /// a NaN wins over any number. The training pass caches each window's winner
    /// (`batch · OUT` floats); backward adds each output's gradient to it (windows may
    /// overlap).
    ///
    /// # Shapes
    /// - input `[batch, C·H·W]`; output `[batch, C·OH·OW]`; no parameters
    ///
    /// ```
    /// use nn::{Layer, MaxPool2dGeneral};
    /// // 3×3 windows, stride 2, padding 1, on one 4×4 channel: 2×2 outputs.
    /// type P = MaxPool2dGeneral<1, 3, 3, 2, 2, 1, 1, 4, 4>;
    /// let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
    /// let mut y = [0.0; 4];
    /// P::default().forward(&x, &mut y);
    /// assert_eq!(y, [5.0, 7.0, 13.0, 15.0]);
    /// ```
    MaxPool2dGeneral,
    "MaxPool2d"
);

pool_type!(
    /// Average pooling over `KH × KW` windows moved by `(SH, SW)`, with `PH` rows and `PW`
    /// columns of zeros around the input, on `C` channels of `H × W`, as PyTorch's
    /// `nn.AvgPool2d((KH, KW), stride=(SH, SW), padding=(PH, PW))`: floor mode and
    /// `count_include_pad=True`, so that every window is divided by `KH·KW`, padding
    /// included. In `network!`: `AvgPool2d<(25, 5)>`, `AvgPool2d<3, stride = 1, padding = 1>`.
    ///
    /// # Shapes
    /// - input `[batch, C·H·W]`; output `[batch, C·OH·OW]`; no parameters
    ///
    /// ```
    /// use nn::{AvgPool2dGeneral, Layer};
    /// // A 2×4 window: the whole of one 2×4 channel.
    /// let x = [1.0, 2.0, 5.0, 0.0, 3.0, 4.0, 1.0, 0.0];
    /// let mut y = [0.0; 1];
    /// AvgPool2dGeneral::<1, 2, 4, 2, 4, 0, 0, 2, 4>::default().forward(&x, &mut y);
    /// assert_eq!(y, [2.0]);
    /// ```
    AvgPool2dGeneral,
    "AvgPool2d"
);

/// Implements the parts of `Layer` both general pools share.
macro_rules! pool_layer {
    ($name:ident; $($body:tt)*) => {
        #[diagnostic::do_not_recommend]
        impl<
                const C: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PH: usize,
                const PW: usize,
                const H: usize,
                const W: usize,
            > Layer for $name<C, KH, KW, SH, SW, PH, PW, H, W>
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
                Self::describe_as(f)
            }

            fn init(&mut self, _rng: &mut Rng) {}

            $($body)*
        }
    };
}

/// The index (within its sample) of the winner of a max-pooling window, PyTorch's rule.
#[inline(always)]
fn winner(
    x: &[f32],
    plane: usize,
    w: usize,
    rows: core::ops::Range<usize>,
    cols: core::ops::Range<usize>,
) -> (f32, usize) {
    let (mut best, mut arg) = (f32::NEG_INFINITY, usize::MAX);
    for r in rows {
        for c in cols.clone() {
            let at = plane + r * w + c;
            let v = x[at];
            if arg == usize::MAX || v > best || v.is_nan() {
                (best, arg) = (v, at);
            }
        }
    }
    (best, arg)
}

pool_layer!(MaxPool2dGeneral;
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        Self::WIN.each(|out, plane, rows, cols| {
            y[out] = winner(x, plane, W, rows, cols).0;
        });
    }

    fn cache_len(batch: usize) -> usize {
        batch * Self::OUT // the index of each window's winner
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
            Self::WIN.each(|out, plane, rows, cols| {
                let (v, at) = winner(x, plane, W, rows, cols);
                y[out] = v;
                args[out] = at as f32; // exact: a sample has fewer than 2^24 inputs
            });
        }
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        let Some(dx) = dx else { return };
        let batch = io.batch;
        let cached = io.cache.len() >= batch * Self::OUT;
        let samples = io.x.chunks_exact(Self::IN).zip(io.dy.chunks_exact(Self::OUT));
        for (n, ((x, dy), dx)) in samples.zip(dx.chunks_exact_mut(Self::IN)).take(batch).enumerate() {
            dx.fill(0.0);
            Self::WIN.each(|out, plane, rows, cols| {
                let at = if cached {
                    io.cache[n * Self::OUT + out] as usize
                } else {
                    // No training pass before (the no-heap build): find the winner again.
                    winner(x, plane, W, rows, cols).1
                };
                dx[at] += dy[out];
            });
        }
    }
);

pool_layer!(AvgPool2dGeneral;
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let div = (KH * KW) as f32;
        Self::WIN.each(|out, plane, rows, cols| {
            let mut sum = 0.0f32;
            for r in rows {
                for v in &x[plane + r * W..][cols.clone()] {
                    sum += v;
                }
            }
            y[out] = sum / div;
        });
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        let Some(dx) = dx else { return };
        let div = (KH * KW) as f32;
        let samples = dx.chunks_exact_mut(Self::IN).zip(io.dy.chunks_exact(Self::OUT));
        for (dx, dy) in samples.take(io.batch) {
            dx.fill(0.0);
            Self::WIN.each(|out, plane, rows, cols| {
                let d = dy[out] / div;
                for r in rows {
                    for g in &mut dx[plane + r * W..][cols.clone()] {
                        *g += d;
                    }
                }
            });
        }
    }
);

/// PyTorch's `nn.AdaptiveAvgPool2d(1)`, the global average pool: each of `C` channels of
/// `H × W` averaged to one value. In `network!`: `AdaptiveAvgPool2d<1>`.
///
/// # Shapes
/// - input `[batch, C·H·W]`; output `[batch, C]` (an image of `C × 1 × 1`); no parameters
///
/// ```
/// use nn::{AdaptiveAvgPool2d, Layer};
/// let x = [1.0, 2.0, 3.0, 6.0, 0.0, 0.0, 0.0, 4.0];
/// let mut y = [0.0; 2];
/// AdaptiveAvgPool2d::<2, 2, 2>.forward(&x, &mut y);
/// assert_eq!(y, [3.0, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d<const C: usize, const H: usize, const W: usize>;

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<const C: usize, const H: usize, const W: usize> bytemuck::Zeroable
    for AdaptiveAvgPool2d<C, H, W>
{
}

#[diagnostic::do_not_recommend]
impl<const C: usize, const H: usize, const W: usize> Layer for AdaptiveAvgPool2d<C, H, W> {
    const IN: usize = {
        assert!(
            C > 0 && H > 0 && W > 0,
            "`AdaptiveAvgPool2d` has a size of 0"
        );
        C * H * W
    };
    const OUT: usize = C;
    const IN_IMAGE: Option<[usize; 3]> = Some([C, H, W]);
    const OUT_IMAGE: Option<[usize; 3]> = Some([C, 1, 1]);
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdaptiveAvgPool2d<1>")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let div = (H * W) as f32;
        for (y, plane) in y[..C].iter_mut().zip(x[..Self::IN].chunks_exact(H * W)) {
            *y = plane.iter().sum::<f32>() / div;
        }
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        let Some(dx) = dx else { return };
        let div = (H * W) as f32;
        let samples = dx.chunks_exact_mut(Self::IN).zip(io.dy.chunks_exact(C));
        for (dx, dy) in samples.take(io.batch) {
            for (plane, d) in dx.chunks_exact_mut(H * W).zip(dy) {
                plane.fill(d / div);
            }
        }
    }
}
