// Image layers after a layer of the user's that says what image it produces, and after a
// network declared with `#[input]`: the sides flow on, and the summary shows them.
struct Swish;
// SAFETY: a zero-sized struct has no bytes.
unsafe impl nn::Zeroable for Swish {}
impl nn::Layer for Swish {
    const IN: usize = 8 * 6 * 6; const OUT: usize = 8 * 6 * 6; const PARAMS: usize = 0;
    const OUT_IMAGE: Option<[usize; 3]> = Some([8, 6, 6]);
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result { f.write_str("Swish") }
    fn init(&mut self, _: &mut nn::Rng) {}
    fn forward(&self, x: &[f32], y: &mut [f32]) { y.copy_from_slice(x) }
    fn backward(&self, _: nn::Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}
nn::network! { #[input(8, 6, 6)] pub struct Block<Conv2d<8, 4, 3, padding = 1>, ReLU> }
nn::network! { #[input(1, 8, 8)] struct Net<Conv2d<1, 8, 3>, Swish, Block, MaxPool2d<2>, Flatten, Linear<36, 10>> }

fn main() {
    let _: [f32; 10] = Net::new(0).forward(&[0.5; 64]);
    assert!(Net::summary().to_string().contains("[batch, 4, 6, 6]"));
}
