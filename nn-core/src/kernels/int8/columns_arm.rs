//! The inner block of [`super::columns`] on the DSP extension (Cortex-M4, M7): two rows of
//! int8 weights against two positions' columns of `i16` pairs, in assembly of its own (it
//! needs fourteen registers: more than `asm!` may name).
//!
//! Per four inputs: one `LDM` of the two positions' four words, one word of weights of each
//! row, split by `SXTB16` into its even and odd pairs, and eight `SMLAD`s: sixteen
//! multiply-adds in fifteen instructions, the loop unrolled twice.

core::arch::global_asm!(
    ".syntax unified",
    ".thumb",
    ".section .text.nn_int8_block_2x2,\"ax\",%progbits",
    ".p2align 2",
    ".global nn_int8_block_2x2",
    ".hidden nn_int8_block_2x2",
    ".type nn_int8_block_2x2,%function",
    ".thumb_func",
    // r0: row 0's weights, r1: row 1's distance from row 0, r2: the columns, r3: their end,
    // [sp]: the four accumulators (row 0 at both positions, then row 1).
    "nn_int8_block_2x2:",
    "push {{r4-r11, lr}}",
    "ldr lr, [sp, #36]",
    "ldm lr, {{r8-r11}}",
    // An odd number of groups enters the loop at its second half.
    "sub r4, r3, r2",
    "tst r4, #16",
    "bne 3f",
    "2:",
    "ldm r2!, {{r4-r7}}",
    "ldr r12, [r0, r1]",
    "sxtb16 lr, r12, ror #8",
    "sxtb16 r12, r12",
    "smlad r10, r12, r4, r10",
    "smlad r10, lr, r5, r10",
    "smlad r11, r12, r6, r11",
    "smlad r11, lr, r7, r11",
    "ldr r12, [r0], #4",
    "sxtb16 lr, r12, ror #8",
    "sxtb16 r12, r12",
    "smlad r8, r12, r4, r8",
    "smlad r8, lr, r5, r8",
    "smlad r9, r12, r6, r9",
    "smlad r9, lr, r7, r9",
    "3:",
    "ldm r2!, {{r4-r7}}",
    "ldr r12, [r0, r1]",
    "sxtb16 lr, r12, ror #8",
    "sxtb16 r12, r12",
    "smlad r10, r12, r4, r10",
    "smlad r10, lr, r5, r10",
    "smlad r11, r12, r6, r11",
    "smlad r11, lr, r7, r11",
    "ldr r12, [r0], #4",
    "sxtb16 lr, r12, ror #8",
    "sxtb16 r12, r12",
    "smlad r8, r12, r4, r8",
    "smlad r8, lr, r5, r8",
    "smlad r9, r12, r6, r9",
    "smlad r9, lr, r7, r9",
    "cmp r2, r3",
    "bne 2b",
    "ldr lr, [sp, #36]",
    "stm lr, {{r8-r11}}",
    "pop {{r4-r11, pc}}",
    ".size nn_int8_block_2x2, . - nn_int8_block_2x2",
);

extern "C" {
    fn nn_int8_block_2x2(
        w: *const i8,
        stride: usize,
        columns: *const u32,
        end: *const u32,
        acc: *mut [i32; 4],
    );
}

/// `acc[2r + q] += Σ_i w_r[i] · x_q[i]`, rows `w_0 = w` and `w_1 = w + stride`, the inputs
/// `x_q` of position `q` as [`super::columns`] lays them out.
///
/// # Safety
/// `columns.len()` is a multiple of 4 and at least 4; `columns.len()` weights are readable
/// from `w` and from `w + stride`.
#[inline(always)]
pub(super) unsafe fn block_2x2(w: *const i8, stride: usize, columns: &[u32], acc: &mut [i32; 4]) {
    let end = columns.as_ptr_range().end;
    // SAFETY: the caller's promise: whole groups, at least one, and the rows' weights
    // readable (a Cortex-M4 reads words at any address); the block writes only `acc` and
    // saves every register the calling convention asks it to.
    unsafe { nn_int8_block_2x2(w, stride, columns.as_ptr(), end, acc) }
}
