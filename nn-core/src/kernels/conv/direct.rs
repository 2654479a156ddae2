//! One-sample convolution by a register-tiled direct kernel (AVX2 with FMA), for stride 1
//! without padding.
//!
//! There the patch-matrix row of tap `(ci, ki, kj)` over output row `oh` is the input row
//! slice `x[ci, oh + ki, kj..kj + OW]`, so the product `W · patches` reads the input where
//! it lies: no patch matrix, no packing, no heap. A tile of the output, [`MR`] channels by
//! 16 (or 8) adjacent positions of one row, stays in vector registers while every tap adds
//! one input vector times one weight per channel. A row's last columns are covered by a
//! tile that overlaps the one before, which computes those positions again to the same
//! values, rather than by a scalar tail.
//!
//! Written with intrinsics: left to itself, the compiler rebuilds the overlapping input
//! vectors of neighbouring taps (`kj`, `kj + 1`) by shuffles instead of loading them, which
//! costs more than the loads.

use core::arch::x86_64::{
    _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

use super::Shape;

/// Output channels per tile of 16 positions; tiles of 8 take twice as many.
const MR: usize = 5;

/// Whether this CPU runs [`forward`]: AVX2 and FMA.
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// `y ← W ⋆ x + b` for one sample of the stride-1, unpadded convolution `G`: `w` is the
/// weight as a row-major `[COUT, TAPS]` matrix, `y` the `[COUT, OH, OW]` output.
///
/// # Panics
/// Unless [`available`], `G` has stride 1, no padding and output rows of at least 8, and
/// the slices hold at least `G`'s sizes.
pub(crate) fn forward<G: Shape>(w: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
    let g = G::GEOM;
    assert!(available() && g.s == 1 && g.p == 0 && g.ow >= 8);
    let (taps, q, cout) = (g.taps(), g.positions(), bias.len());
    let (w, x, y) = (
        &w[..cout * taps],
        &x[..g.cin * g.h * g.w],
        &mut y[..cout * q],
    );
    let mut o = 0;
    while o + 2 * MR <= cout {
        rows::<G, MR, { 2 * MR }>(&w[o * taps..], &bias[o..], x, &mut y[o * q..]);
        o += 2 * MR;
    }
    // The last channels, fewer than a block's.
    let (w, bias, y) = (&w[o * taps..], &bias[o..], &mut y[o * q..]);
    match cout - o {
        0 => {}
        1 => rows::<G, 1, 1>(w, bias, x, y),
        2 => rows::<G, 2, 2>(w, bias, x, y),
        3 => rows::<G, 3, 3>(w, bias, x, y),
        4 => rows::<G, 4, 4>(w, bias, x, y),
        5 => rows::<G, 5, 5>(w, bias, x, y),
        6 => rows::<G, 3, 6>(w, bias, x, y),
        7 => rows::<G, 7, 7>(w, bias, x, y),
        8 => rows::<G, 4, 8>(w, bias, x, y),
        _ => rows::<G, 9, 9>(w, bias, x, y),
    }
}

/// Output channels `0..B`, from `B` weight rows of `w` and `bias`, into the planes of `y`:
/// tiles of 16 positions take `R` channels at a time (`B` a multiple of `R`), tiles of 8
/// all `B` at once, so that both keep about ten accumulators in flight, enough to cover
/// the latency of the multiply-adds.
fn rows<G: Shape, const R: usize, const B: usize>(
    w: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
) {
    let g = G::GEOM;
    let (taps, q) = (g.taps(), g.positions());
    assert!(B.is_multiple_of(R));
    let w: [&[f32]; B] = core::array::from_fn(|r| &w[r * taps..][..taps]);
    let b: [f32; B] = core::array::from_fn(|r| bias[r]);
    for oh in 0..g.oh {
        let mut ow = 0;
        while ow + 16 <= g.ow {
            for part in (0..B).step_by(R) {
                let w: [&[f32]; R] = core::array::from_fn(|r| w[part + r]);
                let b: [f32; R] = core::array::from_fn(|r| b[part + r]);
                // SAFETY: `forward` checked that the CPU has AVX2 and FMA.
                unsafe { tile::<G, R, 2>(&w, &b, x, &mut y[part * q..], oh, ow) };
            }
            ow += 16;
        }
        if ow + 8 <= g.ow {
            // SAFETY: as above.
            unsafe { tile::<G, B, 1>(&w, &b, x, y, oh, ow) };
            ow += 8;
        }
        if ow < g.ow {
            // The row's last columns, overlapping the tile before (rows are at least 8).
            // SAFETY: as above.
            unsafe { tile::<G, B, 1>(&w, &b, x, y, oh, g.ow - 8) };
        }
    }
}

/// One tile: channels `0..R`, positions `ow..ow + 8·V` of output row `oh`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<G: Shape, const R: usize, const V: usize>(
    w: &[&[f32]; R],
    b: &[f32; R],
    x: &[f32],
    y: &mut [f32],
    oh: usize,
    ow: usize,
) {
    let g = G::GEOM;
    // Every read below is checked here, once: the last input element the tile reads (the
    // last channel's row `oh + k − 1`, column `ow + k − 1 + 8·V − 1`) and each weight row's
    // length; the loop then indexes without checks, which would cost as much as its loads.
    let last = ((g.cin - 1) * g.h + oh + g.k - 1) * g.w + ow + g.k - 1 + 8 * V - 1;
    assert!(last < x.len() && w.iter().all(|w| w.len() >= g.taps()));
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    for (acc, b) in acc.iter_mut().zip(b) {
        *acc = [_mm256_set1_ps(*b); V];
    }
    let w: [*const f32; R] = core::array::from_fn(|r| w[r].as_ptr());
    let mut t = 0;
    for ci in 0..g.cin {
        for ki in 0..g.k {
            let row = (ci * g.h + oh + ki) * g.w + ow;
            for kj in 0..g.k {
                let mut v = [_mm256_setzero_ps(); V];
                for (j, v) in v.iter_mut().enumerate() {
                    // SAFETY: `row + kj + 8·j + 7 ≤ last < x.len()`, checked above.
                    *v = unsafe { _mm256_loadu_ps(x.as_ptr().add(row + kj + 8 * j)) };
                }
                for r in 0..R {
                    // SAFETY: `t < taps ≤ w[r].len()`, checked above.
                    let a = _mm256_set1_ps(unsafe { *w[r].add(t) });
                    for j in 0..V {
                        acc[r][j] = _mm256_fmadd_ps(a, v[j], acc[r][j]);
                    }
                }
                t += 1;
            }
        }
    }
    let q = g.positions();
    for (r, acc) in acc.iter().enumerate() {
        let dst = &mut y[r * q + oh * g.ow + ow..][..8 * V];
        for (j, v) in acc.iter().enumerate() {
            // SAFETY: `dst` holds `8·V` floats, so each store of 8 stays inside it.
            unsafe { _mm256_storeu_ps(dst[8 * j..].as_mut_ptr(), *v) };
        }
    }
}

