//! The recurrent layers' step: the gates' products `b + W v` (`affine`), their
//! nonlinearities (`math`), and the GRU and LSTM steps built from them (`gru`, `lstm`), run on
//! the widest vector unit the CPU has (`run`).
//!
//! A product reads its weights either as PyTorch stores them (`Mat::Rows`, `[gates, inputs]`)
//! or transposed (`Mat::Cols`, `[inputs, gates]`, the layout of a cell): both sum each gate's
//! terms in the same order, `b + w₀v₀ + w₁v₁ + ...` (a product of 8 to 16 inputs in two parts,
//! [`split`]), so that they give the same bits. The
//! transposed one runs down the gates in vector registers, one input at a time, and needs
//! no horizontal sums; the other reads PyTorch's layout in place, with no copy.

mod gru;
mod lstm;
pub(crate) mod math;

pub(crate) use gru::{gru_step, gru_step_fixed, GruWeights, GRU_KEEP};
pub(crate) use lstm::{lstm_step, lstm_step_fixed, LstmWeights, LSTM_KEEP};

/// A matrix of gate weights.
#[derive(Clone, Copy)]
pub(crate) enum Mat<'a> {
    /// `[gates, inputs]`, row-major: PyTorch's `weight_ih_l0`.
    Rows(&'a [f32]),
    /// `[inputs, gates]`, row-major: the transpose, as a cell holds it.
    Cols(&'a [f32]),
}

/// `a * b + c`, fused when the step runs on a unit with FMA.
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    if FMA {
        return a.mul_add(b, c);
    }
    a * b + c
}

/// Where a product of `k` inputs starts its second part. A product of 8 to 16 inputs (at small
/// sizes, the recurrent sums whose chain of multiply-adds is a step's latency) adds its first
/// `k / 2` terms to the running sum and sums the rest on their own, from zero, then adds that;
/// any other sums all its terms in one part (`k`). Every pass sums each product so.
#[inline(always)]
pub(crate) const fn split(k: usize) -> usize {
    if k >= 8 && k <= 16 {
        k / 2
    } else {
        k
    }
}

/// `acc ← acc + W v`, each element summed in input order, in the parts of [`split`]. `WIDE`:
/// the vector unit has 32 registers of 16 lanes (AVX-512).
#[inline(always)]
pub(crate) fn affine<const FMA: bool, const WIDE: bool>(acc: &mut [f32], w: Mat<'_>, v: &[f32]) {
    match w {
        Mat::Cols(w) => affine_cols::<FMA, WIDE>(acc, w, v),
        Mat::Rows(w) => {
            let m = split(v.len());
            for (a, row) in acc.iter_mut().zip(w.chunks_exact(v.len())) {
                let mut s = *a;
                for (w, v) in row[..m].iter().zip(&v[..m]) {
                    s = madd::<FMA>(*w, *v, s);
                }
                if m < v.len() {
                    let mut p = 0.0;
                    for (w, v) in row[m..].iter().zip(&v[m..]) {
                        p = madd::<FMA>(*w, *v, p);
                    }
                    s += p;
                }
                *a = s;
            }
        }
    }
}

/// Whether a product of `gates` sums fits the vector registers whole (sixteen AVX-512
/// registers, twelve AVX2 ones), so that [`sum_rows`] keeps every sum there; only where
/// products fuse, so that the baseline build keeps [`affine`]'s blocks.
#[inline(always)]
pub(crate) const fn in_registers<const FMA: bool, const WIDE: bool>(gates: usize) -> bool {
    FMA && gates <= if WIDE { 256 } else { 96 }
}

/// Whether a step whose weights are `floats` long reads them from the second-level cache,
/// where a block of units at a time pays: more than a first-level data cache holds (32 KiB),
/// and at most 384 KiB, three quarters of the smallest second-level cache among the cores this
/// is tuned for (512 KiB on Zen 2, 1 MiB on Zen 4). Beyond that, measured on Zen 4, reading a
/// block's columns of every row is slower than reading whole rows.
#[inline(always)]
pub(crate) const fn from_l2(floats: usize) -> bool {
    let bytes = floats * core::mem::size_of::<f32>();
    bytes > 32 * 1024 && bytes <= 384 * 1024
}

/// `s` as an array of `N` rows of `R`: `s` holds `N` of them exactly.
#[inline(always)]
pub(crate) fn as_rows<R: bytemuck::Pod, const N: usize>(s: &[f32]) -> &[R; N] {
    bytemuck::cast_slice::<f32, R>(s)
        .try_into()
        .expect("the weights of a cell of these sizes")
}

