// A user's own layer works in `network!` like a built-in one.
use nn::{Backward, Layer, Rng};

#[derive(Clone, Copy)]
struct Double<const N: usize>;
// SAFETY: a zero-sized struct has no bytes.
unsafe impl<const N: usize> nn::Zeroable for Double<N> {}

impl<const N: usize> Layer for Double<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Double<{N}>")
    }
    fn init(&mut self, _: &mut Rng) {}
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = 2.0 * x;
        }
    }
    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _: &mut [f32]) {
        if let Some(dx) = dx {
            for (dx, dy) in dx.iter_mut().zip(io.dy) {
                *dx = 2.0 * dy;
            }
        }
    }
}

nn::network! { struct Net<Linear<4, 8>, Double<8>, ReLU, Linear<8, 2>> }

fn main() {
    let net = Net::new(0);
    let mut expect = [0.0; 2];
    let mut h = [0.0; 8];
    net.0.forward(&[1.0, 2.0, 3.0, 4.0], &mut h);
    let h2: Vec<f32> = h.iter().map(|v| (2.0 * v).max(0.0)).collect();
    net.3.forward(&h2, &mut expect);
    assert_eq!(net.forward(&[1.0, 2.0, 3.0, 4.0]), expect);
    assert!(Net::summary().to_string().contains("Double<8>"));
}
