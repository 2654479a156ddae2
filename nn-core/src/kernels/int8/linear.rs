//! Fully connected, TFLite Micro's `FullyConnected` (per-tensor or per-channel).

use super::arith::Fused;
use super::dot::dot_rows;
use crate::int8::{Output, Weights};

/// `output[o] = clamp(zp_out + requant[o](bias[o] + Σ_i w[o, i] · (x[i] − zp_in)))`, for one
/// sample. The weight is `[out, in]` row-major (symmetric: zero point 0).
///
/// # Panics
/// If the lengths disagree: a weight not of `output.len() · input.len()`, biases not of
/// `output.len()`, multipliers neither 1 nor `output.len()`.
///
/// ```
/// use nn::int8::{linear, Activation, Output, Requant, Weights};
/// let (x, w, b) = ([10i8, -20], [1i8, 2, 3, 4], [100i32, -100]);
/// let weights = Weights { weight: &w, bias: Some(&b), requant: &[Requant::new(0.5)] };
/// let mut y = [0i8; 2];
/// // Accumulators 100 + 10 + 2 · (-20) = 70 and -100 + 30 - 80 = -150, times 1/2.
/// linear(&x, 0, weights, Output::new(1.0, 0, Activation::None), &mut y);
/// assert_eq!(y, [35, -75]);
/// ```
pub fn linear(
    input: &[i8],
    input_zero_point: i32,
    weights: Weights,
    out: Output,
    output: &mut [i8],
) {
    let n_in = input.len();
    assert_eq!(
        weights.weight.len(),
        n_in * output.len(),
        "a weight of {} values for {n_in} inputs and {} outputs",
        weights.weight.len(),
        output.len()
    );
    weights.check(output.len());
    linear_with_sums(input, input_zero_point, weights, &[], out, output);
}

/// [`linear`] with each row's weight sum prepared (`row_sums`, one per output), which the
/// AVX-512 VNNI inner product then need not compute; empty when not prepared.
pub(crate) fn linear_with_sums(
    input: &[i8],
    input_zero_point: i32,
    weights: Weights,
    row_sums: &[i32],
    out: Output,
    output: &mut [i8],
) {
    let n_in = input.len();
    assert!(row_sums.is_empty() || row_sums.len() == output.len());
    // Outputs in blocks, their accumulators on the stack, through the shared inner product
    // (AVX2 where the CPU has it).
    const BLOCK: usize = 64;
    let mut acc = [0i32; BLOCK];
    for (b, ys) in output.chunks_mut(BLOCK).enumerate() {
        let o0 = b * BLOCK;
        let acc = &mut acc[..ys.len()];
        for (k, a) in acc.iter_mut().enumerate() {
            *a = weights.channel(o0 + k).0;
        }
        dot_rows(
            &weights.weight[o0 * n_in..],
            n_in,
            input,
            input_zero_point,
            acc,
            row_sums.get(o0..o0 + ys.len()),
        );
        for (k, (y, &a)) in ys.iter_mut().zip(acc.iter()).enumerate() {
            let r = weights.channel(o0 + k).1;
            let scaled = match Fused::new(r.multiplier, r.shift) {
                Some(f) => f.apply(a),
                None => r.apply(a),
            };
            *y = out.write(scaled);
        }
    }
}
