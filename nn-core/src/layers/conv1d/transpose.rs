//! `Transpose`: channels × length to length × channels, PyTorch's `x.transpose(1, 2)`.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// Turns a sequence of `C` channels of length `L`, `[C, L]` (PyTorch's `(N, C, L)`, what
/// [`Conv1d`](crate::Conv1d) and the 1-D pools produce), into `L` steps of `C` features,
/// `[L, C]` (PyTorch's `batch_first` `(N, L, C)`, what [`GRU`](crate::GRU) and
/// [`LSTM`](crate::LSTM) read): PyTorch's `x.transpose(1, 2)` between a convolution and a
/// recurrent layer. In `network!`: `Transpose`, after a sequence layer; the recurrent layer
/// after it must take `C` features per step over `L` steps, and the macro says so where it
/// does not.
///
/// # Shapes
/// - input `[batch, C·L]`, each sample `[C, L]`; output `[batch, L·C]`, each `[L, C]`
///
/// ```
/// use nn::{Layer, Transpose};
/// let mut y = [0.0; 6];
/// Transpose::<2, 3>::default().forward(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &mut y);
/// assert_eq!(y, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transpose<const C: usize, const L: usize>;

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<const C: usize, const L: usize> bytemuck::Zeroable for Transpose<C, L> {}

#[diagnostic::do_not_recommend]
impl<const C: usize, const L: usize> Layer for Transpose<C, L> {
    const IN: usize = C * L;
    const OUT: usize = C * L;
    const IN_IMAGE: Option<[usize; 3]> = Some([C, 1, L]);
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transpose")
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (c, row) in x[..C * L].chunks_exact(L).enumerate() {
            for (t, v) in row.iter().enumerate() {
                y[t * C + c] = *v;
            }
        }
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        let Some(dx) = dx else { return };
        let samples = dx.chunks_exact_mut(C * L).zip(io.dy.chunks_exact(C * L));
        for (dx, dy) in samples.take(io.batch) {
            for (t, step) in dy.chunks_exact(C).enumerate() {
                for (c, d) in step.iter().enumerate() {
                    dx[c * L + t] = *d;
                }
            }
        }
    }
}
