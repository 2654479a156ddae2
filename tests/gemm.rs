//! The `gemm` wrapper against a naive reference, on sizes that are not multiples of any
//! kernel tile, in every transpose combination.

mod common;
use common::random::random;

use nn::gemm::{gemm, MatMut, MatRef};
use nn::Rng;

/// Element (i, j) of a row-major `rows × cols` matrix, or of its transpose when `t`.
fn at(data: &[f32], cols: usize, t: bool, i: usize, j: usize) -> f64 {
    (if t {
        data[j * cols + i]
    } else {
        data[i * cols + j]
    }) as f64
}

#[test]
fn matches_naive_reference_on_odd_sizes_in_every_layout() {
    sweep();
}

/// With the `threading` feature, inside the pool products of at least 2²¹ multiply-adds
/// are split over the pool's threads (at least 2²⁰ multiply-adds a part): halves by rows when
/// the output has at least as many rows as columns, else by columns, in proportion to the
/// threads each half gets, and split again. Checked in pools of exactly two, three and four
/// threads (so that the splits happen on any machine; three gives unequal halves), in every
/// layout, with odd sizes so that the parts differ.
#[cfg(feature = "threading")]
#[test]
fn split_products_match_naive_reference() {
    for threads in [2, 3, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(|| {
            nn::gemm::parallel(|| {
                let mut rng = Rng::seed(7);
                // Rows split (m ≥ n), columns split (n > m), and products large enough for
                // every part of four.
                for (m, k, n) in [
                    (257, 129, 65),
                    (65, 129, 257),
                    (129, 129, 129),
                    (513, 129, 127),
                ] {
                    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                        check(&mut rng, m, k, n, ta, tb);
                    }
                }
            })
        });
    }
}

fn sweep() {
    const SIZES: [usize; 5] = [1, 7, 63, 65, 129];
    let mut rng = Rng::seed(42);
    for &m in &SIZES {
        for &k in &SIZES {
            for &n in &SIZES {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    check(&mut rng, m, k, n, ta, tb);
                }
            }
        }
    }
}

/// `C ← α A B + β C` on random data against a float64 reference, A transposed when `ta`,
/// B when `tb`.
fn check(rng: &mut Rng, m: usize, k: usize, n: usize, ta: bool, tb: bool) {
    let (alpha, beta) = (0.75f32, -0.5f32);
    // Stored row-major as written: A is m×k, or k×m when transposed.
    let a = random(rng, m * k);
    let b = random(rng, k * n);
    let c0 = random(rng, m * n);
    let (a_cols, b_cols) = (if ta { m } else { k }, if tb { k } else { n });
    let av = if ta {
        MatRef::row_major(&a, k, m).t()
    } else {
        MatRef::row_major(&a, m, k)
    };
    let bv = if tb {
        MatRef::row_major(&b, n, k).t()
    } else {
        MatRef::row_major(&b, k, n)
    };
    let mut c = c0.clone();
    gemm(alpha, av, bv, beta, MatMut::row_major(&mut c, m, n));
    let mut want = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let dot: f64 = (0..k)
                .map(|p| at(&a, a_cols, ta, i, p) * at(&b, b_cols, tb, p, j))
                .sum();
            want[i * n + j] = (alpha as f64 * dot + beta as f64 * c0[i * n + j] as f64) as f32;
        }
    }
    // f32 products of k terms in [-1, 1]: the rounding error grows like k · 2⁻²⁴ in the
    // worst case; 1e-6 · k bounds it with room to spare.
    assert_close!(
        c,
        want,
        rel = 1e-5,
        abs = 1e-6 * k as f32,
        "m={m} k={k} n={n} ta={ta} tb={tb}"
    );
}

#[test]
fn beta_zero_overwrites_nan() {
    let a = [1.0, 2.0];
    let b = [3.0, 4.0];
    let mut c = [f32::NAN];
    gemm(
        1.0,
        MatRef::row_major(&a, 1, 2),
        MatRef::row_major(&b, 2, 1),
        0.0,
        MatMut::row_major(&mut c, 1, 1),
    );
    assert_eq!(c, [11.0]);
}

#[test]
fn zero_inner_dimension_scales_c() {
    let mut c = [2.0, 4.0];
    gemm(
        1.0,
        MatRef::row_major(&[], 2, 0),
        MatRef::row_major(&[], 0, 1),
        0.5,
        MatMut::row_major(&mut c, 2, 1),
    );
    assert_eq!(c, [1.0, 2.0]);
}

#[test]
#[should_panic(expected = "m = 2, k = 3, n = 2")]
fn shape_mismatch_names_m_k_n() {
    let a = [0.0; 6];
    let b = [0.0; 4];
    let mut c = [0.0; 4];
    gemm(
        1.0,
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 2, 2),
        0.0,
        MatMut::row_major(&mut c, 2, 2),
    );
}

#[test]
#[should_panic(expected = "does not fit in its slice of 5 values")]
fn view_past_its_slice_panics() {
    let _ = MatRef::row_major(&[0.0; 5], 2, 3);
}

/// An output whose elements share memory would have `sgemm` (and, with `threading`, two
/// threads at once) write one value through several elements: refused when built.
#[test]
fn output_views_with_overlapping_elements_are_refused() {
    let refused = |rows, cols, rs, cs| {
        std::panic::catch_unwind(move || {
            let mut data = [0.0f32; 64];
            let _ = MatMut::strided(&mut data, rows, cols, rs, cs);
        })
        .is_err()
    };
    // A row stride of 0: every row is the same memory.
    assert!(refused(4, 4, 0, 1));
    assert!(refused(4, 4, 1, 0));
    // Rows that overlap: 3 columns but rows only 2 apart.
    assert!(refused(4, 3, 2, 1));
    // Equal strides: (0, 1) and (1, 0) are one element.
    assert!(refused(2, 2, 3, 3));
    // Distinct layouts are accepted: row- and column-major, windows, one row or column
    // with any stride in its single-element dimension.
    assert!(!refused(4, 4, 4, 1));
    assert!(!refused(4, 4, 1, 4));
    assert!(!refused(3, 2, 5, 1));
    assert!(!refused(1, 8, 0, 1));
    assert!(!refused(8, 1, 1, 0));
    assert!(!refused(0, 4, 0, 0));
}

#[test]
#[should_panic(expected = "two elements share memory")]
fn zero_row_stride_output_names_the_problem() {
    let mut c = [0.0f32; 4];
    let _ = MatMut::strided(&mut c, 2, 2, 0, 1);
}

/// Read-only views may repeat elements: a row stride of 0 broadcasts one row.
#[test]
fn input_views_may_repeat_elements() {
    let row = [1.0, 2.0];
    let a = MatRef::strided(&row, 3, 2, 0, 1);
    let b = [1.0, 1.0];
    let mut c = [0.0; 3];
    gemm(
        1.0,
        a,
        MatRef::row_major(&b, 2, 1),
        0.0,
        MatMut::row_major(&mut c, 3, 1),
    );
    assert_eq!(c, [3.0; 3]);
}
