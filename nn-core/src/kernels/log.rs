//! `log` and `log1p` written branch-free, so that a loop over them runs in vector registers
//! (`libm`'s `logf` and `log1pf` branch on their input and do not): Cephes' `logf` (the
//! mantissa reduced to `[√½, √2)`, a degree-9 polynomial, the exponent's `ln 2` in two
//! parts), and `log1p(x) = log(1 + x) · x / ((1 + x) − 1)`, which corrects the rounding of
//! `1 + x` (Goldberg's). No fused multiply-adds, so that every build and every CPU gives the
//! same bits. Accuracy against the correctly rounded result is tested below, in ulps.

/// `ln x` for every `f32`: `−∞` at ±0, NaN below 0 and for NaN, `∞` at `∞`; subnormals
/// included.
#[inline(always)]
pub(crate) fn log(x: f32) -> f32 {
    const SQRT_HALF: f32 = core::f32::consts::FRAC_1_SQRT_2;
    // Subnormals (and 0, and negatives, whose results are chosen at the end) scaled by 2^23
    // into the normal range, their exponent lowered to match.
    let tiny = x < f32::MIN_POSITIVE;
    let scaled = if tiny { x * 8_388_608.0 } else { x };
    let bits = scaled.to_bits();
    // x = m · 2^e with m in [½, 1).
    let e = ((bits >> 23) & 0xff) as i32 - 126 - if tiny { 23 } else { 0 };
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    // m in [√½, 1) as it is, below that doubled: f = m − 1 in [√½ − 1, √2 − 1).
    let low = m < SQRT_HALF;
    let e = if low { e - 1 } else { e };
    let f = if low { m + m - 1.0 } else { m - 1.0 };
    let z = f * f;
    let mut p = 7.037_683_6e-2;
    p = p * f - 1.151_461e-1;
    p = p * f + 1.167_699_9e-1;
    p = p * f - 1.242_014_1e-1;
    p = p * f + 1.424_932_3e-1;
    p = p * f - 1.666_805_8e-1;
    p = p * f + 2.000_071_4e-1;
    p = p * f - 2.499_999_4e-1;
    p = p * f + 0.333_333_3;
    let fe = e as f32;
    let y = p * f * z + -2.121_944_4e-4 * fe;
    let y = y + -0.5 * z;
    let r = (f + y) + 0.693_359_4 * fe;
    // The edges, chosen by comparisons that compile to masks.
    let r = if x == f32::INFINITY { x } else { r };
    let r = if x == 0.0 { f32::NEG_INFINITY } else { r };
    if x < 0.0 || x.is_nan() {
        f32::NAN
    } else {
        r
    }
}

/// `ln(1 + x)`, accurate for `x` near 0, for `x` in `[−1, 2^100]`: `−∞` at −1, NaN below it
/// and for NaN, `x` itself (with its sign) where `1 + x` rounds to 1.
#[inline(always)]
pub(crate) fn log1p(x: f32) -> f32 {
    let u = 1.0 + x;
    let d = u - 1.0;
    // `u − 1` is exact, and `x / d` corrects `log u` for what rounding `1 + x` lost. Where
    // `u` is 1, `d` is 0 and the quotient is not used.
    let r = log(u) * (x / d);
    let r = if u == 0.0 { f32::NEG_INFINITY } else { r };
    if d == 0.0 {
        x
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    /// Floats between `a` and `b`, both finite or both the same infinity.
    fn ulps(a: f32, b: f32) -> u32 {
        if a == b {
            return 0;
        }
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

    /// The largest error over `xs` of `f` against `want` (double precision, rounded), in ulps.
    fn worst(xs: impl Iterator<Item = f32>, f: fn(f32) -> f32, want: fn(f64) -> f64) -> u32 {
        let mut worst = (0, 0.0);
        for x in xs {
            let e = ulps(f(x), want(x as f64) as f32);
            if e > worst.0 {
                worst = (e, x);
            }
        }
        std::println!("worst {} ulp at {:e}", worst.0, worst.1);
        worst.0
    }

    /// Every `step`-th float from `lo` to `hi` (positive, by their bits).
    fn floats(lo: f32, hi: f32, step: u32) -> impl Iterator<Item = f32> {
        (lo.to_bits()..=hi.to_bits())
            .step_by(step as usize)
            .map(f32::from_bits)
    }

    #[test]
    fn log_is_within_one_ulp_over_every_positive_float() {
        // Subnormals and the normal range end to end (every 1021st of the 2^31 positive
        // floats), and around 1 more densely.
        let xs = floats(1e-45, f32::MAX, 1021).chain(floats(0.5, 2.0, 61));
        assert!(worst(xs, log, libm::log) <= 1);
    }

    #[test]
    fn log1p_is_within_two_ulp_from_minus_one_up() {
        // x in (−1, 0), as `−p` of a probability is, from the tiny end, and up to 2^100.
        let neg = floats(1e-45, 1.0 - f32::EPSILON / 2.0, 509).map(|x| -x);
        let pos = floats(1e-45, 1.267_650_6e30, 1021);
        assert!(worst(neg.chain(pos), log1p, libm::log1p) <= 2);
    }

    #[test]
    fn edges_are_ieee_s() {
        assert_eq!(log(0.0), f32::NEG_INFINITY);
        assert_eq!(log(-0.0), f32::NEG_INFINITY);
        assert_eq!(log(1.0), 0.0);
        assert_eq!(log(f32::INFINITY), f32::INFINITY);
        assert!(log(-1.0).is_nan() && log(f32::NAN).is_nan() && log(f32::NEG_INFINITY).is_nan());
        assert_eq!(log1p(-1.0), f32::NEG_INFINITY);
        assert_eq!(log1p(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(log1p(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(log1p(1e-30), 1e-30);
        assert_eq!(log1p(-1e-30), -1e-30);
        assert!(log1p(-1.5).is_nan() && log1p(f32::NAN).is_nan());
    }
}
