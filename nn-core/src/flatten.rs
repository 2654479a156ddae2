//! `Flatten<N>`: PyTorch's `nn.Flatten()`.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// PyTorch's `nn.Flatten()`, between image layers and [`crate::Linear`]: a sample is
/// already flat here (`[C, H, W]` stored channel by channel, each row-major, which is the
/// order in which PyTorch's `Flatten` lays it out), so it passes its `N` values through
/// unchanged. It states in the network where PyTorch's would stand, so that the two read
/// alike and state dicts number their layers the same.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn_core::{Flatten, Layer};
/// let mut y = [0.0; 4];
/// Flatten::<4>.forward(&[1.0, 2.0, 3.0, 4.0], &mut y); // one 2×2 channel
/// assert_eq!(y, [1.0, 2.0, 3.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<const N: usize> bytemuck::Zeroable for Flatten<N> {}

#[diagnostic::do_not_recommend]
impl<const N: usize> Layer for Flatten<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flatten")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        y[..N].copy_from_slice(&x[..N]);
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize) {
        y[..batch * N].copy_from_slice(&x[..batch * N]);
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        if let Some(dx) = dx {
            let n = io.batch * N;
            dx[..n].copy_from_slice(&io.dy[..n]);
        }
    }
}
