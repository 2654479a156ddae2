//! The matrix-vector product of one-sample inference, `y ← W x + b`, with no heap.

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
pub(crate) fn matvec_body<const FMA: bool>(w: &[f32], x: &[f32], b: &[f32], y: &mut [f32]) {
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

/// The one-sample kernel, `y ← W x + b`: matrixmultiply would pack `W` on every call and
/// needs a heap for it; this reads `W` once, in place.
/// With `std` on x86-64 it runs the widest vector unit found at run time.
#[inline]
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
