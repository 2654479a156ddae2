//! The x86-64 microkernels: 8 × 32 tiles in AVX-512F registers, 6 × 16 in AVX2.

use core::arch::x86_64::*;

use super::{pack_scalar, write_scalar, Microkernel, Tile};

/// 8 rows × 32 columns (two 512-bit vectors): 16 accumulators of the 32 registers, so that
/// two fused multiply-add pipes with four cycles of latency stay busy.
pub(super) struct Avx512;

impl Microkernel for Avx512 {
    const MR: usize = 8;
    const NR: usize = 32;

    unsafe fn tile(t: &Tile) {
        // SAFETY: forwarded from this function's contract (the CPU has AVX-512F).
        unsafe { avx512::<8, 2>(t) }
    }

    unsafe fn pack(out: *mut f32, b: *const f32, kc: usize, nr: usize, rsb: isize, csb: isize) {
        // SAFETY: forwarded from this function's contract (the CPU has AVX, which AVX-512F
        // implies).
        unsafe { pack::<{ Self::NR }>(out, b, kc, nr, rsb, csb) }
    }
}

/// 8 rows × 16 columns (one 512-bit vector): for products whose vector side is narrow
/// (a convolution's 16 channels or 19 taps), where [`Avx512`]'s tiles would be half empty.
pub(super) struct Avx512Narrow;

impl Microkernel for Avx512Narrow {
    const MR: usize = 8;
    const NR: usize = 16;
    // Nine loads for eight multiply-adds: short of the wide tile's rate.
    const SPEED: f64 = 0.85;

    unsafe fn tile(t: &Tile) {
        // SAFETY: forwarded from this function's contract (the CPU has AVX-512F).
        unsafe { avx512::<8, 1>(t) }
    }

    unsafe fn pack(out: *mut f32, b: *const f32, kc: usize, nr: usize, rsb: isize, csb: isize) {
        // SAFETY: forwarded from this function's contract (the CPU has AVX, which AVX-512F
        // and AVX2 imply).
        unsafe { pack::<{ Self::NR }>(out, b, kc, nr, rsb, csb) }
    }
}

/// 6 rows × 16 columns (two 256-bit vectors): 12 accumulators of the 16 registers.
pub(super) struct Avx2;

impl Microkernel for Avx2 {
    const MR: usize = 6;
    const NR: usize = 16;

    unsafe fn tile(t: &Tile) {
        // SAFETY: forwarded from this function's contract (the CPU has AVX2 and FMA).
        unsafe { avx2(t) }
    }

    unsafe fn pack(out: *mut f32, b: *const f32, kc: usize, nr: usize, rsb: isize, csb: isize) {
        // SAFETY: forwarded from this function's contract (the CPU has AVX, which AVX-512F
        // and AVX2 imply).
        unsafe { pack::<{ Self::NR }>(out, b, kc, nr, rsb, csb) }
    }
}

/// [`Avx512`]'s and [`Avx512Narrow`]'s tile: `MR` rows of `NV` vectors.
///
/// # Safety
/// As [`Microkernel::tile`], on a CPU with AVX-512F, for a kernel of `MR` rows and
/// `16 · NV ≤ 32` columns.
#[target_feature(enable = "avx512f")]
unsafe fn avx512<const MR: usize, const NV: usize>(t: &Tile) {
    let nr = 16 * NV;
    // Rows past `mr` re-read the last real row: their sums are computed and dropped.
    let rows: [*const f32; MR] =
        core::array::from_fn(|i| t.a.wrapping_offset(i.min(t.mr - 1) as isize * t.a_rs));
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    let mut b = t.b;
    let mut off = 0isize;
    for _ in 0..t.k {
        // SAFETY: row `p` of the vector operand holds `16 · NV` valid elements from `b`, and
        // `rows[i] + p·a_cs` is element `(i, p)` of A (or of its last real row).
        unsafe {
            let bv: [__m512; NV] = core::array::from_fn(|h| _mm512_loadu_ps(b.add(16 * h)));
            for (row, acc) in rows.iter().zip(&mut acc) {
                let a = _mm512_set1_ps(*row.offset(off));
                for (acc, bv) in acc.iter_mut().zip(&bv) {
                    *acc = _mm512_fmadd_ps(a, *bv, *acc);
                }
            }
            b = b.offset(t.b_rs);
        }
        off += t.a_cs;
    }
    if t.csc == 1 && t.nr == nr {
        let alpha = _mm512_set1_ps(t.alpha);
        let beta = _mm512_set1_ps(t.beta);
        for (i, acc) in acc.iter().enumerate().take(t.mr) {
            for (h, acc) in acc.iter().enumerate() {
                // SAFETY: row `i < mr` of C's tile has `nr` contiguous elements (`csc` is 1
                // and the tile is whole).
                unsafe {
                    let c = t.c.offset(i as isize * t.rsc).add(16 * h);
                    let mut s = _mm512_mul_ps(alpha, *acc);
                    if t.beta != 0.0 {
                        s = _mm512_add_ps(s, _mm512_mul_ps(beta, _mm512_loadu_ps(c)));
                    }
                    _mm512_storeu_ps(c, s);
                }
            }
        }
    } else {
        let mut sums = [0.0f32; 8 * 32];
        for (out, acc) in sums.chunks_exact_mut(nr).zip(&acc) {
            for (h, acc) in acc.iter().enumerate() {
                // SAFETY: `out` holds `nr = 16 · NV` floats.
                unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(16 * h), *acc) };
            }
        }
        // SAFETY: the tile's `mr × nr` elements of C are valid (this function's contract).
        unsafe { write_scalar(t, &sums, nr) }
    }
}

