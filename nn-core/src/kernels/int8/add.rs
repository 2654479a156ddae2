//! The residual add, TFLite Micro's int8 `ADD` (inputs of the same shape).

use crate::int8::AddParams;

/// `output[i] = clamp(zp_out + r_out(r_1((a[i] − zp_1) · 2^20) + r_2((b[i] − zp_2) · 2^20)))`,
/// the parameters prepared by [`AddParams::new`].
///
/// # Panics
/// If the three slices differ in length.
pub fn add(a: &[i8], b: &[i8], p: &AddParams, output: &mut [i8]) {
    assert!(a.len() == b.len() && a.len() == output.len(), "lengths");
    for ((y, &x1), &x2) in output.iter_mut().zip(a).zip(b) {
        let s1 = p
            .input1
            .apply((x1 as i32 + p.input1_offset) << p.left_shift);
        let s2 = p
            .input2
            .apply((x2 as i32 + p.input2_offset) << p.left_shift);
        *y = p.out.write(p.output.apply(s1 + s2));
    }
}
