// `nn::parameters!()` forwards to what the derive writes.
use nn::{Backward, Layer, Rng};

#[derive(Clone, Copy)]
struct Scale {
    weight: [f32; 2],
}
// SAFETY: an all-zero `[f32; 2]` is a valid value.
unsafe impl nn::Zeroable for Scale {}

impl Layer for Scale {
    const IN: usize = 2;
    const OUT: usize = 2;
    nn::parameters!();
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Scale")
    }
    fn init(&mut self, _: &mut Rng) {}
    fn forward(&self, _: &[f32], _: &mut [f32]) {}
    fn backward(&self, _: Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}

fn main() {}
