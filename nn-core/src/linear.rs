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
pub struct Linear<const IN: usize, const OUT: usize> {
    /// `[OUT, IN]`: row `o` holds the weights into output `o`.
    pub weight: [[f32; IN]; OUT],
    /// `[OUT]`.
    pub bias: [f32; OUT],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const IN: usize, const OUT: usize> bytemuck::Zeroable for Linear<IN, OUT> {}

clone_in_place!(Linear<const IN: usize, const OUT: usize> { weight, bias });

/// Lanes per partial sum: one AVX-512 register, two AVX2 ones.
const LANES: usize = 16;

/// `a * b + c`, fused when the caller is compiled with FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    if FMA {
        return a.mul_add(b, c);
    }
    a * b + c
}

/// `y ← W x + b` for a row-major `W` (`y.len()` rows of `x.len()`), four rows at a time
/// so that each load of `x` feeds four independent chains of partial sums.
#[inline(always)]
fn matvec_body<const FMA: bool>(w: &[f32], x: &[f32], b: &[f32], y: &mut [f32]) {
    let n = x.len();
    let tail_at = n - n % LANES;
    let mut rows = w.chunks_exact(4 * n);
    let mut ys = y.chunks_exact_mut(4);
    let mut bs = b.chunks_exact(4);
    for ((w4, y4), b4) in (&mut rows).zip(&mut ys).zip(&mut bs) {
        let (w0, rest) = w4.split_at(n);
        let (w1, rest) = rest.split_at(n);
        let (w2, w3) = rest.split_at(n);
        let mut acc = [[0.0f32; LANES]; 4];
        let chunks = x[..tail_at]
            .chunks_exact(LANES)
            .zip(w0.chunks_exact(LANES))
            .zip(w1.chunks_exact(LANES))
            .zip(w2.chunks_exact(LANES))
            .zip(w3.chunks_exact(LANES));
        for ((((xs, a), b), c), d) in chunks {
            for i in 0..LANES {
                acc[0][i] = madd::<FMA>(a[i], xs[i], acc[0][i]);
                acc[1][i] = madd::<FMA>(b[i], xs[i], acc[1][i]);
                acc[2][i] = madd::<FMA>(c[i], xs[i], acc[2][i]);
                acc[3][i] = madd::<FMA>(d[i], xs[i], acc[3][i]);
            }
        }
        for (k, wk) in [w0, w1, w2, w3].into_iter().enumerate() {
            let tail: f32 = wk[tail_at..]
                .iter()
                .zip(&x[tail_at..])
                .map(|(w, x)| w * x)
                .sum();
            y4[k] = b4[k] + acc[k].iter().sum::<f32>() + tail;
        }
    }
    let rest = rows.remainder().chunks_exact(n);
    for ((w, y), b) in rest.zip(ys.into_remainder()).zip(bs.remainder()) {
        let mut acc = [0.0f32; LANES];
        for (xs, ws) in x[..tail_at].chunks_exact(LANES).zip(w.chunks_exact(LANES)) {
            for i in 0..LANES {
                acc[i] = madd::<FMA>(ws[i], xs[i], acc[i]);
            }
        }
        let tail: f32 = w[tail_at..]
            .iter()
            .zip(&x[tail_at..])
            .map(|(w, x)| w * x)
            .sum();
        *y = b + acc.iter().sum::<f32>() + tail;
    }
}

/// The one-sample kernel, `y ← W x + b`: matrixmultiply would pack `W` on every call
/// (about 23 µs for 784 × 128) and needs a heap for it; this reads `W` once, in place.
/// With `std` on x86-64 it runs the widest vector unit found at run time.
pub(crate) fn matvec(w: &[f32], x: &[f32], b: &[f32], y: &mut [f32]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU was just found to support AVX-512F and FMA.
            return unsafe { x86::matvec_avx512(w, x, b, y) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU was just found to support AVX2 and FMA.
            return unsafe { x86::matvec_avx2(w, x, b, y) };
        }
    }
    matvec_body::<false>(w, x, b, y)
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    /// [`super::matvec_body`] compiled for AVX-512.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and FMA.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn matvec_avx512(w: &[f32], x: &[f32], b: &[f32], y: &mut [f32]) {
        super::matvec_body::<true>(w, x, b, y)
    }

    /// [`super::matvec_body`] compiled for AVX2.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matvec_avx2(w: &[f32], x: &[f32], b: &[f32], y: &mut [f32]) {
        super::matvec_body::<true>(w, x, b, y)
    }
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
