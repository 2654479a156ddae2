//! Reading `tests/fixtures/nonfinite.json` (written by `tools/make_nonfinite_fixture.py`)
//! and comparing against it where NaN and the infinities are expected values.

use serde_json::Value;

/// Relative tolerance on finite values. The cases are a few float32 operations each (sums
/// of 3 or 4 terms, one square root or exponential), summed in an order that may differ
/// from PyTorch's by a few ulps.
pub const REL: f32 = 1e-5;
/// Absolute floor, for values that such sums cancel to near zero.
pub const ABS: f32 = 1e-6;

/// The whole fixture.
pub fn fixture() -> Value {
    super::fixture::fixture("nonfinite.json")
}

/// A number of the fixture: NaN and the infinities are the strings "nan", "inf", "-inf".
pub fn num(v: &Value) -> f32 {
    match v.as_str() {
        Some("nan") => f32::NAN,
        Some("inf") => f32::INFINITY,
        Some("-inf") => f32::NEG_INFINITY,
        _ => super::fixture::num(v),
    }
}

/// A flat list of numbers.
pub fn nums(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap_or_else(|| panic!("fixture: {v} is not a list"))
        .iter()
        .map(num)
        .collect()
}

/// Whether `got` is what PyTorch gave: NaN where it gave NaN, the same infinity, or a
/// finite value within `|got − want| ≤ REL·|want| + ABS`.
pub fn same(got: f32, want: f32) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if want.is_infinite() || got.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= ABS + REL * want.abs()
}

/// Adds a line to `wrong` for each element of `got` that is not [`same`] as `want`'s, so
/// that one run lists every difference.
pub fn compare(wrong: &mut Vec<String>, what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if !same(*g, *w) {
            wrong.push(format!("{what}[{i}] = {g}, PyTorch {w}"));
        }
    }
}

/// Panics with every line of `wrong`, if any.
pub fn assert_none(wrong: &[String]) {
    assert!(
        wrong.is_empty(),
        "{} differences from PyTorch:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
