use super::*;

/// Floats between `a` and `b` (finite), subnormals counted one by one.
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

/// The sigmoid against `1 / (1 + e^−x)` in double precision, rounded, from where it
/// rounds to 0 (about −104) through its subnormal outputs to where it rounds to 1.
#[test]
fn sigmoid_is_within_a_few_ulp_of_the_rounded_double() {
    let mut worst = (0, 0.0f32);
    for i in 0..=400_000 {
        let x = -110.0 + 130.0 * i as f32 / 400_000.0;
        let want = (1.0 / (1.0 + libm::exp(-(x as f64)))) as f32;
        let e = ulps(SigmoidFn::f(x), want);
        if e > worst.0 {
            worst = (e, x);
        }
    }
    assert!(worst.0 <= 2, "{} ulp at {}", worst.0, worst.1);
    assert_eq!(SigmoidFn::f(f32::INFINITY), 1.0);
    assert_eq!(SigmoidFn::f(f32::NEG_INFINITY), 0.0);
    assert!(SigmoidFn::f(f32::NAN).is_nan());
}
