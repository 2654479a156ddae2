//! `Linear<IN, OUT, BIAS>`: PyTorch's `nn.Linear`, `y = x Wᵀ + b`.

use core::fmt;
use core::ops::Range;

use crate::kernels::matvec;
#[cfg(feature = "alloc")]
use crate::kernels::parts::for_parts;
use crate::kernels::parts::{for_n_parts, parts};
use crate::{Backward, Layer, Rng};

/// A fully connected layer, `y = x Wᵀ + b`, as PyTorch's `nn.Linear(IN, OUT)`; with
/// `BIAS = false`, `y = x Wᵀ`, as `nn.Linear(IN, OUT, bias=False)` (in `network!`,
/// `Linear<IN, OUT, bias = false>`).
///
/// # Shapes
/// - input `[batch, IN]`, output `[batch, OUT]`
/// - `weight`: `[OUT, IN]`, row-major (PyTorch's layout); `bias`: `[OUT]`
///
/// Initialised as PyTorch does: weight and bias uniform in `±1/sqrt(IN)`.
///
/// # Without bias
/// A layer with `BIAS = false` has no `bias` tensor: its visitors, its state dict and
/// [`Layer::PARAMS`] hold the weight alone, and its initialisation draws the weight alone,
/// as PyTorch's. Its `bias` field stays in the struct, so that both kinds share one type and
/// one set of kernels, and holds zeros, which [`Layer::init`] writes and nothing loads, saves or
/// trains: leave it at zero.
///
/// ```
/// use nn::{Layer, Linear, Zeroable};
/// type NoBias = Linear<3, 2, false>;
/// assert_eq!(<NoBias as Layer>::PARAMS, 6);
/// let mut names = Vec::new();
/// NoBias::zeroed().visit_params(&mut |name, _, _| names.push(name));
/// assert_eq!(names, ["weight"]);
/// ```
///
/// ```
/// use nn::{Layer, Linear, Rng};
/// let mut fc = Linear::<3, 2> { weight: [[0.0; 3]; 2], bias: [0.0; 2] };
/// fc.weight = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]];
/// fc.bias = [0.5, -0.5];
/// let mut y = [0.0; 2];
/// fc.forward(&[1.0, 2.0, 3.0], &mut y);
/// assert_eq!(y, [1.5, 4.5]);
/// assert_eq!(<Linear<3, 2> as Layer>::PARAMS, 8);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct Linear<const IN: usize, const OUT: usize, const BIAS: bool = true> {
    /// `[OUT, IN]`: row `o` holds the weights into output `o`.
    pub weight: [[f32; IN]; OUT],
    /// `[OUT]`; zeros, and no tensor of the layer's, when `BIAS` is `false`.
    pub bias: [f32; OUT],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const IN: usize, const OUT: usize, const BIAS: bool> bytemuck::Zeroable
    for Linear<IN, OUT, BIAS>
{
}

clone_in_place!(Linear<const IN: usize, const OUT: usize, const BIAS: bool> { weight, bias });

impl<const IN: usize, const OUT: usize, const BIAS: bool> crate::layers::stream::sealed::Sealed
    for Linear<IN, OUT, BIAS>
{
}

/// The layer's one-sample forward pass on a step's features, within a stack's step: the same
/// sums in the same order, so the same bits.
impl<const IN: usize, const OUT: usize, const BIAS: bool> crate::Stream for Linear<IN, OUT, BIAS> {
    type In = [f32; IN];
    type Out = [f32; OUT];
    type State = ();

    #[inline(always)]
    fn step_with<const FMA: bool, const WIDE: bool>(
        &self,
        x: &[f32; IN],
        _: &mut (),
        y: &mut [f32; OUT],
    ) {
        crate::kernels::matvec_body::<FMA>(self.weight.as_flattened(), x, &self.bias, y);
    }
}

/// Elements (batch × features) per thread, at least, of a bias pass split over the pool.
const BIAS_PART_MIN: usize = 1 << 15;

