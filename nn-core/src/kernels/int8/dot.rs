//! The inner product every int8 `Linear` and `Conv2d` runs: rows of int8 weights against one
//! int8 vector with its zero point, `acc[r] += Σ_i w[r · stride + i] · (x[i] − zp)`, summed
//! exactly in `i32` (the same integer in any order, so every kernel here gives TFLite Micro's
//! bits). Portable loop; on x86-64 with `std`, an AVX-512 VNNI or AVX2 kernel chosen once at
//! run time; on Cortex-M, the kernels of `dot_arm`.

/// `acc[r] += Σ_i w[r · stride + i] · (x[i] − zp)` for `r < acc.len()`, `i < x.len()`.
/// `sums`, if given, holds each row's `Σ_i w[r · stride + i]` (then not computed).
#[inline]
pub(crate) fn dot_rows(
    w: &[i8],
    stride: usize,
    x: &[i8],
    zp: i32,
    acc: &mut [i32],
    sums: Option<&[i32]>,
) {
    if acc.is_empty() {
        return;
    }
    assert!(x.len() <= stride && w.len() >= (acc.len() - 1) * stride + x.len());
    assert!(sums.is_none_or(|s| s.len() == acc.len()));
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        match simd() {
            // SAFETY: the CPU supports AVX-512F, BW and VNNI (checked by `simd`), and the
            // lengths are the ones asserted above, which is all the kernel reads.
            Simd::Vnni => return unsafe { x86::dot_rows_vnni(w, stride, x, zp, acc, sums) },
            // SAFETY: the CPU supports AVX2 (checked by `simd`), and the lengths are the
            // ones asserted above, which is all the kernel reads.
            Simd::Avx2 => return unsafe { x86::dot_rows_avx2(w, stride, x, zp, acc) },
            Simd::None => {}
        }
    }
    #[cfg(any(nn_arm_thumb, nn_arm_dsp))]
    return super::dot_arm::dot_rows(w, stride, x, zp, acc);
    #[cfg(not(any(nn_arm_thumb, nn_arm_dsp)))]
    dot_rows_portable(w, stride, x, zp, acc)
}

/// The portable loop of [`dot_rows`].
#[inline]
#[cfg_attr(any(nn_arm_thumb, nn_arm_dsp), allow(dead_code))]
pub(crate) fn dot_rows_portable(w: &[i8], stride: usize, x: &[i8], zp: i32, acc: &mut [i32]) {
    for (r, a) in acc.iter_mut().enumerate() {
        let row = &w[r * stride..][..x.len()];
        // Σ w·(x − zp) as Σ w·x − zp·Σ w: the same integer, in a loop that vectorises.
        let (mut dot, mut sum) = (0i32, 0i32);
        for (&w, &x) in row.iter().zip(x) {
            dot = dot.wrapping_add(w as i32 * x as i32);
            sum = sum.wrapping_add(w as i32);
        }
        *a = a.wrapping_add(dot.wrapping_sub(zp.wrapping_mul(sum)));
    }
}

/// The x86-64 kernels.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Simd {
    /// AVX-512 with VNNI (`vpdpbusd`).
    Vnni,
    /// AVX2 (`vpmaddwd`).
    Avx2,
    /// Neither: the portable loop.
    None,
}

