//! A layer of the user's whose visitors name `weight` twice and `bias` never: the count
//! of values visited is right, the names are not.

use nn::{Layer, ParamVisitor, Rng};

#[derive(Clone, Copy)]
pub struct VisitsTwice {
    pub weight: f32,
    pub bias: f32,
}
// SAFETY: an all-zero `f32` is a valid value (0.0).
unsafe impl nn::Zeroable for VisitsTwice {}
impl Layer for VisitsTwice {
    const IN: usize = 1;
    const OUT: usize = 1;
    const PARAMS: usize = 2;
    fn describe(f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitsTwice")
    }
    fn init(&mut self, _: &mut Rng) {
        self.weight = 1.0;
    }
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        y[0] = x[0] * self.weight + self.bias;
    }
    fn backward(&self, _: nn::Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
    fn visit_params(&self, f: &mut ParamVisitor<'_>) {
        f("weight", &[1], std::slice::from_ref(&self.weight));
        f("weight", &[1], std::slice::from_ref(&self.weight));
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        f("weight", std::slice::from_mut(&mut self.weight));
        f("weight", std::slice::from_mut(&mut self.weight));
    }
}