#[diagnostic::do_not_recommend]
impl<const IN: usize, const OUT: usize, const BIAS: bool> Layer for Linear<IN, OUT, BIAS> {
    const IN: usize = IN;
    const OUT: usize = OUT;
    const PARAMS: usize = IN * OUT + if BIAS { OUT } else { 0 };
    const MACS: usize = Self::PARAMS;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Linear<{IN}, {OUT}")?;
        crate::layers::write_bias(f, BIAS)
    }

    fn init(&mut self, rng: &mut Rng) {
        // PyTorch: kaiming_uniform_(a = sqrt(5)) gives bound 1/sqrt(fan_in), and the bias
        // uses the same bound; a layer without bias draws the weight alone.
        let bound = 1.0 / libm::sqrtf(IN as f32);
        for w in self.weight.as_flattened_mut() {
            *w = rng.uniform(-bound, bound);
        }
        for b in &mut self.bias {
            *b = if BIAS {
                rng.uniform(-bound, bound)
            } else {
                0.0
            };
        }
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        matvec(
            self.weight.as_flattened(),
            &x[..IN],
            &self.bias,
            &mut y[..OUT],
        );
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        use crate::gemm::{gemm, MatMut, MatRef};
        let y = &mut y[..batch * OUT];
        // The bias in every row, the rows over the pool's threads when there are many.
        for_parts(&mut *y, BIAS_PART_MIN, OUT, &|y: &mut [f32]| {
            for row in y.chunks_exact_mut(OUT) {
                row.copy_from_slice(&self.bias);
            }
        });
        // Y ← X Wᵀ + Y, with Y pre-filled with the bias.
        gemm(
            1.0,
            MatRef::row_major(&x[..batch * IN], batch, IN),
            MatRef::row_major(self.weight.as_flattened(), OUT, IN).t(),
            1.0,
            MatMut::row_major(y, batch, OUT),
        );
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let batch = io.batch;
        // `gb` is empty without a bias.
        let (gw, gb) = grad[..Self::PARAMS].split_at_mut(IN * OUT);
        let dy = &io.dy[..batch * OUT];
        // Each feature's sum runs down its column in row order, whichever thread has the
        // column: the same bits on any number of threads.
        let n = parts(batch * gb.len(), BIAS_PART_MIN);
        for_n_parts((0..gb.len(), gb), n, 16, &|(cols, gb): (
            Range<usize>,
            &mut [f32],
        )| {
            for row in dy.chunks_exact(OUT) {
                for (g, d) in gb.iter_mut().zip(&row[cols.clone()]) {
                    *g += d;
                }
            }
        });
        #[cfg(feature = "alloc")]
        {
            use crate::gemm::{gemm, MatMut, MatRef};
            // dW ← dYᵀ X + dW (gradients accumulate, as in PyTorch).
            gemm(
                1.0,
                MatRef::row_major(dy, batch, OUT).t(),
                MatRef::row_major(&io.x[..batch * IN], batch, IN),
                1.0,
                MatMut::row_major(gw, OUT, IN),
            );
            // dX ← dY W.
            if let Some(dx) = dx {
                gemm(
                    1.0,
                    MatRef::row_major(dy, batch, OUT),
                    MatRef::row_major(self.weight.as_flattened(), OUT, IN),
                    0.0,
                    MatMut::row_major(&mut dx[..batch * IN], batch, IN),
                );
            }
        }
        #[cfg(not(feature = "alloc"))]
        {
            for (x, d) in io.x.chunks_exact(IN).zip(dy.chunks_exact(OUT)) {
                for (gw_row, d) in gw.chunks_exact_mut(IN).zip(d) {
                    for (g, x) in gw_row.iter_mut().zip(x) {
                        *g += d * x;
                    }
                }
            }
            if let Some(dx) = dx {
                for (dx, d) in dx.chunks_exact_mut(IN).zip(dy.chunks_exact(OUT)) {
                    dx.fill(0.0);
                    for (w, d) in self.weight.iter().zip(d) {
                        for (dx, w) in dx.iter_mut().zip(w) {
                            *dx += d * w;
                        }
                    }
                }
            }
        }
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        f("weight", &[OUT, IN], self.weight.as_flattened());
        if BIAS {
            f("bias", &[OUT], &self.bias);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        f("weight", self.weight.as_flattened_mut());
        if BIAS {
            f("bias", &mut self.bias);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backward pass against its definition, written out: run with and without the
    /// `alloc` feature (`cargo test -p nn-core --no-default-features --lib`), it checks both
    /// the matrix-product path and the no-heap loops of a microcontroller build.
    #[test]
    fn backward_matches_its_definition() {
        let lin = Linear::<3, 2> {
            weight: [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]],
            bias: [0.1, -0.2],
        };
        let x = [1.0, 2.0, -1.0, 0.5, -0.5, 3.0];
        let dy = [0.3, -0.7, 1.1, 0.4];
        let mut y = [0.0; 4];
        for b in 0..2 {
            lin.forward(&x[3 * b..3 * b + 3], &mut y[2 * b..2 * b + 2]);
        }
        let mut grad = [1.0; 8]; // gradients accumulate onto what is there
        let mut dx = [f32::NAN; 6];
        let mut cache = [];
        let io = Backward {
            x: &x,
            y: &y,
            dy: &dy,
            batch: 2,
            cache: &mut cache,
        };
        lin.backward(io, Some(&mut dx), &mut grad);
        for o in 0..2 {
            for i in 0..3 {
                let want = 1.0 + dy[o] * x[i] + dy[2 + o] * x[3 + i];
                assert!((grad[3 * o + i] - want).abs() < 1e-6, "dW[{o}][{i}]");
            }
            let want = 1.0 + dy[o] + dy[2 + o];
            assert!((grad[6 + o] - want).abs() < 1e-6, "db[{o}]");
        }
        for b in 0..2 {
            for i in 0..3 {
                let want = dy[2 * b] * lin.weight[0][i] + dy[2 * b + 1] * lin.weight[1][i];
                assert!((dx[3 * b + i] - want).abs() < 1e-6, "dx[{b}][{i}]");
            }
        }
    }
}
