//! The int8 inner product on Arm microcontrollers, [`super::dot::dot_rows`] for them, in
//! `core::arch::asm!`: a row's weights are read a word (four values) at a time and dotted
//! with the inputs' offsets `x − zp`, prepared once per piece of the input on the stack (the
//! same integers as the portable loop, summed exactly in `i32`: the same bits).
//!
//! - Cortex-M0/M0+/M3/M23/M33 (`nn_arm_thumb`, Armv6-M's Thumb instructions only): each
//!   offset an `i32`, loaded two at a time by `LDM`; each weight sign-extended out of its word
//!   by shifts, one `MULS` and one `ADD` per multiply-add: 36 instructions per 8.
//! - Cortex-M4/M7 (`nn_arm_dsp`, the DSP extension): the offsets packed as `i16` pairs, the
//!   even and odd inputs of each four apart; `SXTB16` splits a weight word into the same
//!   pairs and `SMLAD` adds two products at once; two rows share each load of the inputs:
//!   24 instructions per 16 multiply-adds.
//!
//! `build.rs` picks one by the target's name (stable Rust does not give `cfg` the `dsp`
//! feature).

/// Inputs whose offsets are prepared at a time, on the stack (512 bytes of them).
#[cfg(nn_arm_thumb)]
const CHUNK: usize = 128;
#[cfg(nn_arm_dsp)]
const CHUNK: usize = 256;

/// `acc[r] += Σ_i w[r · stride + i] · (x[i] − zp)`; the lengths are [`super::dot::dot_rows`]'s,
/// checked there.
#[inline]
pub(crate) fn dot_rows(w: &[i8], stride: usize, x: &[i8], zp: i32, acc: &mut [i32]) {
    // A buffer no larger than needed: it is cleared on each call (a convolution calls this
    // once per output position, on a patch of a few values).
    if x.len() <= 16 {
        return imp::rows::<16, 8>(w, stride, x, zp, acc);
    }
    if x.len() <= 64 {
        return imp::rows::<64, 32>(w, stride, x, zp, acc);
    }
    let mut k0 = 0;
    while k0 < x.len() {
        let len = CHUNK.min(x.len() - k0);
        let x = &x[k0..k0 + len];
        imp::rows::<CHUNK, { CHUNK / 2 }>(&w[k0..], stride, x, zp, acc);
        k0 += len;
    }
}

