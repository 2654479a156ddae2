//! The batched kernels for x86-64: AVX-512 VNNI and AVX2 over the packed weights, and the
//! requantisation compiled for each.

use core::arch::x86_64::*;

use super::{KG, NR};

/// [`super::requantise_body`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn requantise_avx2(
    acc: &[i32],
    stride: usize,
    arrays: &[i32],
    out: crate::int8::Output,
    output: &mut [i8],
) {
    super::requantise_body(acc, stride, arrays, out, output);
}

/// The bytes of one group of a block: 16 outputs × 4 inputs.
const GROUP: usize = KG * NR;

/// `acc[s · padded + o] = Σ_i w[o, i] · x[s, i]` for every sample `s < batch` and
/// padded output `o`, `w` packed (`groups` groups a block), `x` unsigned bytes
/// `[batch, 4 · groups]`.
///
/// # Safety
/// The CPU must support AVX-512F, BW and VNNI; `w.len() == padded / 16 · groups · 64`,
/// `x.len() == batch · 4 · groups`, `acc.len() == batch · padded`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn vnni(
    w: &[i8],
    groups: usize,
    x: &[u8],
    batch: usize,
    acc: &mut [i32],
    padded: usize,
) {
    let blocks = padded / NR;
    assert!(
        w.len() == blocks * groups * GROUP
            && x.len() == batch * groups * KG
            && acc.len() == batch * padded
    );
    let stride = groups * KG;
    let mut j = 0;
    while j < blocks {
        let two = blocks - j >= 2;
        let wp = w[j * groups * GROUP..].as_ptr();
        let mut s = 0;
        while s < batch {
            let n = (batch - s).min(8);
            let xp = x[s * stride..].as_ptr();
            let ap = acc[s * padded + j * NR..].as_mut_ptr();
            macro_rules! tile {
                ($b:literal) => {
                    // SAFETY: the tile reads `$b` blocks of `groups` groups from `wp`
                    // and `n` samples of `stride` bytes from `xp`, writes `n` rows of
                    // `16 · $b` sums at `ap`, all within the lengths asserted above
                    // (`j + $b <= blocks`, `s + n <= batch`); the CPU is the caller's.
                    unsafe {
                        match n {
                            1 => vnni_tile::<$b, 1>(wp, groups, xp, stride, ap, padded),
                            2 => vnni_tile::<$b, 2>(wp, groups, xp, stride, ap, padded),
                            3 => vnni_tile::<$b, 3>(wp, groups, xp, stride, ap, padded),
                            4 => vnni_tile::<$b, 4>(wp, groups, xp, stride, ap, padded),
                            5 => vnni_tile::<$b, 5>(wp, groups, xp, stride, ap, padded),
                            6 => vnni_tile::<$b, 6>(wp, groups, xp, stride, ap, padded),
                            7 => vnni_tile::<$b, 7>(wp, groups, xp, stride, ap, padded),
                            _ => vnni_tile::<$b, 8>(wp, groups, xp, stride, ap, padded),
                        }
                    }
                };
            }
            if two {
                tile!(2)
            } else {
                tile!(1)
            }
            s += n;
        }
        j += if two { 2 } else { 1 };
    }
}

/// `B` blocks × `S` samples of [`vnni`]: `S × B` vectors of sums in registers.
///
/// # Safety
/// [`vnni`]'s CPU; `w` has `B · groups · 64` bytes, `x` `S` rows of `stride >= 4 · groups`
/// bytes, `acc` `S` rows (`acc_stride` apart) of `16 · B` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn vnni_tile<const B: usize, const S: usize>(
    w: *const i8,
    groups: usize,
    x: *const u8,
    stride: usize,
    acc: *mut i32,
    acc_stride: usize,
) {
    let mut c = [[_mm512_setzero_si512(); B]; S];
    for g in 0..groups {
        let mut wv = [_mm512_setzero_si512(); B];
        for (b, v) in wv.iter_mut().enumerate() {
            // SAFETY: group `g` of block `b` is within `w`'s `B · groups · 64` bytes.
            *v = unsafe { _mm512_loadu_epi8(w.add((b * groups + g) * GROUP)) };
        }
        for (s, cs) in c.iter_mut().enumerate() {
            // SAFETY: inputs `4 g .. 4 g + 4` of sample `s`, within its row.
            let four = unsafe { (x.add(s * stride + g * KG) as *const i32).read_unaligned() };
            let xv = _mm512_set1_epi32(four);
            for (c, &wv) in cs.iter_mut().zip(&wv) {
                *c = _mm512_dpbusd_epi32(*c, xv, wv);
            }
        }
    }
    for (s, cs) in c.iter().enumerate() {
        for (b, &c) in cs.iter().enumerate() {
            // SAFETY: values `16 b .. 16 b + 16` of row `s`, within `acc`'s rows.
            unsafe { _mm512_storeu_epi32(acc.add(s * acc_stride + b * NR), c) };
        }
    }
}