/// `acc ← acc + Σ_k w[k] · v[k]` over gate groups `[G][H]`, each sum in input order, as
/// [`affine`] adds them: sizes known to the compiler, so that the sums stay in registers.
#[inline(always)]
pub(crate) fn sum_rows<const FMA: bool, const K: usize, const G: usize, const H: usize>(
    acc: &mut [[f32; H]; G],
    w: &[[[f32; H]; G]; K],
    v: &[f32; K],
) {
    let m = split(K);
    for k in 0..m {
        let vk = v[k];
        for g in 0..G {
            for j in 0..H {
                acc[g][j] = madd::<FMA>(w[k][g][j], vk, acc[g][j]);
            }
        }
    }
    if m < K {
        let mut p = [[0.0f32; H]; G];
        for k in m..K {
            let vk = v[k];
            for g in 0..G {
                for j in 0..H {
                    p[g][j] = madd::<FMA>(w[k][g][j], vk, p[g][j]);
                }
            }
        }
        for g in 0..G {
            for j in 0..H {
                acc[g][j] += p[g][j];
            }
        }
    }
}

/// `a[g][j] ← a[g][j] + Σ_k w[k][g][at + j] · v[k]` for `j < n` (`n ≤ L`): gates
/// `at .. at + n` of each group of a product, in the parts of [`split`].
#[inline(always)]
pub(crate) fn sum_block<const FMA: bool, const G: usize, const H: usize, const L: usize>(
    a: &mut [[f32; L]; G],
    w: &[[[f32; H]; G]],
    v: &[f32],
    at: usize,
    n: usize,
) {
    let m = split(v.len());
    for (w, &v) in w[..m].iter().zip(&v[..m]) {
        for (a, w) in a.iter_mut().zip(w) {
            for j in 0..n {
                a[j] = madd::<FMA>(w[at + j], v, a[j]);
            }
        }
    }
    if m < v.len() {
        let mut p = [[0.0f32; L]; G];
        for (w, &v) in w[m..].iter().zip(&v[m..]) {
            for (p, w) in p.iter_mut().zip(w) {
                for j in 0..n {
                    p[j] = madd::<FMA>(w[at + j], v, p[j]);
                }
            }
        }
        for (a, p) in a.iter_mut().zip(&p) {
            for j in 0..n {
                a[j] += p[j];
            }
        }
    }
}

/// `acc ← acc + Wᵀ v` for `w` `[v.len(), acc.len()]`: blocks of gates held in registers
/// while the inputs go by. A step's sums form one chain per gate, each term waiting for the
/// one before, so the blocks are as wide as the registers hold (twelve to sixteen vectors), so
/// that enough chains run side by side to keep the multipliers busy.
#[inline(always)]
fn affine_cols<const FMA: bool, const WIDE: bool>(acc: &mut [f32], w: &[f32], v: &[f32]) {
    let n = acc.len();
    let mut at = 0;
    if WIDE {
        at = blocks::<FMA, 256>(acc, w, v, n, at);
        at = blocks::<FMA, 192>(acc, w, v, n, at);
        at = blocks::<FMA, 128>(acc, w, v, n, at);
        at = blocks::<FMA, 96>(acc, w, v, n, at);
        at = blocks::<FMA, 64>(acc, w, v, n, at);
        at = blocks::<FMA, 32>(acc, w, v, n, at);
    } else {
        // Sixteen registers of 8 lanes (AVX2) or fewer.
        at = blocks::<FMA, 96>(acc, w, v, n, at);
        at = blocks::<FMA, 64>(acc, w, v, n, at);
        at = blocks::<FMA, 32>(acc, w, v, n, at);
    }
    at = blocks::<FMA, 16>(acc, w, v, n, at);
    at = blocks::<FMA, 8>(acc, w, v, n, at);
    blocks::<FMA, 1>(acc, w, v, n, at);
}

/// [`affine_cols`] over the gates from `at` on, `B` at a time while `B` remain; returns
/// where it stopped.
#[inline(always)]
fn blocks<const FMA: bool, const B: usize>(
    acc: &mut [f32],
    w: &[f32],
    v: &[f32],
    n: usize,
    mut at: usize,
) -> usize {
    let m = split(v.len());
    while at + B <= n {
        // A loop, not `core::array::from_fn`, which may stay a call compiled without the
        // vector unit's instructions.
        let mut a = [0.0f32; B];
        a.copy_from_slice(&acc[at..at + B]);
        for (k, &vk) in v[..m].iter().enumerate() {
            let col = &w[k * n + at..k * n + at + B];
            for i in 0..B {
                a[i] = madd::<FMA>(col[i], vk, a[i]);
            }
        }
        if m < v.len() {
            let mut p = [0.0f32; B];
            for (k, &vk) in v.iter().enumerate().skip(m) {
                let col = &w[k * n + at..k * n + at + B];
                for i in 0..B {
                    p[i] = madd::<FMA>(col[i], vk, p[i]);
                }
            }
            for i in 0..B {
                a[i] += p[i];
            }
        }
        acc[at..at + B].copy_from_slice(&a);
        at += B;
    }
    at
}