/// [`Avx2`]'s tile.
///
/// # Safety
/// As [`Microkernel::tile`], on a CPU with AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(t: &Tile) {
    const MR: usize = 6;
    const NR: usize = 16;
    let rows: [*const f32; MR] =
        core::array::from_fn(|i| t.a.wrapping_offset(i.min(t.mr - 1) as isize * t.a_rs));
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    let mut b = t.b;
    let mut off = 0isize;
    for _ in 0..t.k {
        // SAFETY: as in `avx512`.
        unsafe {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (row, acc) in rows.iter().zip(&mut acc) {
                let a = _mm256_set1_ps(*row.offset(off));
                acc[0] = _mm256_fmadd_ps(a, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(a, b1, acc[1]);
            }
            b = b.offset(t.b_rs);
        }
        off += t.a_cs;
    }
    if t.csc == 1 && t.nr == NR {
        let alpha = _mm256_set1_ps(t.alpha);
        let beta = _mm256_set1_ps(t.beta);
        for (i, acc) in acc.iter().enumerate().take(t.mr) {
            for (h, acc) in acc.iter().enumerate() {
                // SAFETY: as in `avx512`.
                unsafe {
                    let c = t.c.offset(i as isize * t.rsc).add(8 * h);
                    let mut s = _mm256_mul_ps(alpha, *acc);
                    if t.beta != 0.0 {
                        s = _mm256_add_ps(s, _mm256_mul_ps(beta, _mm256_loadu_ps(c)));
                    }
                    _mm256_storeu_ps(c, s);
                }
            }
        }
    } else {
        let mut sums = [0.0f32; MR * NR];
        for (out, acc) in sums.chunks_exact_mut(NR).zip(&acc) {
            // SAFETY: `out` holds `NR` = 16 floats, two vectors.
            unsafe {
                _mm256_storeu_ps(out.as_mut_ptr(), acc[0]);
                _mm256_storeu_ps(out.as_mut_ptr().add(8), acc[1]);
            }
        }
        // SAFETY: as in `avx512`.
        unsafe { write_scalar(t, &sums, NR) }
    }
}

/// Packs a panel of B as [`Microkernel::pack`] does, taking the columns of a transposed
/// row-major matrix (`rsb` 1: each column contiguous) eight by eight through 8 × 8
/// transposes in registers; other layouts go through [`pack_scalar`].
///
/// # Safety
/// As [`Microkernel::pack`] for a kernel of `NR` columns, on a CPU with AVX.
#[target_feature(enable = "avx")]
unsafe fn pack<const NR: usize>(
    out: *mut f32,
    b: *const f32,
    kc: usize,
    nr: usize,
    rsb: isize,
    csb: isize,
) {
    struct Tiles<const NR: usize>;
    impl<const NR: usize> Microkernel for Tiles<NR> {
        const MR: usize = 1;
        const NR: usize = NR;
        unsafe fn tile(_: &Tile) {
            unreachable!("only packs")
        }
    }
    if rsb != 1 || nr < 8 {
        // SAFETY: forwarded.
        return unsafe { pack_scalar::<Tiles<NR>>(out, b, kc, nr, rsb, csb) };
    }
    if nr < NR {
        // SAFETY: `out` takes `kc · NR` floats; all-zero bits are 0.0.
        unsafe { core::ptr::write_bytes(out, 0, kc * NR) };
    }
    let (kc8, nr8) = (kc - kc % 8, nr - nr % 8);
    for j in (0..nr8).step_by(8) {
        // SAFETY: columns `j..j + 8` of the panel are in B, each `kc` long from its start.
        let cols: [*const f32; 8] =
            core::array::from_fn(|q| unsafe { b.offset((j + q) as isize * csb) });
        for p in (0..kc8).step_by(8) {
            // SAFETY: elements `p..p + 8` of each column are in B; rows `p..p + 8` of the
            // panel, columns `j..j + 8`, are in `out` (`j + 8 ≤ nr ≤ NR`, `p + 8 ≤ kc`).
            unsafe {
                let r: [__m256; 8] = core::array::from_fn(|q| _mm256_loadu_ps(cols[q].add(p)));
                for (q, v) in transpose8(r).into_iter().enumerate() {
                    _mm256_storeu_ps(out.add((p + q) * NR + j), v);
                }
            }
        }
        for p in kc8..kc {
            for (q, col) in cols.iter().enumerate() {
                // SAFETY: element `p < kc` of the column is in B; `(p, j + q)` in `out`.
                unsafe { out.add(p * NR + j + q).write(*col.add(p)) };
            }
        }
    }
    for j in nr8..nr {
        for p in 0..kc {
            // SAFETY: element `(p, j)` is in B; `(p, j)` in `out`.
            unsafe {
                out.add(p * NR + j)
                    .write(*b.offset(j as isize * csb + p as isize))
            };
        }
    }
}

/// The transpose of an 8 × 8 block held as eight rows.
#[target_feature(enable = "avx")]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}