#[cfg(test)]
mod tests {
    //! The kernel against the portable direct loops, on shapes that take every tile: rows of
    //! 8 to 40 positions (whole tiles of 16 and 8, and overlapping last tiles) and channel
    //! counts that leave every remainder of a tile.

    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use crate::{Conv2d, Layer, Rng, Zeroable};

    fn check<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const H: usize,
        const W: usize,
    >() {
        if !super::available() {
            std::eprintln!("skipped: this CPU has no AVX2 with FMA");
            return;
        }
        let mut rng = Rng::seed(7);
        let mut layer = Conv2d::<CIN, COUT, K, 1, 0, H, W>::zeroed();
        layer.init(&mut rng);
        let n_in = <Conv2d<CIN, COUT, K, 1, 0, H, W> as Layer>::IN;
        let n_out = <Conv2d<CIN, COUT, K, 1, 0, H, W> as Layer>::OUT;
        let x: Vec<f32> = (0..n_in).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut want = vec![f32::NAN; n_out];
        layer.forward_direct(&x, &mut want);
        let mut got = vec![f32::NAN; n_out];
        super::forward::<Conv2d<CIN, COUT, K, 1, 0, H, W>>(
            layer.weight_matrix(),
            &layer.bias,
            &x,
            &mut got,
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // Sums of at most a few dozen terms below 1, fused here and not there.
            assert!(
                (g - w).abs() <= 1e-5,
                "Conv2d<{CIN}, {COUT}, {K}> on {H}×{W}: element {i}: {g} against {w}"
            );
        }
    }

    #[test]
    fn rows_of_every_length() {
        check::<1, 6, 3, 10, 10>(); // one tile of 8
        check::<1, 6, 3, 5, 11>(); // 8, then an overlapping 8
        check::<2, 6, 1, 3, 16>(); // one tile of 16
        check::<1, 6, 2, 4, 18>(); // 16, then an overlapping 8
        check::<1, 6, 3, 4, 26>(); // 16, 8, then an overlapping 8
        check::<3, 6, 5, 6, 37>(); // 16, 16, then an overlapping 8
        check::<1, 6, 3, 3, 42>(); // 16, 16, 8
    }

    #[test]
    fn channels_of_every_remainder() {
        check::<2, 1, 3, 5, 12>();
        check::<2, 2, 3, 5, 12>();
        check::<2, 3, 3, 5, 12>();
        check::<2, 4, 3, 5, 12>();
        check::<2, 5, 3, 5, 12>();
        check::<2, 6, 3, 5, 12>();
        check::<2, 7, 3, 5, 12>();
        check::<2, 8, 3, 5, 12>();
        check::<2, 9, 3, 5, 12>();
        check::<2, 10, 3, 5, 12>();
        check::<2, 11, 3, 5, 12>();
        check::<3, 17, 3, 7, 20>();
        check::<3, 29, 3, 7, 20>();
    }

    #[test]
    fn networks_layers() {
        check::<1, 8, 3, 28, 28>();
        check::<8, 16, 3, 13, 13>();
        check::<32, 64, 3, 26, 26>();
    }

    #[test]
    fn batches_of_whole_tiles_take_the_kernel() {
        // 17 channels on rows of 16: `forward_batch` runs the kernel sample by sample.
        type C = Conv2d<3, 17, 3, 1, 0, 7, 18>;
        let mut rng = Rng::seed(9);
        let mut layer = C::zeroed();
        layer.init(&mut rng);
        let batch = 3;
        let x: Vec<f32> = (0..batch * C::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut y = vec![f32::NAN; batch * C::OUT];
        layer.forward_batch(&x, &mut y, batch, &mut []);
        for (x, y) in x.chunks(C::IN).zip(y.chunks(C::OUT)) {
            let mut want = vec![f32::NAN; C::OUT];
            layer.forward_direct(x, &mut want);
            for (g, w) in y.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-5, "{g} against {w}");
            }
        }
    }
}
