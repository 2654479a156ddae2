//! The inner block of [`super::columns`] on the DSP extension (Cortex-M4, M7): two rows of
//! int8 weights against two positions' columns of `i16` pairs, in assembly of its own (it
//! needs fourteen registers: more than `asm!` may name).
//!
//! Per four inputs: one `LDM` of the two positions' four words, one word of weights of each
//! row, split by `SXTB16` into its even and odd pairs, and eight `SMLAD`s: sixteen
//! multiply-adds in fifteen instructions, the loop unrolled twice.

/// `acc = ⌊(acc · m + c) / 2^(32 + shift)⌋`, [`super::arith::Fused`]'s one rounding: the
/// 64-bit constant's low word `2^30`, with bit 31 where `acc < 0`, its high word `high`
/// less one where `acc < 0` (r0 and r1 are scratch).
macro_rules! requant_asm {
    ($acc:literal, $m:literal, $high:literal, $shift:literal) => {
        concat!(
            "and r0, ",
            $acc,
            ", #0x80000000\n",
            "orr r0, r0, #0x40000000\n",
            "add r1, ",
            $high,
            ", ",
            $acc,
            ", asr #31\n",
            "smlal r0, r1, ",
            $acc,
            ", ",
            $m,
            "\n",
            "asr ",
            $acc,
            ", r1, ",
            $shift
        )
    };
}

/// `v = clamp(v + zp, least, greatest)`, the three in r5, r6, r7.
macro_rules! clamp_asm {
    ($v:literal) => {
        concat!(
            "add ", $v, ", r5\n", "cmp ", $v, ", r6\n", "it lt\n", "movlt ", $v, ", r6\n", "cmp ",
            $v, ", r7\n", "it gt\n", "movgt ", $v, ", r7"
        )
    };
}

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

core::arch::global_asm!(
    ".syntax unified",
    ".thumb",
    ".section .text.nn_int8_columns_2x2,\"ax\",%progbits",
    ".p2align 2",
    ".global nn_int8_columns_2x2",
    ".hidden nn_int8_columns_2x2",
    ".type nn_int8_columns_2x2,%function",
    ".thumb_func",
    // r0: a `Pairs`, kept at [sp]; its fields advance as the pairs of channels are done.
    "nn_int8_columns_2x2:",
    "push {{r0, r4-r11, lr}}",
    "1:",
    "ldr lr, [sp]",
    // Rows, row length, columns, their end; the next pair's rows two rows on.
    "ldm lr, {{r0-r3}}",
    "add r4, r0, r1, lsl #1",
    "str r4, [lr]",
    // The accumulators start at the two channels' biases.
    "ldr r4, [lr, #16]",
    "ldrd r8, r10, [r4]",
    "mov r9, r8",
    "mov r11, r10",
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
    // The two channels' multipliers (`Fused`: multiplier, high word, shift), then the
    // record's end.
    "ldr lr, [sp]",
    "ldr r12, [lr, #16]",
    "ldm r12!, {{r0-r7}}",
    "str r12, [lr, #16]",
    requant_asm!("r8", "r2", "r3", "r4"),
    requant_asm!("r9", "r2", "r3", "r4"),
    requant_asm!("r10", "r5", "r6", "r7"),
    requant_asm!("r11", "r5", "r6", "r7"),
    // Output, channel distance, pairs left, zero point, least and greatest value.
    "add r12, lr, #20",
    "ldm r12, {{r2-r7}}",
    clamp_asm!("r8"),
    clamp_asm!("r9"),
    clamp_asm!("r10"),
    clamp_asm!("r11"),
    "strb r8, [r2]",
    "strb r9, [r2, #1]",
    "add r2, r3",
    "strb r10, [r2]",
    "strb r11, [r2, #1]",
    "add r2, r3",
    "str r2, [lr, #20]",
    "subs r4, #1",
    "str r4, [lr, #28]",
    "bne 1b",
    "pop {{r0, r4-r11, pc}}",
    ".size nn_int8_columns_2x2, . - nn_int8_columns_2x2",
);

extern "C" {
    fn nn_int8_columns_2x2(pairs: *mut Pairs);
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

/// What [`pairs`] reads, as the assembly reads it (the fields in this order, 4 bytes each).
#[repr(C)]
pub(super) struct Pairs {
    /// The first row of the first pair of channels.
    pub weight: *const i8,
    /// Weights per row.
    pub k: usize,
    /// The two positions' columns, a whole number of groups of four words, at least one.
    pub columns: *const u32,
    pub end: *const u32,
    /// Per pair of channels, 8 words: the two biases, then each channel's `Fused` parts.
    pub params: *const [i32; 8],
    /// The first channel's output at the first position.
    pub output: *mut i8,
    /// The distance between two channels' outputs.
    pub positions: usize,
    /// Pairs of channels, at least one.
    pub pairs: usize,
    pub zero_point: i32,
    pub min: i32,
    pub max: i32,
}

/// Both positions' outputs of `pairs.pairs` pairs of channels, requantised by their
/// `Fused` multipliers and clamped: [`super::columns`]'s `Block::run` in assembly.
///
/// # Safety
/// The columns hold a whole number of groups of four words, at least one; `2 · pairs`
/// rows of `k` weights are readable from `weight`, `pairs` records from `params`, and
/// `output + 2c · positions` and the byte after it writable for `c < 2 · pairs`.
#[inline(always)]
pub(super) unsafe fn pairs(pairs: &mut Pairs) {
    // SAFETY: the caller's promise covers every address the block reads and writes; it
    // saves every register the calling convention asks it to.
    unsafe { nn_int8_columns_2x2(pairs) }
}
