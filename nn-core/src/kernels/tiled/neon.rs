//! The aarch64 microkernel: 8 × 8 tiles in NEON registers.

use core::arch::aarch64::*;

use super::{write_scalar, Microkernel, Tile};

/// 8 rows × 8 columns (two 128-bit vectors): 16 accumulators of the 32 registers.
pub(super) struct Neon;

impl Microkernel for Neon {
    const MR: usize = 8;
    const NR: usize = 8;

    unsafe fn tile(t: &Tile) {
        // SAFETY: forwarded from this function's contract (the CPU has NEON).
        unsafe { neon(t) }
    }
}

/// [`Neon`]'s tile.
///
/// # Safety
/// As [`Microkernel::tile`], on a CPU with NEON.
#[target_feature(enable = "neon")]
unsafe fn neon(t: &Tile) {
    const MR: usize = 8;
    const NR: usize = 8;
    let rows: [*const f32; MR] =
        core::array::from_fn(|i| t.a.wrapping_offset(i.min(t.mr - 1) as isize * t.a_rs));
    let mut acc = [[vdupq_n_f32(0.0); 2]; MR];
    let mut b = t.b;
    let mut off = 0isize;
    for _ in 0..t.k {
        // SAFETY: row `p` of the vector operand holds `NR` valid elements from `b`, and
        // `rows[i] + p·a_cs` is element `(i, p)` of A (or of its last real row).
        unsafe {
            let b0 = vld1q_f32(b);
            let b1 = vld1q_f32(b.add(4));
            for (row, acc) in rows.iter().zip(&mut acc) {
                let a = vdupq_n_f32(*row.offset(off));
                acc[0] = vfmaq_f32(acc[0], a, b0);
                acc[1] = vfmaq_f32(acc[1], a, b1);
            }
            b = b.offset(t.b_rs);
        }
        off += t.a_cs;
    }
    if t.csc == 1 && t.nr == NR {
        let alpha = vdupq_n_f32(t.alpha);
        let beta = vdupq_n_f32(t.beta);
        for (i, acc) in acc.iter().enumerate().take(t.mr) {
            for (h, acc) in acc.iter().enumerate() {
                // SAFETY: row `i < mr` of C's tile has `NR` contiguous elements.
                unsafe {
                    let c = t.c.offset(i as isize * t.rsc).add(4 * h);
                    let mut s = vmulq_f32(alpha, *acc);
                    if t.beta != 0.0 {
                        s = vaddq_f32(s, vmulq_f32(beta, vld1q_f32(c)));
                    }
                    vst1q_f32(c, s);
                }
            }
        }
    } else {
        let mut sums = [0.0f32; MR * NR];
        for (out, acc) in sums.chunks_exact_mut(NR).zip(&acc) {
            // SAFETY: `out` holds `NR` = 8 floats, two vectors.
            unsafe {
                vst1q_f32(out.as_mut_ptr(), acc[0]);
                vst1q_f32(out.as_mut_ptr().add(4), acc[1]);
            }
        }
        // SAFETY: the tile's `mr × nr` elements of C are valid (this function's contract).
        unsafe { write_scalar(t, &sums, NR) }
    }
}
