//! The residual add, TFLite Micro's int8 `ADD` (inputs of the same shape).

use super::arith::{Fused, Prepared, Scale};
use crate::int8::{AddParams, Requant};

/// `output[i] = clamp(zp_out + r_out(r_1((a[i] − zp_1) · 2^20) + r_2((b[i] − zp_2) · 2^20)))`,
/// the parameters prepared by [`AddParams::new`].
///
/// # Panics
/// If the three slices differ in length.
pub fn add(a: &[i8], b: &[i8], p: &AddParams, output: &mut [i8]) {
    assert!(a.len() == b.len() && a.len() == output.len(), "lengths");
    let prepared = |r: Requant| Prepared::new(r.multiplier, r.shift);
    let (r1, r2) = (prepared(p.input1), prepared(p.input2));
    // The sum's rescale in one rounding where it applies (a small multiplier: the usual case).
    match Fused::new(p.output.multiplier, p.output.shift) {
        Some(r) => add_with(a, b, p, [r1, r2], r, output),
        None => add_with(a, b, p, [r1, r2], prepared(p.output), output),
    }
}

/// [`add`] with its three rescales prepared: the same bits.
#[inline(always)]
fn add_with<S: Scale>(
    a: &[i8],
    b: &[i8],
    p: &AddParams,
    [r1, r2]: [Prepared; 2],
    r_out: S,
    output: &mut [i8],
) {
    for ((y, &x1), &x2) in output.iter_mut().zip(a).zip(b) {
        let s1 = r1.apply((x1 as i32 + p.input1_offset) << p.left_shift);
        let s2 = r2.apply((x2 as i32 + p.input2_offset) << p.left_shift);
        *y = p.out.write(r_out.apply(s1 + s2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::int8::Activation;

    /// TFLite's formula, each rescale by `multiply_by_quantized_multiplier`.
    fn reference(a: &[i8], b: &[i8], p: &AddParams) -> [i8; 256] {
        let m = |r: Requant, x: i32| {
            super::super::multiply_by_quantized_multiplier(x, r.multiplier, r.shift)
        };
        core::array::from_fn(|i| {
            let s1 = m(p.input1, (a[i] as i32 + p.input1_offset) << p.left_shift);
            let s2 = m(p.input2, (b[i] as i32 + p.input2_offset) << p.left_shift);
            p.out.write(m(p.output, s1 + s2))
        })
    }

    #[test]
    fn the_prepared_add_is_tflites_formula_on_every_pair_of_inputs() {
        let a: [i8; 256] = core::array::from_fn(|i| i as u8 as i8);
        let mut checked = 0;
        // Input scales equal and apart, output scales from below the inputs' to far above
        // them, every zero point sign.
        for (s1, s2, so, zo) in [
            (0.02f32, 0.02f32, 0.03f32, -5),
            (0.011, 0.047, 0.05, 12),
            (0.3, 0.001, 0.9, -128),
            (0.05, 0.05, 0.004, 100),
            (0.0007, 0.0003, 0.0011, 0),
            // An output scale so small that the sum's multiplier is near 1: not fused.
            (0.02, 0.02, 4e-8, 0),
        ] {
            for act in [Activation::None, Activation::Relu] {
                let p = AddParams::new((s1, 3), (s2, -17), (so, zo), act);
                for shift in 0..256 {
                    let b: [i8; 256] = core::array::from_fn(|i| (i + shift) as u8 as i8);
                    let mut y = [0i8; 256];
                    add(&a, &b, &p, &mut y);
                    assert_eq!(
                        y,
                        reference(&a, &b, &p),
                        "{s1} {s2} {so} {zo}, shift {shift}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 6 * 2 * 256);
    }
}
