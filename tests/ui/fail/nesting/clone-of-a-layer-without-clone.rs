// A network that derives `Clone` holds a layer of the user's that is not `Clone`.
use nn::{Backward, Layer, Rng};

struct Halve;
// SAFETY: a zero-sized struct has no bytes.
unsafe impl nn::Zeroable for Halve {}
impl Layer for Halve {
    const IN: usize = 2;
    const OUT: usize = 2;
    const PARAMS: usize = 0;
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result { f.write_str("Halve") }
    fn init(&mut self, _: &mut Rng) {}
    fn forward(&self, x: &[f32], y: &mut [f32]) { y[0] = x[0] / 2.0; y[1] = x[1] / 2.0; }
    fn backward(&self, _: Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}

nn::network! { #[derive(Clone)] struct Net<Linear<2, 2>, Halve> }

fn main() {}
