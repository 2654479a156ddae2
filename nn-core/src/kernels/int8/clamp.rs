//! ReLU and ReLU6 on int8 values: a clamp to the range [`Output::new`] gives.
//!
//! [`Output::new`]: crate::int8::Output::new

use crate::int8::Output;

/// Clamps every value to `[out.min, out.max]` in place (the zero point is not added: a
/// standalone activation keeps its input's quantisation).
///
/// ```
/// use nn::int8::{clamp, Activation, Output};
/// let mut x = [-100i8, -3, 50];
/// clamp(&mut x, Output::new(0.1, -5, Activation::Relu));
/// assert_eq!(x, [-5, -3, 50]);
/// ```
pub fn clamp(values: &mut [i8], out: Output) {
    for v in values {
        *v = (*v as i32).clamp(out.min, out.max) as i8;
    }
}
