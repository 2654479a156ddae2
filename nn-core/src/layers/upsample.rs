//! `Upsample<C, S, H, W>`: PyTorch's `nn.Upsample(scale_factor=S, mode='nearest')` on flat
//! NCHW samples.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// Nearest-neighbour upsampling by an integer factor `S`, on `C` channels of `H × W`, as
/// PyTorch's `nn.Upsample(scale_factor=S)` (mode `'nearest'`): each input value fills an
/// `S × S` block of the output, `C` channels of `H·S × W·S`. Backward sums each block's
/// gradient into its input value, row by row as PyTorch does.
///
/// # Shapes
/// - input `[batch, C·H·W]`: each sample is PyTorch's `[C, H, W]`, flat
/// - output `[batch, C·H·S·W·S]`, each sample `[C, H·S, W·S]`, flat; no parameters
///
/// ```
/// use nn::{Layer, Upsample};
/// let mut y = [0.0; 8];
/// Upsample::<1, 2, 1, 2>.forward(&[1.0, 2.0], &mut y);
/// assert_eq!(y, [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Upsample<const C: usize, const S: usize, const H: usize, const W: usize>;

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<const C: usize, const S: usize, const H: usize, const W: usize> bytemuck::Zeroable
    for Upsample<C, S, H, W>
{
}

impl<const C: usize, const S: usize, const H: usize, const W: usize> Upsample<C, S, H, W> {
    const CHECK: () = {
        assert!(C > 0, "`Upsample` needs at least 1 channel (`C`)");
        assert!(S > 0, "`Upsample` needs a scale `S` of at least 1");
        assert!(H > 0 && W > 0, "`Upsample` needs an image of at least 1×1");
    };
    /// Output height, `H·S`.
    pub const OH: usize = {
        let () = Self::CHECK;
        H * S
    };
    /// Output width, `W·S`.
    pub const OW: usize = {
        let () = Self::CHECK;
        W * S
    };
}

#[diagnostic::do_not_recommend]
impl<const C: usize, const S: usize, const H: usize, const W: usize> Layer
    for Upsample<C, S, H, W>
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
        write!(f, "Upsample<{S}>")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for (plane, out) in x
            .chunks_exact(H * W)
            .zip(y.chunks_exact_mut(Self::OH * Self::OW))
        {
            for (row, out_rows) in plane
                .chunks_exact(W)
                .zip(out.chunks_exact_mut(S * Self::OW))
            {
                let (first, rest) = out_rows.split_at_mut(Self::OW);
                for (v, block) in row.iter().zip(first.chunks_exact_mut(S)) {
                    block.fill(*v);
                }
                for copy in rest.chunks_exact_mut(Self::OW) {
                    copy.copy_from_slice(first);
                }
            }
        }
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
            let planes = dx
                .chunks_exact_mut(H * W)
                .zip(dy.chunks_exact(Self::OH * Self::OW));
            for (dx, dy) in planes {
                dx.fill(0.0);
                // Output rows in order, as PyTorch accumulates them.
                for (oi, dy_row) in dy.chunks_exact(Self::OW).enumerate() {
                    let dx_row = &mut dx[(oi / S) * W..][..W];
                    for (d, block) in dx_row.iter_mut().zip(dy_row.chunks_exact(S)) {
                        for v in block {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}
