//! Fully connected, TFLite Micro's `FullyConnected` (per-tensor or per-channel).

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
    let kernel = Linear {
        input,
        input_zero_point,
        weights,
        out,
        output,
    };
    // On x86-64 hosts, the same loop compiled for AVX2 or AVX-512 where the CPU has it.
    #[cfg(feature = "alloc")]
    crate::kernels::simd::vectorized(kernel);
    #[cfg(not(feature = "alloc"))]
    kernel.run();
}

struct Linear<'a, 'b> {
    input: &'a [i8],
    input_zero_point: i32,
    weights: Weights<'a>,
    out: Output,
    output: &'b mut [i8],
}

impl Linear<'_, '_> {
    #[inline(always)]
    fn run(self) {
        let n_in = self.input.len().max(1);
        for (o, (y, row)) in self
            .output
            .iter_mut()
            .zip(self.weights.weight.chunks_exact(n_in))
            .enumerate()
        {
            let (bias, requant) = self.weights.channel(o);
            // Σ w·(x − zp) as Σ w·x − zp·Σ w: the same integer, in a loop of int8 products
            // that vectorises.
            let (dot, sum) = dot_and_sum(row, self.input);
            *y = self
                .out
                .write(requant.apply(bias + dot - self.input_zero_point * sum));
        }
    }
}

#[cfg(feature = "alloc")]
impl crate::kernels::simd::Kernel for Linear<'_, '_> {
    #[inline(always)]
    fn run(self) {
        Linear::run(self)
    }
}

/// `(Σ w·x, Σ w)`.
#[inline(always)]
pub(crate) fn dot_and_sum(w: &[i8], x: &[i8]) -> (i32, i32) {
    let (mut dot, mut sum) = (0i32, 0i32);
    for (&w, &x) in w.iter().zip(x) {
        dot += w as i32 * x as i32;
        sum += w as i32;
    }
    (dot, sum)
}
