//! `Linear<IN, OUT>`: PyTorch's `nn.Linear`, `y = x Wᵀ + b`.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// A fully connected layer, `y = x Wᵀ + b`, as PyTorch's `nn.Linear(IN, OUT)`.
///
/// # Shapes
/// - input `[batch, IN]`, output `[batch, OUT]`
/// - `weight`: `[OUT, IN]`, row-major (PyTorch's layout); `bias`: `[OUT]`
///
/// Initialised as PyTorch does: weight and bias uniform in `±1/sqrt(IN)`.
///
/// ```
/// use nn_core::{Layer, Linear, Rng};
/// let mut fc = Linear::<3, 2> { weight: [[0.0; 3]; 2], bias: [0.0; 2] };
/// fc.weight = [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]];
/// fc.bias = [0.5, -0.5];
/// let mut y = [0.0; 2];
/// fc.forward(&[1.0, 2.0, 3.0], &mut y);
/// assert_eq!(y, [1.5, 4.5]);
/// assert_eq!(<Linear<3, 2> as Layer>::PARAMS, 8);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Linear<const IN: usize, const OUT: usize> {
    /// `[OUT, IN]`: row `o` holds the weights into output `o`.
    pub weight: [[f32; IN]; OUT],
    /// `[OUT]`.
    pub bias: [f32; OUT],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const IN: usize, const OUT: usize> bytemuck::Zeroable for Linear<IN, OUT> {}

/// `a · b` with 16 independent partial sums, so that the compiler can vectorise it.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[diagnostic::do_not_recommend]
impl<const IN: usize, const OUT: usize> Layer for Linear<IN, OUT> {
    const IN: usize = IN;
    const OUT: usize = OUT;
    const PARAMS: usize = IN * OUT + OUT;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Linear<{IN}, {OUT}>")
    }

    fn init(&mut self, rng: &mut Rng) {
        // PyTorch: kaiming_uniform_(a = sqrt(5)) gives bound 1/sqrt(fan_in), and the bias
        // uses the same bound.
        let bound = 1.0 / libm::sqrtf(IN as f32);
        for w in self.weight.as_flattened_mut() {
            *w = rng.uniform(-bound, bound);
        }
        for b in &mut self.bias {
            *b = rng.uniform(-bound, bound);
        }
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for ((y, w), b) in y.iter_mut().zip(&self.weight).zip(&self.bias) {
            *y = b + dot(w, x);
        }
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize) {
        use crate::gemm::{gemm, MatMut, MatRef};
        let y = &mut y[..batch * OUT];
        for row in y.chunks_exact_mut(OUT) {
            row.copy_from_slice(&self.bias);
        }
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
        let (gw, gb) = grad.split_at_mut(IN * OUT);
        let dy = &io.dy[..batch * OUT];
        for row in dy.chunks_exact(OUT) {
            for (g, d) in gb.iter_mut().zip(row) {
                *g += d;
            }
        }
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
        f("bias", &[OUT], &self.bias);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        f("weight", self.weight.as_flattened_mut());
        f("bias", &mut self.bias);
    }
}
