// A refused network whose output width is its last layer's, a layer of the user's: code that
// uses its output adds no "type annotations needed" to the one error on the declaration.
struct Custom;
// SAFETY: a zero-sized struct has no bytes.
unsafe impl nn::Zeroable for Custom {}
impl nn::Layer for Custom {
    const IN: usize = 10; const OUT: usize = 10; const PARAMS: usize = 0;
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result { f.write_str("Custom") }
    fn init(&mut self, _: &mut nn::Rng) {}
    fn forward(&self, x: &[f32], y: &mut [f32]) { y[..10].copy_from_slice(&x[..10]) }
    fn backward(&self, _: nn::Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}
nn::network! { pub struct Net<Conv2d<1, 8, 3>, ReLU, Flatten, Linear<5408, 10>, Custom> }

fn main() {
    let out = Net::new(0).predict(&vec![[0.5f32; 784]; 4]);
    let _ = nn::metrics::accuracy(out.as_flattened(), 10, &[1, 2, 3, 4]);
}
