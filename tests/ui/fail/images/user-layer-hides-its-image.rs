// A layer of the user's given an image, followed by a pool: it does not say what image it
// produces (`Layer::OUT_IMAGE`), so the pool cannot know its sides.
struct Swish;
// SAFETY: a zero-sized struct has no bytes.
unsafe impl nn::Zeroable for Swish {}
impl nn::Layer for Swish {
    const IN: usize = 8 * 6 * 6; const OUT: usize = 8 * 6 * 6; const PARAMS: usize = 0;
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result { f.write_str("Swish") }
    fn init(&mut self, _: &mut nn::Rng) {}
    fn forward(&self, x: &[f32], y: &mut [f32]) { y.copy_from_slice(x) }
    fn backward(&self, _: nn::Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}
nn::network! { #[input(1, 8, 8)] struct Net<Conv2d<1, 8, 3>, Swish, MaxPool2d<2>, Flatten, Linear<72, 10>> }

fn main() {}
