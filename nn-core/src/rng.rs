//! The seeded random source used for initialisation and shuffling.

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg32;

/// A seeded, reproducible random number generator (PCG32).
///
/// The same seed gives the same sequence on every platform, so the same seed gives
/// bit-identical initial weights.
///
/// ```
/// use nn::Rng;
/// let mut a = Rng::seed(7);
/// let mut b = Rng::seed(7);
/// assert_eq!(a.uniform(-1.0, 1.0), b.uniform(-1.0, 1.0));
/// ```
#[derive(Clone, Debug)]
pub struct Rng {
    pcg: Pcg32,
    /// The seed and the draws since, which together are the generator's state and can
    /// be saved ([`Rng::position`]).
    seed: u64,
    draws: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn seed(seed: u64) -> Self {
        Rng {
            pcg: Pcg32::seed_from_u64(seed),
            seed,
            draws: 0,
        }
    }

    /// The seed, and the 32-bit draws made since: everything [`Rng::resume`] needs to
    /// continue the sequence, for a checkpoint.
    pub fn position(&self) -> (u64, u64) {
        (self.seed, self.draws)
    }

    /// The generator `Rng::seed(seed)` becomes after `draws` draws, reached by jumping
    /// ahead (in about 64 steps, however many draws).
    ///
    /// ```
    /// use nn::Rng;
    /// let mut a = Rng::seed(5);
    /// for _ in 0..1000 { a.next_u32(); }
    /// let mut b = Rng::resume(5, 1000);
    /// assert_eq!(a.next_u32(), b.next_u32());
    /// assert_eq!(b.position(), (5, 1001));
    /// ```
    pub fn resume(seed: u64, draws: u64) -> Self {
        let mut rng = Rng::seed(seed);
        // Each draw is one step of PCG's underlying generator.
        rng.pcg.advance(draws);
        rng.draws = draws;
        rng
    }

    /// The next raw 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.draws = self.draws.wrapping_add(1);
        self.pcg.next_u32()
    }

    /// A float drawn uniformly from `[lo, hi)`.
    ///
    /// ```
    /// let x = nn::Rng::seed(1).uniform(2.0, 3.0);
    /// assert!((2.0..3.0).contains(&x));
    /// ```
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        // 24 random bits fill an f32 mantissa exactly, so every value is representable.
        let unit = (self.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32);
        lo + (hi - lo) * unit
    }

    /// A float drawn from the standard normal distribution, PyTorch's `torch.randn`:
    /// the Box–Muller transform of two 32-bit draws (in double precision, then rounded), so
    /// the same seed gives the same values on every platform. Its magnitude is at most
    /// `√(2 · 32 · ln 2)` ≈ 6.66, which the finest `u₁ = 2⁻³²` gives.
    ///
    /// ```
    /// let mut rng = nn::Rng::seed(0);
    /// let z: Vec<f32> = (0..1000).map(|_| rng.randn()).collect();
    /// let mean = z.iter().sum::<f32>() / 1000.0;
    /// assert!(mean.abs() < 0.2); // 6 standard errors (1 / √1000 each)
    /// assert_eq!(rng.position(), (0, 2000)); // two draws a value
    /// ```
    pub fn randn(&mut self) -> f32 {
        // u₁ in (0, 1], so that its log is finite; u₂ in [0, 1).
        let u1 = (self.next_u32() as f64 + 1.0) * (1.0 / 4_294_967_296.0);
        let u2 = self.next_u32() as f64 * (1.0 / 4_294_967_296.0);
        // Only the cosine of the pair: a spare sine value would be state that
        // `position` and `resume` do not hold.
        (libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(core::f64::consts::TAU * u2)) as f32
    }

    /// A float drawn from the normal distribution of mean `mean` and standard deviation
    /// `std`, PyTorch's `tensor.normal_(mean, std)`: `mean + std · randn()`.
    ///
    /// ```
    /// let mut a = nn::Rng::seed(4);
    /// let mut b = nn::Rng::seed(4);
    /// assert_eq!(a.normal(1.0, 0.5), 1.0 + 0.5 * b.randn());
    /// ```
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        mean + std * self.randn()
    }

    /// An index drawn uniformly from `0..n` (`n` at most `u32::MAX`).
    ///
    /// ```
    /// assert!(nn::Rng::seed(3).below(10) < 10);
    /// ```
    pub fn below(&mut self, n: usize) -> usize {
        // Lemire's multiply-shift: unbiased enough for shuffling, with no division.
        ((self.next_u32() as u64 * n as u64) >> 32) as usize
    }

    /// Shuffles `items` in place (Fisher-Yates).
    ///
    /// ```
    /// let mut v = [1, 2, 3, 4];
    /// nn::Rng::seed(0).shuffle(&mut v);
    /// v.sort();
    /// assert_eq!(v, [1, 2, 3, 4]);
    /// ```
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
