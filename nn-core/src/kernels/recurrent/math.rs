//! The gates' nonlinearities over arrays, written branch-free so that the compiler turns each
//! loop into vector instructions: `exp` (Cephes' `expf`: a reduction to `[-ln 2 / 2, ln 2 / 2]`,
//! a degree-6 polynomial, evaluated by Estrin's scheme, and an exponent written into the
//! bits), and from it the logistic sigmoid and `tanh` (Cephes' `tanhf`: an odd polynomial below 0.625, `1 - 2 / (e^{2|x|} + 1)`
//! above). Each is within 2 ulp of the correctly rounded result over the range a gate sees
//! (tested against `libm`'s double precision, rounded); NaN goes in, NaN comes out.
//!
//! `FMA` fuses the polynomials' multiply-adds, as the products do on a unit with FMA: one
//! instruction in place of two, and one rounding. Every pass of a layer runs with the same
//! `FMA`, so that all of them give the same bits.

use super::madd;

/// `e^x` for `x` in `[-87, 88]`, the range where it is a normal `f32`; `x` beyond it is
/// clamped to it. NaN stays NaN.
#[inline(always)]
pub(crate) fn exp<const FMA: bool>(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    // ln 2 in two parts, the first exact in a few bits, so that `x - n ln 2` loses nothing.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer, with no `round` in
    // `core`.
    const ROUND: f32 = 12_582_912.0;
    // Comparisons, not `max`/`min`, so that NaN passes through.
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    // `t`'s low bits hold `n = round(x log2 e)` as an integer: 2^n comes from integer
    // operations alone, which vectorise where a float-to-integer conversion may not.
    let t = madd::<FMA>(x, LOG2E, ROUND);
    let n = t - ROUND;
    let r = madd::<FMA>(-n, LN2_HI, x);
    let r = madd::<FMA>(-n, LN2_LO, r);
    // The polynomial by Estrin's scheme, three pairs of terms side by side and then `r²`
    // and `r⁴`, so that a step waits for three multiply-adds, not six.
    let r2 = r * r;
    let p01 = madd::<FMA>(1.987_569_1e-4, r, 1.398_199_9e-3);
    let p23 = madd::<FMA>(8.333_452e-3, r, 4.166_579_6e-2);
    let p45 = madd::<FMA>(1.666_666_5e-1, r, 0.5);
    let p = madd::<FMA>(p01, r2 * r2, madd::<FMA>(p23, r2, p45));
    let y = madd::<FMA>(p, r2, r) + 1.0;
    // `n` lies in [-126, 127], so that 2^n is a normal float; for NaN, `y` is NaN already.
    let n_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    y * scale
}

/// The logistic sigmoid, `1 / (1 + e^{-x})`.
#[inline(always)]
pub(crate) fn sigmoid<const FMA: bool>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<FMA>(-x))
}

/// `tanh x`.
#[inline(always)]
pub(crate) fn tanh<const FMA: bool>(x: f32) -> f32 {
    let a = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    // Near 0, an odd polynomial: `1 - 2 / (e^{2x} + 1)` would lose the low bits there.
    let x2 = x * x;
    let p = -5.704_988_7e-3;
    let p = madd::<FMA>(p, x2, 2.063_909e-2);
    let p = madd::<FMA>(p, x2, -5.373_971_6e-2);
    let p = madd::<FMA>(p, x2, 1.333_144_2e-1);
    let p = madd::<FMA>(p, x2, -3.333_328e-1);
    let small = madd::<FMA>(p * x2, x, x);
    // Past 10, tanh rounds to ±1; clamping keeps `e^{2|x|}` finite.
    let a2 = if a > 10.0 { 20.0 } else { 2.0 * a };
    let big = 1.0 - 2.0 / (exp::<FMA>(a2) + 1.0);
    let big = f32::from_bits(big.to_bits() | (x.to_bits() & 0x8000_0000));
    // Both sides computed and one kept by a mask, so that the compiler keeps no branch that
    // would stop it running the elements side by side in vector registers.
    let keep_small = if a < 0.625 { u32::MAX } else { 0 };
    f32::from_bits((small.to_bits() & keep_small) | (big.to_bits() & !keep_small))
}

/// [`sigmoid`] of every element, in place.
#[inline(always)]
pub(crate) fn sigmoid_all<const FMA: bool>(v: &mut [f32]) {
    for v in v {
        *v = sigmoid::<FMA>(*v);
    }
}

/// [`tanh`] of every element, in place.
#[inline(always)]
pub(crate) fn tanh_all<const FMA: bool>(v: &mut [f32]) {
    for v in v {
        *v = tanh::<FMA>(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many floats lie between `a` and `b` (both finite, same sign or zero).
    fn ulps(a: f32, b: f32) -> u32 {
        let key = |x: f32| {
            let i = x.to_bits() as i32;
            if i < 0 {
                i32::MIN - i
            } else {
                i
            }
        };
        key(a).abs_diff(key(b))
    }

    /// `count + 1` floats evenly spaced from `lo` to `hi`.
    fn sweep(lo: f32, hi: f32, count: usize) -> impl Iterator<Item = f32> {
        (0..=count).map(move |i| lo + (hi - lo) * i as f32 / count as f32)
    }

    /// Checks `f` (fused and not) within 2 ulp of `want` over `xs`.
    fn within_two_ulp(
        name: &str,
        xs: impl Iterator<Item = f32>,
        f: [fn(f32) -> f32; 2],
        want: impl Fn(f64) -> f64,
    ) {
        for x in xs {
            let want = want(x as f64) as f32;
            for (f, fused) in f.iter().zip([false, true]) {
                let got = f(x);
                assert!(
                    ulps(got, want) <= 2,
                    "{name}({x}) = {got} (fused {fused}), want {want}"
                );
            }
        }
    }

    #[test]
    fn exp_is_within_two_ulp_of_the_rounded_double() {
        let xs = sweep(-87.0, 88.0, 200_000);
        within_two_ulp("exp", xs, [exp::<false>, exp::<true>], libm::exp);
    }

    #[test]
    fn sigmoid_is_within_two_ulp_of_the_rounded_double() {
        let xs = sweep(-80.0, 30.0, 200_000);
        let f = [sigmoid::<false>, sigmoid::<true>];
        within_two_ulp("sigmoid", xs, f, |x| 1.0 / (1.0 + libm::exp(-x)));
        for f in f {
            assert_eq!(f(100.0), 1.0);
            assert!(f(-100.0) >= 0.0 && f(-100.0) < 1e-37);
        }
    }

    #[test]
    fn tanh_is_within_two_ulp_of_the_rounded_double() {
        let xs = sweep(-12.0, 12.0, 200_000).chain(sweep(-1e-3, 1e-3, 10_000));
        let f = [tanh::<false>, tanh::<true>];
        within_two_ulp("tanh", xs, f, libm::tanh);
        for f in f {
            assert_eq!(f(50.0), 1.0);
            assert_eq!(f(-50.0), -1.0);
            assert_eq!(f(0.0).to_bits(), 0.0f32.to_bits());
        }
    }

    #[test]
    fn nan_passes_through() {
        assert!(exp::<false>(f32::NAN).is_nan());
        assert!(sigmoid::<false>(f32::NAN).is_nan());
        assert!(tanh::<false>(f32::NAN).is_nan());
        assert!(tanh::<true>(f32::NAN).is_nan());
        assert_eq!(exp::<false>(f32::INFINITY), exp::<false>(88.0));
        let inf = sigmoid::<false>(f32::NEG_INFINITY);
        assert_eq!(inf, 1.0 / (1.0 + exp::<false>(88.0)));
    }
}