/// A loop of steps, run by [`run`] on the vector unit it picks.
pub(crate) trait Steps {
    /// Runs the loop; `FMA` says whether products may fuse, `WIDE` whether the unit is
    /// AVX-512. Must be `#[inline(always)]`, so that it is compiled into the vector-enabled
    /// caller.
    fn run<const FMA: bool, const WIDE: bool>(self);
}

/// Runs `s` compiled for AVX-512 or AVX2 with FMA when the CPU has them (with `std` on
/// x86-64), else for the build's baseline without fused products; AVX2 on an AVX-512 CPU
/// where the products run on AVX2 (`NN_KERNEL=avx2`, or [`crate::gemm::set_kernel`]), so
/// that such a machine can run what an AVX2 machine runs. Every pass of a layer (step,
/// sequence, batch, training) goes through here, so all of them take the same choice and
/// give the same bits; AVX-512 and AVX2 give the same bits too, both fusing the same
/// products in the same order.
#[inline(always)]
pub(crate) fn run<S: Steps>(s: S) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        let avx2 = crate::gemm::kernel() == crate::gemm::Kernel::Avx2;
        if !avx2 && std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU was just found to support AVX-512F and FMA.
            return unsafe { x86::avx512(s) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU was just found to support AVX2 and FMA.
            return unsafe { x86::avx2(s) };
        }
    }
    s.run::<false, false>()
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use super::Steps;

    /// Runs `s` with AVX-512F and FMA code generation.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and FMA.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn avx512<S: Steps>(s: S) {
        s.run::<true, true>()
    }

    /// Runs `s` with AVX2 and FMA code generation.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2<S: Steps>(s: S) {
        s.run::<true, false>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transposed product gives the bits of the row-major one, for gate counts around
    /// the block sizes.
    #[test]
    fn both_layouts_give_the_same_bits() {
        let mut rng = crate::Rng::seed(7);
        let (mut w, mut wt) = ([0.0f32; 192 * 64], [0.0f32; 192 * 64]);
        let (mut v, mut b) = ([0.0f32; 64], [0.0f32; 192]);
        for (gates, inputs) in [
            (1, 1),
            (7, 3),
            (24, 8),
            (63, 5),
            (65, 2),
            (96, 32),
            (192, 64),
        ] {
            let (w, wt) = (&mut w[..gates * inputs], &mut wt[..gates * inputs]);
            let (v, b) = (&mut v[..inputs], &mut b[..gates]);
            for x in w.iter_mut().chain(v.iter_mut()).chain(b.iter_mut()) {
                *x = rng.uniform(-1.0, 1.0);
            }
            for g in 0..gates {
                for k in 0..inputs {
                    wt[k * gates + g] = w[g * inputs + k];
                }
            }
            for fma in [false, true] {
                let mut sums = [[0.0f32; 192]; 3];
                let [rows, cols, wide] = sums.each_mut().map(|s| &mut s[..gates]);
                for s in [&mut *rows, &mut *cols, &mut *wide] {
                    s.copy_from_slice(b);
                }
                if fma {
                    affine::<true, false>(rows, Mat::Rows(w), v);
                    affine::<true, false>(cols, Mat::Cols(wt), v);
                    affine::<true, true>(wide, Mat::Cols(wt), v);
                } else {
                    affine::<false, false>(rows, Mat::Rows(w), v);
                    affine::<false, false>(cols, Mat::Cols(wt), v);
                    affine::<false, true>(wide, Mat::Cols(wt), v);
                }
                assert_eq!(rows, cols, "{gates} × {inputs}, fma {fma}");
                assert_eq!(rows, wide, "{gates} × {inputs}, fma {fma}, wide blocks");
                for (g, got) in rows.iter().enumerate() {
                    let terms = (0..inputs).map(|k| w[g * inputs + k] as f64 * v[k] as f64);
                    let want = b[g] as f64 + terms.sum::<f64>();
                    assert!(
                        (*got as f64 - want).abs() < 1e-5,
                        "{gates} × {inputs}: gate {g}"
                    );
                }
            }
        }
    }
}
