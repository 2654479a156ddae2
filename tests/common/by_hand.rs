//! Layers called one at a time, one sample each, to compose a network's forward by hand.

use nn::Layer;

/// `layer`'s one-sample forward of `x`.
pub fn call<L: Layer>(layer: &L, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; L::OUT];
    layer.forward(x, &mut y);
    y
}

/// The one-sample forward of `x` through a layer without state (`ReLU<8>`, `Tanh<4>`).
pub fn stateless<L: Layer>(x: &[f32]) -> Vec<f32> {
    call(&L::zeroed(), x)
}
