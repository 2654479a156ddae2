//! Random test data.

use nn::Rng;

/// `n` values drawn uniformly from `[-1, 1)`.
pub fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// `n` rows of `W` values drawn uniformly from `[-1, 1)`.
pub fn rows<const W: usize>(rng: &mut Rng, n: usize) -> Vec<[f32; W]> {
    (0..n)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect()
}