/// The kernel this CPU runs (found once), kept to the products' choice, as the batched
/// kernels' (`batched::isa`).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn simd() -> Simd {
    match super::batched::isa() {
        super::batched::Isa::Vnni => Simd::Vnni,
        super::batched::Isa::Avx2 => Simd::Avx2,
        super::batched::Isa::Portable => Simd::None,
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub(crate) mod x86 {
    use core::arch::x86_64::*;

    /// [`super::dot_rows`] with AVX2: 16 inputs at a time, sign-extended to `i16`, the zero
    /// point subtracted (`x − zp` fits `i16`), four rows per pass sharing the input, products
    /// paired into `i32` by `vpmaddwd` (each pair at most 2 · 128 · 255, exact).
    ///
    /// # Safety
    /// The CPU must support AVX2; `x.len() <= stride` and
    /// `w.len() >= (acc.len() − 1) · stride + x.len()`.
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn dot_rows_avx2(
        w: &[i8],
        stride: usize,
        x: &[i8],
        zp: i32,
        acc: &mut [i32],
    ) {
        let n = x.len();
        let full = n / 16 * 16;
        let zpv = _mm256_set1_epi16(zp as i16);
        let wp = w.as_ptr();
        let xp = x.as_ptr();
        let load = |p: *const i8| {
            // SAFETY: callers pass pointers with 16 readable bytes (offsets below `full`
            // within the asserted lengths).
            unsafe { _mm256_cvtepi8_epi16(_mm_loadu_si128(p as *const __m128i)) }
        };
        let tail = |r: usize| -> i32 {
            let mut s = 0i32;
            for i in full..n {
                s = s.wrapping_add(w[r * stride + i] as i32 * (x[i] as i32 - zp));
            }
            s
        };
        let rows = acc.len();
        let mut r = 0;
        while r + 4 <= rows {
            let (mut a0, mut a1, mut a2, mut a3) = (
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
            );
            let mut i = 0;
            while i < full {
                let xv = _mm256_sub_epi16(load(xp.wrapping_add(i)), zpv);
                let row = |k: usize| load(wp.wrapping_add((r + k) * stride + i));
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(row(0), xv));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(row(1), xv));
                a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(row(2), xv));
                a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(row(3), xv));
                i += 16;
            }
            let s = hsum4(a0, a1, a2, a3);
            for k in 0..4 {
                acc[r + k] = acc[r + k].wrapping_add(s[k]).wrapping_add(tail(r + k));
            }
            r += 4;
        }
        while r < rows {
            let mut a = _mm256_setzero_si256();
            let mut i = 0;
            while i < full {
                let xv = _mm256_sub_epi16(load(xp.wrapping_add(i)), zpv);
                let wv = load(wp.wrapping_add(r * stride + i));
                a = _mm256_add_epi32(a, _mm256_madd_epi16(wv, xv));
                i += 16;
            }
            let z = _mm256_setzero_si256();
            acc[r] = acc[r]
                .wrapping_add(hsum4(a, z, z, z)[0])
                .wrapping_add(tail(r));
            r += 1;
        }
    }

    /// [`super::dot_rows`] with AVX-512 VNNI: 64 inputs at a time (the last ones by a masked
    /// load, the weights beyond the row read as 0), four rows per pass sharing the input.
    /// `vpdpbusd` multiplies unsigned by signed bytes, so the input is offset to `x + 128`
    /// (its sign bit flipped) and the offset taken back with the row's sum:
    /// `Σ w·(x − zp) = Σ w·(x + 128) − (128 + zp)·Σ w`. Each `vpdpbusd` adds four products
    /// of at most 255 · 128 to an `i32` without saturating: exact.
    ///
    /// Row sums given in `sums` are used as they are, not computed.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and AVX-512 VNNI; `x.len() <= stride`,
    /// `w.len() >= (acc.len() − 1) · stride + x.len()`, and `sums`, if given, of `acc.len()`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(crate) unsafe fn dot_rows_vnni(
        w: &[i8],
        stride: usize,
        x: &[i8],
        zp: i32,
        acc: &mut [i32],
        sums: Option<&[i32]>,
    ) {
        let n = x.len();
        let flip = _mm512_set1_epi8(i8::MIN);
        let ones = _mm512_set1_epi8(1);
        let wp = w.as_ptr();
        let xp = x.as_ptr();
        let mask = |i: usize| -> u64 {
            if n - i >= 64 {
                u64::MAX
            } else {
                (1u64 << (n - i)) - 1
            }
        };
        let load = |m: u64, p: *const i8| {
            // SAFETY: the bytes the mask selects are within the asserted lengths (a row's
            // inputs `i..n`); masked-out bytes are not read.
            unsafe { _mm512_maskz_loadu_epi8(m, p) }
        };
        let offset = 128 + zp;
        let offv = _mm512_set1_epi32(offset);
        let rows = acc.len();
        let mut r = 0;
        while r + 4 <= rows {
            let mut d = [_mm512_setzero_si512(); 4];
            let mut s = [_mm512_setzero_si512(); 4];
            let mut i = 0;
            while i < n {
                let m = mask(i);
                let xv = _mm512_xor_si512(load(m, xp.wrapping_add(i)), flip);
                for k in 0..4 {
                    let wv = load(m, wp.wrapping_add((r + k) * stride + i));
                    d[k] = _mm512_dpbusd_epi32(d[k], xv, wv);
                    if sums.is_none() {
                        s[k] = _mm512_dpbusd_epi32(s[k], ones, wv);
                    }
                }
                i += 64;
            }
            for k in 0..4 {
                let dot = match sums {
                    Some(sums) => {
                        _mm512_reduce_add_epi32(d[k]).wrapping_sub(offset.wrapping_mul(sums[r + k]))
                    }
                    // The offset taken back lane by lane (wrapping, as the sums): one
                    // reduction.
                    None => _mm512_reduce_add_epi32(_mm512_sub_epi32(
                        d[k],
                        _mm512_mullo_epi32(s[k], offv),
                    )),
                };
                acc[r + k] = acc[r + k].wrapping_add(dot);
            }
            r += 4;
        }
        while r < rows {
            let (mut d, mut s) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            let mut i = 0;
            while i < n {
                let m = mask(i);
                let xv = _mm512_xor_si512(load(m, xp.wrapping_add(i)), flip);
                let wv = load(m, wp.wrapping_add(r * stride + i));
                d = _mm512_dpbusd_epi32(d, xv, wv);
                s = _mm512_dpbusd_epi32(s, ones, wv);
                i += 64;
            }
            let sum = sums.map_or_else(|| _mm512_reduce_add_epi32(s), |sums| sums[r]);
            let dot = _mm512_reduce_add_epi32(d).wrapping_sub(offset.wrapping_mul(sum));
            acc[r] = acc[r].wrapping_add(dot);
            r += 1;
        }
    }

    /// The sums of the eight `i32` lanes of each of four vectors.
    #[target_feature(enable = "avx2")]
    fn hsum4(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> [i32; 4] {
        let ab = _mm256_hadd_epi32(a, b);
        let cd = _mm256_hadd_epi32(c, d);
        let abcd = _mm256_hadd_epi32(ab, cd);
        let v = _mm_add_epi32(
            _mm256_castsi256_si128(abcd),
            _mm256_extracti128_si256::<1>(abcd),
        );
        let mut out = [0i32; 4];
        // SAFETY: `out` has room for the 16 bytes stored.
        unsafe { _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, v) };
        out
    }
}

