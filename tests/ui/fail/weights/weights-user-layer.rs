// A layer of the user's own has no `Bake` impl: its weights cannot be baked in.
#[derive(Clone, Copy)]
struct Scale([f32; 3]);
// SAFETY: an all-zero `[f32; 3]` is a valid value.
unsafe impl nn::Zeroable for Scale {}
impl nn::Layer for Scale {
    const IN: usize = 3;
    const OUT: usize = 3;
    const PARAMS: usize = 3;
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result { f.write_str("Scale") }
    fn init(&mut self, _: &mut nn::Rng) {}
    fn forward(&self, x: &[f32], y: &mut [f32]) { y.copy_from_slice(x) }
    fn backward(&self, _: nn::Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}
nn::network! {
    #[weights("tests/ui/weights/tiny.safetensors")]
    struct Net<Linear<2, 3>, Scale, Linear<3, 1>>
}

fn main() {}
