// A user's own layer whose input size differs from the output of the layer before it.
use nn::{Backward, Layer, Rng};

#[derive(Clone, Copy)]
struct Halve;
// SAFETY: a unit struct has no bytes.
unsafe impl nn::Zeroable for Halve {}

impl Layer for Halve {
    const IN: usize = 32;
    const OUT: usize = 16;
    const PARAMS: usize = 0;
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result { f.write_str("Halve") }
    fn init(&mut self, _: &mut Rng) {}
    fn forward(&self, _: &[f32], _: &mut [f32]) {}
    fn backward(&self, _: Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}

nn::network! { struct Net<Linear<784, 128>, Halve, Linear<16, 10>> }

fn main() {}
