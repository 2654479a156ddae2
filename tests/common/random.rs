//! Random test data.

use nn::Rng;

/// `n` values drawn uniformly from `[-1, 1)`.
pub fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}
