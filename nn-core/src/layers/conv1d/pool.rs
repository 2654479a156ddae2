//! The 1-D pools: the general 2-D pools over an image of one row, under PyTorch's 1-D names.

use core::fmt;

use crate::{AdaptiveAvgPool2d, AvgPool2dGeneral, Backward, Layer, MaxPool2dGeneral, Rng};

/// Declares a 1-D pool over `C, K, S, P, L` as the 2-D pool `$inner` on `C × 1 × L`.
macro_rules! pool_1d {
    ($(#[$m:meta])* $name:ident, $inner:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<
            const C: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const L: usize,
        >($inner<C, 1, K, 1, S, 0, P, 1, L>);

        // SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
        unsafe impl<const C: usize, const K: usize, const S: usize, const P: usize, const L: usize>
            bytemuck::Zeroable for $name<C, K, S, P, L>
        {
        }

        impl<const C: usize, const K: usize, const S: usize, const P: usize, const L: usize>
            $name<C, K, S, P, L>
        {
            /// Output length, `(L + 2·P − K) / S + 1`.
            pub const OL: usize = $inner::<C, 1, K, 1, S, 0, P, 1, L>::OW;
        }

        #[diagnostic::do_not_recommend]
        impl<const C: usize, const K: usize, const S: usize, const P: usize, const L: usize> Layer
            for $name<C, K, S, P, L>
        {
            const IN: usize = <$inner<C, 1, K, 1, S, 0, P, 1, L> as Layer>::IN;
            const OUT: usize = C * Self::OL;
            const IN_IMAGE: Option<[usize; 3]> = Some([C, 1, L]);
            const OUT_IMAGE: Option<[usize; 3]> = Some([C, 1, Self::OL]);
            const PARAMS: usize = 0;

            fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($what, "<{}"), K)?;
                if S != K {
                    write!(f, ", stride = {S}")?;
                }
                if P != 0 {
                    write!(f, ", padding = {P}")?;
                }
                f.write_str(">")
            }

            fn init(&mut self, _rng: &mut Rng) {}

            fn forward(&self, x: &[f32], y: &mut [f32]) {
                self.0.forward(x, y);
            }

            fn cache_len(batch: usize) -> usize {
                <$inner<C, 1, K, 1, S, 0, P, 1, L> as Layer>::cache_len(batch)
            }

            #[cfg(feature = "alloc")]
            fn forward_train(
                &mut self,
                x: &[f32],
                y: &mut [f32],
                batch: usize,
                cache: &mut [f32],
            ) -> Result<(), crate::TrainError> {
                self.0.forward_train(x, y, batch, cache)
            }

            fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
                self.0.backward(io, dx, grad);
            }
        }
    };
}

pool_1d!(
    /// Max pooling over windows of `K` moved by `S`, with `P` values of −∞ at both ends, on
    /// `C` channels of length `L`, as PyTorch's `nn.MaxPool1d(K, stride=S, padding=P)`
    /// (floor mode; the first maximum wins, a NaN wins over any number). In `network!`:
    /// `MaxPool1d<2>`, `MaxPool1d<3, stride = 2, padding = 1>`.
    ///
    /// # Shapes
    /// - input `[batch, C·L]`; output `[batch, C·OL]`; no parameters
    ///
    /// ```
    /// use nn::{Layer, MaxPool1d};
    /// let mut y = [0.0; 3];
    /// MaxPool1d::<1, 2, 2, 0, 6>::default().forward(&[1.0, 3.0, 2.0, 0.0, 5.0, 4.0], &mut y);
    /// assert_eq!(y, [3.0, 2.0, 5.0]);
    /// ```
    MaxPool1d,
    MaxPool2dGeneral,
    "MaxPool1d"
);

pool_1d!(
    /// Average pooling over windows of `K` moved by `S`, with `P` zeros at both ends, on `C`
    /// channels of length `L`, as PyTorch's `nn.AvgPool1d(K, stride=S, padding=P)` (floor
    /// mode, `count_include_pad=True`: every window is divided by `K`). In `network!`:
    /// `AvgPool1d<4>`, `AvgPool1d<3, stride = 1, padding = 1>`.
    ///
    /// # Shapes
    /// - input `[batch, C·L]`; output `[batch, C·OL]`; no parameters
    ///
    /// ```
    /// use nn::{AvgPool1d, Layer};
    /// let mut y = [0.0; 2];
    /// AvgPool1d::<1, 2, 2, 0, 4>::default().forward(&[1.0, 3.0, 2.0, 0.0], &mut y);
    /// assert_eq!(y, [2.0, 1.0]);
    /// ```
    AvgPool1d,
    AvgPool2dGeneral,
    "AvgPool1d"
);

/// PyTorch's `nn.AdaptiveAvgPool1d(1)`, the global average pool: each of `C` channels of
/// length `L` averaged to one value. In `network!`: `AdaptiveAvgPool1d<1>`.
///
/// # Shapes
/// - input `[batch, C·L]`; output `[batch, C]` (a sequence of `C × 1`); no parameters
///
/// ```
/// use nn::{AdaptiveAvgPool1d, Layer};
/// let mut y = [0.0; 2];
/// AdaptiveAvgPool1d::<2, 3>::default().forward(&[1.0, 2.0, 6.0, 0.0, 0.0, 3.0], &mut y);
/// assert_eq!(y, [3.0, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveAvgPool1d<const C: usize, const L: usize>(AdaptiveAvgPool2d<C, 1, L>);

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<const C: usize, const L: usize> bytemuck::Zeroable for AdaptiveAvgPool1d<C, L> {}

#[diagnostic::do_not_recommend]
impl<const C: usize, const L: usize> Layer for AdaptiveAvgPool1d<C, L> {
    const IN: usize = <AdaptiveAvgPool2d<C, 1, L> as Layer>::IN;
    const OUT: usize = C;
    const IN_IMAGE: Option<[usize; 3]> = Some([C, 1, L]);
    const OUT_IMAGE: Option<[usize; 3]> = Some([C, 1, 1]);
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdaptiveAvgPool1d<1>")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        self.0.forward(x, y);
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        self.0.backward(io, dx, grad);
    }
}
