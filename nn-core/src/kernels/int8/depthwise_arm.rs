//! A depthwise 3 × 3 window at stride 1 on the DSP extension (Cortex-M4, M7), in assembly
//! of its own (it needs fourteen registers): each output row's accumulators two at a time,
//! from one word of each of the window's three rows. `SXTB16` splits a row's bytes
//! `x0 x1 x2 x3` into `(x0, x2)` and `(x1, x3)`: the outer pair of the first output and the
//! middle of the second, and the other way round; one `SMLAD` and one `SMLA<x><y>` per
//! output and row. Twenty-five instructions for two outputs' eighteen multiply-adds.

/// One row's step: the word in r4, the row's outer weights in `$outer`, its middle weight
/// in the `$half` (`b` bottom, `t` top) of `$middle`; accumulators r6 (first output) and
/// r7; `$acc0`/`$acc1` what they add to (the bias on the first row).
macro_rules! row_asm {
    ($outer:literal, $middle:literal, $half:literal, $acc0:literal, $acc1:literal) => {
        concat!(
            "sxtb16 r5, r4, ror #8\n",
            "sxtb16 r4, r4\n",
            "smlad r6, r4, ",
            $outer,
            ", ",
            $acc0,
            "\n",
            "smlab",
            $half,
            " r6, r5, ",
            $middle,
            ", r6\n",
            "smlad r7, r5, ",
            $outer,
            ", ",
            $acc1,
            "\n",
            "smlat",
            $half,
            " r7, r4, ",
            $middle,
            ", r7"
        )
    };
}

core::arch::global_asm!(
    ".syntax unified",
    ".thumb",
    ".section .text.nn_int8_depthwise_3x3,\"ax\",%progbits",
    ".p2align 2",
    ".global nn_int8_depthwise_3x3",
    ".hidden nn_int8_depthwise_3x3",
    ".type nn_int8_depthwise_3x3,%function",
    ".thumb_func",
    // r0: a `Rows3`, kept at [sp]; its band, accumulators and rows advance row by row.
    "nn_int8_depthwise_3x3:",
    "push {{r0, r4-r11, lr}}",
    // Outer pairs, the middles (rows 0 and 1 in one word), the bias.
    "add r1, r0, #24",
    "ldm r1, {{r8-r12, lr}}",
    "1:",
    "ldr r3, [sp]",
    // Band, its width, accumulators, pairs per row.
    "ldm r3, {{r0-r3}}",
    "2:",
    "ldr r4, [r0]",
    row_asm!("r8", "r11", "b", "lr", "lr"),
    "ldr r4, [r0, r1]",
    row_asm!("r9", "r11", "t", "r6", "r7"),
    "ldr r4, [r0, r1, lsl #1]",
    row_asm!("r10", "r12", "b", "r6", "r7"),
    "strd r6, r7, [r2], #8",
    "adds r0, #2",
    "subs r3, #1",
    "bne 2b",
    // The next row: the band a width on, the accumulators a row of outputs on.
    "ldr r3, [sp]",
    "ldr r0, [r3]",
    "add r0, r1",
    "str r0, [r3]",
    "ldr r2, [r3, #8]",
    "ldr r4, [r3, #20]",
    "add r2, r2, r4, lsl #2",
    "str r2, [r3, #8]",
    "ldr r4, [r3, #16]",
    "subs r4, #1",
    "str r4, [r3, #16]",
    "bne 1b",
    "pop {{r0, r4-r11, pc}}",
    ".size nn_int8_depthwise_3x3, . - nn_int8_depthwise_3x3",
);

/// One output of `nn_int8_requantize`: the accumulator at r0 (advanced) requantised by
/// `Fused::apply` (the 64-bit constant's low word 2^30 with bit 31 where the accumulator is
/// negative, its high word one less there), the zero point added, clamped, written at r1
/// (advanced).
macro_rules! requantize_asm {
    () => {
        concat!(
            "ldr r10, [r0], #4\n",
            "and r11, r10, #0x80000000\n",
            "orr r11, r11, #0x40000000\n",
            "add r12, r5, r10, asr #31\n",
            "smlal r11, r12, r10, r4\n",
            "asr r10, r12, r6\n",
            "add r10, r7\n",
            "cmp r10, r8\n",
            "it lt\n",
            "movlt r10, r8\n",
            "cmp r10, r9\n",
            "it gt\n",
            "movgt r10, r9\n",
            "strb r10, [r1], #1"
        )
    };
}

