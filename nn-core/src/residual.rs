//! `ResidualAdd<N>`: the end of a residual block, where the block's input is added back.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// The end of a residual block (`Residual<...>` in `network!`): its own pass is the
/// identity; the network adds the block's input to its output, and in the backward pass
/// sends its output gradient both into the block and around it, to the block's input.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn_core::{Layer, ResidualAdd};
/// let mut y = [0.0; 2];
/// ResidualAdd::<2>.forward(&[1.0, 2.0], &mut y); // the network then adds the block's input
/// assert_eq!(y, [1.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResidualAdd<const N: usize>;

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<const N: usize> bytemuck::Zeroable for ResidualAdd<N> {}

#[diagnostic::do_not_recommend]
impl<const N: usize> Layer for ResidualAdd<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("+ block input")
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