/// [`vnni`] with AVX2 on `x` `[batch, 4 · groups]` in `i16`.
///
/// # Safety
/// The CPU must support AVX2; the lengths are [`vnni`]'s.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn avx2(
    w: &[i8],
    groups: usize,
    x: &[i16],
    batch: usize,
    acc: &mut [i32],
    padded: usize,
) {
    let blocks = padded / NR;
    assert!(
        w.len() == blocks * groups * GROUP
            && x.len() == batch * groups * KG
            && acc.len() == batch * padded
    );
    let stride = groups * KG;
    for j in 0..blocks {
        let wp = w[j * groups * GROUP..].as_ptr();
        let mut s = 0;
        while s < batch {
            let xp = x[s * stride..].as_ptr();
            let ap = acc[s * padded + j * NR..].as_mut_ptr();
            // SAFETY: the tile reads block `j` (`groups` groups) from `wp`, one or two
            // samples of `stride` values from `xp`, writes as many rows of 16 sums at
            // `ap`, within the lengths asserted above; the CPU is the caller's.
            unsafe {
                if batch - s >= 2 {
                    avx2_tile::<2>(wp, groups, xp, stride, ap, padded);
                } else {
                    avx2_tile::<1>(wp, groups, xp, stride, ap, padded);
                }
            }
            s += 2;
        }
    }
}

/// One block × `S` samples of [`avx2`]: 16 outputs as four vectors of four outputs × two
/// partial sums (`vpmaddwd` pairs inputs `4g, 4g + 1` and `4g + 2, 4g + 3`), added at
/// the end.
///
/// # Safety
/// [`avx2`]'s CPU; `w` has `groups · 64` bytes, `x` `S` rows of `stride >= 4 · groups`
/// values, `acc` `S` rows (`acc_stride` apart) of 16 values.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn avx2_tile<const S: usize>(
    w: *const i8,
    groups: usize,
    x: *const i16,
    stride: usize,
    acc: *mut i32,
    acc_stride: usize,
) {
    let mut c = [[_mm256_setzero_si256(); 4]; S];
    for g in 0..groups {
        let mut wv = [_mm256_setzero_si256(); 4];
        for (q, v) in wv.iter_mut().enumerate() {
            // SAFETY: bytes `16 q .. 16 q + 16` of group `g`, within `w`.
            let bytes = unsafe { _mm_loadu_si128(w.add(g * GROUP + 16 * q) as *const __m128i) };
            *v = _mm256_cvtepi8_epi16(bytes);
        }
        for (s, cs) in c.iter_mut().enumerate() {
            // SAFETY: inputs `4 g .. 4 g + 4` of sample `s`, within its row.
            let four = unsafe { (x.add(s * stride + g * KG) as *const i64).read_unaligned() };
            let xv = _mm256_set1_epi64x(four);
            for (c, &wv) in cs.iter_mut().zip(&wv) {
                *c = _mm256_add_epi32(*c, _mm256_madd_epi16(wv, xv));
            }
        }
    }
    for (s, cs) in c.iter().enumerate() {
        for (q, &c) in cs.iter().enumerate() {
            let mut lanes = [0i32; 8];
            // SAFETY: `lanes` has room for the 32 bytes stored.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, c) };
            for k in 0..4 {
                // SAFETY: value `4 q + k` of row `s`, within `acc`'s rows of 16.
                unsafe {
                    *acc.add(s * acc_stride + 4 * q + k) =
                        lanes[2 * k].wrapping_add(lanes[2 * k + 1])
                };
            }
        }
    }
}