core::arch::global_asm!(
    ".syntax unified",
    ".thumb",
    ".section .text.nn_int8_requantize,\"ax\",%progbits",
    ".p2align 2",
    ".global nn_int8_requantize",
    ".hidden nn_int8_requantize",
    ".type nn_int8_requantize,%function",
    ".thumb_func",
    // r0: accumulators, r1: outputs, r2: how many (at least one), r3: the six `Fused`
    // parts and output range (multiplier, high word, shift, zero point, least, greatest).
    "nn_int8_requantize:",
    "push {{r4-r11, lr}}",
    "ldm r3, {{r4-r9}}",
    // Two outputs per pass; an odd count enters at the second, counted as one more.
    "tst r2, #1",
    "beq 2f",
    "add r2, #1",
    "b 3f",
    "2:",
    requantize_asm!(),
    "3:",
    requantize_asm!(),
    "subs r2, #2",
    "bgt 2b",
    "pop {{r4-r11, pc}}",
    ".size nn_int8_requantize, . - nn_int8_requantize",
);

extern "C" {
    fn nn_int8_depthwise_3x3(rows: *mut Rows3);
    fn nn_int8_requantize(acc: *const i32, out: *mut i8, n: usize, params: *const [i32; 6]);
}

/// `out[i] = clamp(zp + fused(acc[i]), least, greatest)` with `params` the `Fused` parts
/// (multiplier, high word, shift) and the output's zero point, least and greatest value.
#[inline(always)]
pub(super) fn requantize(acc: &[i32], out: &mut [i8], params: &[i32; 6]) {
    let n = acc.len().min(out.len());
    if n > 0 {
        // SAFETY: reads `n` accumulators and writes `n` outputs, within both slices; the
        // routine saves every register the calling convention asks it to.
        unsafe { nn_int8_requantize(acc.as_ptr(), out.as_mut_ptr(), n, params) }
    }
}

/// What [`rows_3x3`] reads, as the assembly reads it (the fields in this order, 4 bytes
/// each).
#[repr(C)]
pub(super) struct Rows3 {
    /// The band at the first output's window (its top left).
    pub band: *const i8,
    /// Bytes per band row.
    pub width: usize,
    /// The first output's accumulator.
    pub acc: *mut i32,
    /// Pairs of outputs per row, at least one.
    pub pairs: usize,
    /// Output rows, at least one.
    pub rows: usize,
    /// Outputs per row: the accumulators' row length.
    pub outputs: usize,
    /// Each filter row's outer weights `(w0, w2)` as an `i16` pair.
    pub outer: [u32; 3],
    /// The middle weights of rows 0 (low half) and 1 (high half), and of row 2 (low half).
    pub middle: [u32; 2],
    pub bias: i32,
}

/// `acc[y · outputs + x] = bias + Σ_{ky, kx} w[ky, kx] · band[(y + ky) · width + x + kx]`
/// for `y < rows` and `x < 2 · pairs` (the accumulator past a row's outputs is the next
/// row's first, written again after).
///
/// # Safety
/// The band is readable for `(rows + 1) · width + 2 · pairs + 2` bytes (the last row's
/// words read a byte past their window), and `acc` writable for `(rows − 1) · outputs +
/// 2 · pairs` values; `pairs` and `rows` at least 1.
#[inline(always)]
pub(super) unsafe fn rows_3x3(rows: &mut Rows3) {
    // SAFETY: the caller's promise covers every address the routine reads and writes; it
    // saves every register the calling convention asks it to.
    unsafe { nn_int8_depthwise_3x3(rows) }
}
