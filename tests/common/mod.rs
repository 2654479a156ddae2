//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// Asserts that two float slices agree element by element within
/// `|a - b| <= rel * |b| + abs`, naming the first element that does not.
///
/// Every caller states both tolerances explicitly, and says why they are what they are.
#[macro_export]
macro_rules! assert_close {
    ($got:expr, $want:expr, rel = $rel:expr, abs = $abs:expr $(, $($ctx:tt)+)?) => {{
        let got: &[f32] = &$got[..];
        let want: &[f32] = &$want[..];
        let ctx: String = String::new() $(+ &format!($($ctx)+))?;
        assert_eq!(got.len(), want.len(), "length differs {ctx}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let tol = ($rel as f64) * (*w as f64).abs() + ($abs as f64);
            let diff = (*g as f64 - *w as f64).abs();
            assert!(
                diff <= tol && g.is_finite() == w.is_finite(),
                "element {i}: got {g}, want {w} (diff {diff:e} > tolerance {tol:e}) {ctx}"
            );
        }
    }};
}

/// Decodes base64 text of a fixture (standard alphabet, padded), as the fixture scripts
/// write it with Python's `base64.b64encode`.
pub fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("fixture: invalid base64: {e}"))
}

/// The entry of a fixture list whose `name` is `name`.
pub fn named<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name:?} in the fixture"))
}

/// The largest magnitude in `v`: the scale of the terms whose rounding errors an element
/// of a sum carries, which the tests use to set absolute floors.
pub fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

// After `assert_close!`, which it uses.
pub mod gradcheck;
pub mod nonfinite;
