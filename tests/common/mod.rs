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

/// The largest magnitude in `v`: the scale of the terms whose rounding errors an element
/// of a sum carries, which the tests use to set absolute floors.
pub fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

pub mod bits;
pub mod by_hand;
pub mod fixture;
pub mod random;
pub mod scratch;
// After `assert_close!`, which it uses.
pub mod gradcheck;
pub mod graph_parity;
pub mod int8_graph;
pub mod layer_parity;
pub mod nonfinite;