/// The bytes `b0 b1 b2 b3` of `word` as the `i16` pairs `(b0, b2) − zp` and `(b1, b3) − zp`
/// (`zp` a pair too): `SXTB16` and `SSUB16` (exact: each half within `i16`).
#[cfg(nn_arm_dsp)]
#[inline(always)]
pub(crate) fn split_pairs(word: u32, zp: u32) -> [u32; 2] {
    let (even, odd): (u32, u32);
    // SAFETY: registers only.
    unsafe {
        core::arch::asm!(
            "sxtb16 {o}, {w}, ror #8",
            "sxtb16 {e}, {w}",
            "ssub16 {o}, {o}, {zp}",
            "ssub16 {e}, {e}, {zp}",
            w = in(reg) word,
            zp = in(reg) zp,
            e = out(reg) even,
            o = out(reg) odd,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    [even, odd]
}

/// The high word of `(high · 2^32 + low) + a · b` (signed 64-bit): one `SMLAL`.
#[cfg(nn_arm_dsp)]
#[inline(always)]
pub(crate) fn smlal_high(low: u32, high: i32, a: i32, b: i32) -> i32 {
    let out: i32;
    // SAFETY: registers only.
    unsafe {
        core::arch::asm!(
            "smlal {lo}, {hi}, {a}, {b}",
            lo = inout(reg) low => _,
            hi = inout(reg) high => out,
            a = in(reg) a,
            b = in(reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    out
}

/// `Σ x[i]`, exact in `i32` (up to 2^24 values): four at a time by `USADA8`, each byte
/// flipped to `x + 128` and the `128 · 4` taken off after.
#[cfg(nn_arm_dsp)]
#[inline]
pub(crate) fn sum_i8(x: &[i8]) -> i32 {
    let words = x.len() / 4;
    let mut sum = 0u32;
    let mut p = x.as_ptr();
    for _ in 0..words {
        // SAFETY: the next four values, within `x` (read unaligned, as a Cortex-M4 may).
        let word = unsafe { (p as *const u32).read_unaligned() } ^ 0x8080_8080;
        // SAFETY: registers only.
        unsafe {
            core::arch::asm!(
                "usada8 {s}, {w}, {zero}, {s}",
                s = inout(reg) sum,
                w = in(reg) word,
                zero = in(reg) 0u32,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        p = p.wrapping_add(4);
    }
    let mut sum = (sum as i32).wrapping_sub(512 * words as i32);
    for &v in &x[4 * words..] {
        sum += v as i32;
    }
    sum
}

/// A 3 × 3 window's row at two neighbouring outputs: the row's bytes `x0 x1 x2 x3` in
/// `word` (little-endian), its weights' outer pair `(w0, w2)` in `outer` and `w1` in the
/// low half of `middle`: `acc[0] + w0·x0 + w1·x1 + w2·x2` and `acc[1] + w0·x1 + w1·x2 + w2·x3`.
/// `SXTB16` splits the word into `(x0, x2)` and `(x1, x3)`, each an outer pair of one of
/// the two outputs and the other's middle value.
#[cfg(nn_arm_dsp)]
#[inline(always)]
pub(crate) fn window3(word: u32, outer: u32, middle: i32, acc: [i32; 2]) -> [i32; 2] {
    let [mut a0, mut a1] = acc;
    // SAFETY: registers only.
    unsafe {
        core::arch::asm!(
            "sxtb16 {o}, {w}, ror #8",
            "sxtb16 {w}, {w}",
            "smlad {a0}, {w}, {outer}, {a0}",
            "smlabb {a0}, {o}, {middle}, {a0}",
            "smlad {a1}, {o}, {outer}, {a1}",
            "smlatb {a1}, {w}, {middle}, {a1}",
            w = inout(reg) word => _,
            o = out(reg) _,
            outer = in(reg) outer,
            middle = in(reg) middle,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    [a0, a1]
}

/// Armv6-M's Thumb instructions: Cortex-M0 and every Cortex-M.
#[cfg(nn_arm_thumb)]
mod imp {
    /// Up to `N` inputs against every row (`H` is unused here).
    #[inline(always)]
    pub(super) fn rows<const N: usize, const H: usize>(
        w: &[i8],
        stride: usize,
        x: &[i8],
        zp: i32,
        acc: &mut [i32],
    ) {
        let mut offsets = [0i32; N];
        let xs = &mut offsets[..x.len()];
        for (o, &v) in xs.iter_mut().zip(x) {
            *o = v as i32 - zp;
        }
        for (r, a) in acc.iter_mut().enumerate() {
            *a = a.wrapping_add(dot(&w[r * stride..][..xs.len()], xs));
        }
    }

    /// `Σ row[i] · xs[i]`, `row.len() == xs.len()`.
    #[inline(always)]
    fn dot(row: &[i8], xs: &[i32]) -> i32 {
        let n = row.len();
        // Weights up to the row's first word boundary, one at a time (a word load must be
        // aligned on a Cortex-M0).
        let head = ((row.as_ptr() as usize).wrapping_neg() & 3).min(n);
        let body = (n - head) / 8 * 8;
        let mut sum = 0i32;
        for i in 0..head {
            sum = sum.wrapping_add(row[i] as i32 * xs[i]);
        }
        if body > 0 {
            let w = row[head..].as_ptr();
            let x = xs[head..].as_ptr();
            let end = w.wrapping_add(body);
            // SAFETY: reads `body` weights from `w` (word-aligned, within `row`) and `body`
            // offsets from `x` (within `xs`), a multiple of 8 of each; writes only the
            // registers named; leaves the stack alone.
            unsafe {
                core::arch::asm!(
                    // The sum and the end in high registers (Thumb-1 operands are low).
                    "mov r8, r2",
                    "mov r10, r3",
                    "2:",
                    "ldm r0!, {{r4}}",
                    "ldm r1!, {{r2, r3}}",
                    "sxtb r5, r4",
                    "muls r5, r2, r5",
                    "add r8, r5",
                    "lsls r5, r4, #16",
                    "asrs r5, r5, #24",
                    "muls r5, r3, r5",
                    "add r8, r5",
                    "ldm r1!, {{r2, r3}}",
                    "lsls r5, r4, #8",
                    "asrs r5, r5, #24",
                    "muls r5, r2, r5",
                    "add r8, r5",
                    "asrs r5, r4, #24",
                    "muls r5, r3, r5",
                    "add r8, r5",
                    "ldm r0!, {{r4}}",
                    "ldm r1!, {{r2, r3}}",
                    "sxtb r5, r4",
                    "muls r5, r2, r5",
                    "add r8, r5",
                    "lsls r5, r4, #16",
                    "asrs r5, r5, #24",
                    "muls r5, r3, r5",
                    "add r8, r5",
                    "ldm r1!, {{r2, r3}}",
                    "lsls r5, r4, #8",
                    "asrs r5, r5, #24",
                    "muls r5, r2, r5",
                    "add r8, r5",
                    "asrs r5, r4, #24",
                    "muls r5, r3, r5",
                    "add r8, r5",
                    "cmp r0, r10",
                    "bne 2b",
                    "mov r2, r8",
                    inout("r0") w => _,
                    inout("r1") x => _,
                    inout("r2") sum,
                    inout("r3") end => _,
                    out("r4") _,
                    out("r5") _,
                    out("r8") _,
                    out("r10") _,
                    options(readonly, nostack),
                );
            }
        }
        for i in head + body..n {
            sum = sum.wrapping_add(row[i] as i32 * xs[i]);
        }
        sum
    }
}

#[cfg(nn_arm_dsp)]
pub(crate) use imp::{one, two};

/// Each four values `x0 x1 x2 x3` of `x` as the two words of `i16` pairs `(x0, x2)` and
/// `(x1, x3)` in `pairs`: eight values at a time, `pairs.len()` a multiple of 4 and `x` of
/// `2 · pairs.len()` values.
#[cfg(nn_arm_dsp)]
#[inline(always)]
pub(crate) fn pack(pairs: &mut [core::mem::MaybeUninit<u32>], x: &[i8]) {
    assert!(pairs.len().is_multiple_of(4) && x.len() == 2 * pairs.len());
    if pairs.is_empty() {
        return;
    }
    let end = pairs.as_ptr().wrapping_add(pairs.len());
    // SAFETY: reads the `2 · pairs.len()` values of `x` (a Cortex-M4 reads unaligned words)
    // and writes the `pairs.len()` words of `pairs` (aligned), a multiple of 4 and not none;
    // writes only the registers named besides.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {v}, [{x}], #4",
            "ldr {u}, [{x}], #4",
            "sxtb16 {o}, {v}, ror #8",
            "sxtb16 {v}, {v}",
            "strd {v}, {o}, [{p}], #8",
            "sxtb16 {o}, {u}, ror #8",
            "sxtb16 {u}, {u}",
            "strd {u}, {o}, [{p}], #8",
            "cmp {p}, {end}",
            "bne 2b",
            x = inout(reg) x.as_ptr() => _,
            p = inout(reg) pairs.as_mut_ptr() => _,
            end = in(reg) end,
            v = out(reg) _,
            u = out(reg) _,
            o = out(reg) _,
            options(nostack),
        );
    }
}

/// The DSP extension: Cortex-M4 and M7.
#[cfg(nn_arm_dsp)]
mod imp {
    /// Up to `N` inputs against every row, two rows at a time; `H` is `N / 2`.
    #[inline(always)]
    pub(super) fn rows<const N: usize, const H: usize>(
        w: &[i8],
        stride: usize,
        x: &[i8],
        zp: i32,
        acc: &mut [i32],
    ) {
        // Each four inputs `x0 x1 x2 x3` as two words of `i16` pairs: (x0, x2) and (x1, x3),
        // offsets by the zero point (within `i16`: exact).
        debug_assert!(2 * H == N && x.len() <= N);
        let mut pairs = [0u32; H];
        let groups = x.len() / 4;
        let zps = (zp as u16 as u32) * 0x1_0001;
        for (p, q) in pairs.chunks_exact_mut(2).zip(x.chunks_exact(4)) {
            let word = u32::from_le_bytes([q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8]);
            p.copy_from_slice(&super::split_pairs(word, zps));
        }
        let body = groups * 4;
        let tail = |row: &[i8]| {
            let mut s = 0i32;
            for i in body..x.len() {
                s = s.wrapping_add(row[i] as i32 * (x[i] as i32 - zp));
            }
            s
        };
        let n = x.len();
        // Every row read lies within `w` (one check here instead of one per row).
        assert!(acc.is_empty() || w.len() >= (acc.len() - 1) * stride + n);
        let pairs = &pairs[..2 * groups];
        let mut row = w.as_ptr();
        let mut r = 0;
        let mut pair_acc = acc.chunks_exact_mut(2);
        for a in &mut pair_acc {
            // Rows `r` and `r + 1`, within `w` by the check above.
            let (a0, a1) = two(row, stride, pairs);
            a[0] = a[0].wrapping_add(a0);
            a[1] = a[1].wrapping_add(a1);
            if body < n {
                a[0] = a[0].wrapping_add(tail(&w[r * stride..][..n]));
                a[1] = a[1].wrapping_add(tail(&w[(r + 1) * stride..][..n]));
            }
            row = row.wrapping_add(2 * stride);
            r += 2;
        }
        if let [a] = pair_acc.into_remainder() {
            *a = a.wrapping_add(one(row, pairs));
            if body < n {
                *a = a.wrapping_add(tail(&w[r * stride..][..n]));
            }
        }
    }

    /// The two rows at `w` and `w + stride` dotted with the packed groups `pairs` (their
    /// first `2 · pairs.len()` weights each); both rows must be readable there.
    #[inline(always)]
    pub(crate) fn two(w: *const i8, stride: usize, pairs: &[u32]) -> (i32, i32) {
        let (mut a0, mut a1) = (0i32, 0i32);
        let mut w = w;
        let mut x = pairs.as_ptr();
        let end = pairs.as_ptr().wrapping_add(pairs.len());
        // Groups of four inputs: pairs of two at a time, then one pair.
        let double = pairs.len() / 4 * 4;
        let end2 = pairs.as_ptr().wrapping_add(double);
        if double > 0 {
            // SAFETY: reads `2 · double` weights from each of the rows at `w` and
            // `w + stride` (within the caller's rows; a Cortex-M4 reads unaligned words) and
            // `double` words from `pairs` (aligned); writes only the registers named.
            unsafe {
                core::arch::asm!(
                    "2:",
                    "ldrd {xa}, {xb}, [{x}], #8",
                    "ldr {v1}, [{w}, {s}]",
                    "ldr {v0}, [{w}], #4",
                    "sxtb16 {t}, {v0}, ror #8",
                    "sxtb16 {v0}, {v0}",
                    "smlad {a0}, {v0}, {xa}, {a0}",
                    "smlad {a0}, {t}, {xb}, {a0}",
                    "sxtb16 {t}, {v1}, ror #8",
                    "sxtb16 {v1}, {v1}",
                    "smlad {a1}, {v1}, {xa}, {a1}",
                    "smlad {a1}, {t}, {xb}, {a1}",
                    "ldrd {xa}, {xb}, [{x}], #8",
                    "ldr {v1}, [{w}, {s}]",
                    "ldr {v0}, [{w}], #4",
                    "sxtb16 {t}, {v0}, ror #8",
                    "sxtb16 {v0}, {v0}",
                    "smlad {a0}, {v0}, {xa}, {a0}",
                    "smlad {a0}, {t}, {xb}, {a0}",
                    "sxtb16 {t}, {v1}, ror #8",
                    "sxtb16 {v1}, {v1}",
                    "smlad {a1}, {v1}, {xa}, {a1}",
                    "smlad {a1}, {t}, {xb}, {a1}",
                    "cmp {x}, {end}",
                    "bne 2b",
                    x = inout(reg) x,
                    w = inout(reg) w,
                    s = in(reg) stride,
                    end = in(reg) end2,
                    xa = out(reg) _,
                    xb = out(reg) _,
                    v0 = out(reg) _,
                    v1 = out(reg) _,
                    t = out(reg) _,
                    a0 = inout(reg) a0,
                    a1 = inout(reg) a1,
                    options(readonly, nostack),
                );
            }
        }
        while x != end {
            // SAFETY: `x` is below `end`, within `pairs`; the row's next four weights are
            // within the caller's rows (read unaligned).
            unsafe {
                let (xa, xb) = (*x, *x.add(1));
                let v0 = (w as *const u32).read_unaligned();
                let v1 = (w.add(stride) as *const u32).read_unaligned();
                a0 = a0.wrapping_add(dot4(v0, xa, xb));
                a1 = a1.wrapping_add(dot4(v1, xa, xb));
                x = x.add(2);
                w = w.add(4);
            }
        }
        (a0, a1)
    }

    /// One row at `w` dotted with the packed groups `pairs`; the row must be readable there.
    #[inline(always)]
    pub(crate) fn one(w: *const i8, pairs: &[u32]) -> i32 {
        let mut a = 0i32;
        for (k, p) in pairs.chunks_exact(2).enumerate() {
            // SAFETY: the row's weights `4k..4k + 4`, within the caller's row.
            let v = unsafe { (w.add(4 * k) as *const u32).read_unaligned() };
            a = a.wrapping_add(dot4(v, p[0], p[1]));
        }
        a
    }

    /// The four weights in `v` dotted with their inputs' pairs `xa` (even) and `xb` (odd).
    #[inline(always)]
    fn dot4(v: u32, xa: u32, xb: u32) -> i32 {
        let mut a = 0i32;
        // SAFETY: registers only.
        unsafe {
            core::arch::asm!(
                "sxtb16 {t}, {v}, ror #8",
                "sxtb16 {v}, {v}",
                "smlad {a}, {v}, {xa}, {a}",
                "smlad {a}, {t}, {xb}, {a}",
                v = inout(reg) v => _,
                t = out(reg) _,
                xa = in(reg) xa,
                xb = in(reg) xb,
                a = inout(reg) a,
                options(pure, nomem, nostack),
            );
        }
        a
    }
}