// The tests compare the SIMD kernels the CPU has, found through `std`.
#[cfg(all(test, feature = "std"))]
pub(super) mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A reproducible int8 pattern covering the whole range (the batched kernel's tests use
    /// it too).
    pub(in crate::kernels::int8) fn pattern(n: usize, seed: u32) -> Vec<i8> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                s as u8 as i8
            })
            .collect()
    }

    #[test]
    fn dispatched_kernel_equals_portable_on_every_remainder() {
        for n_in in 1..=70 {
            let stride = n_in + n_in % 3;
            for rows in 1..=70 {
                let x = pattern(n_in, (n_in * 71 + rows) as u32);
                let mut w = pattern(rows * stride, (rows * 13 + n_in) as u32);
                // The extremes, where a narrower sum would overflow.
                w[0] = -128;
                let x = {
                    let mut x = x;
                    x[0] = 127;
                    x
                };
                for zp in [-128, -3, 0, 127] {
                    let start: Vec<i32> = (0..rows as i32).map(|r| r * 1000 - 7).collect();
                    let (mut want, mut got) = (start.clone(), start);
                    dot_rows_portable(&w, stride, &x, zp, &mut want);
                    dot_rows(&w, stride, &x, zp, &mut got, None);
                    let sums: Vec<i32> = (0..rows)
                        .map(|r| w[r * stride..][..n_in].iter().map(|&w| w as i32).sum())
                        .collect();
                    let mut given = (0..rows as i32).map(|r| r * 1000 - 7).collect::<Vec<_>>();
                    dot_rows(&w, stride, &x, zp, &mut given, Some(&sums));
                    assert_eq!(
                        given, want,
                        "row sums given: {rows} rows of {n_in}, zp {zp}"
                    );
                    assert_eq!(
                        got, want,
                        "{rows} rows of {n_in} (stride {stride}), zp {zp}"
                    );
                    #[cfg(all(feature = "std", target_arch = "x86_64"))]
                    if std::is_x86_feature_detected!("avx2") {
                        let mut avx2: Vec<i32> = (0..rows as i32).map(|r| r * 1000 - 7).collect();
                        // SAFETY: AVX2 was just detected; the lengths are `dot_rows`'s.
                        unsafe { x86::dot_rows_avx2(&w, stride, &x, zp, &mut avx2) };
                        assert_eq!(avx2, want, "AVX2: {rows} rows of {n_in}, zp {zp}");
                    }
                    #[cfg(all(feature = "std", target_arch = "x86_64"))]
                    if simd() == Simd::Vnni {
                        let mut vnni: Vec<i32> = (0..rows as i32).map(|r| r * 1000 - 7).collect();
                        // SAFETY: AVX-512 VNNI was just detected; the lengths are `dot_rows`'s.
                        unsafe { x86::dot_rows_vnni(&w, stride, &x, zp, &mut vnni, None) };
                        assert_eq!(vnni, want, "VNNI: {rows} rows of {n_in}, zp {zp}");
                    }
                }
            }
        }
    }
}
