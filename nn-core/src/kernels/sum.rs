//! Reductions shared by the layers.

/// The sum of `v`, over 16 lanes so that it vectorises: element `i` of the first
/// `16 ⌊len / 16⌋` to lane `i mod 16`, the lanes added in order, then the rest in order.
#[inline]
pub(crate) fn lane_sum(v: &[f32]) -> f32 {
    let (chunks, tail) = v.as_chunks::<16>();
    let mut acc = [0.0f32; 16];
    for c in chunks {
        for i in 0..16 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
}
