//! `Dropout<N, P>`: PyTorch's `nn.Dropout(p)` on `[batch, N]` inputs.

use core::fmt;

#[cfg(feature = "alloc")]
use crate::TrainError;
use crate::{Backward, Layer, Rng};

/// The bits of PyTorch's default dropout probability, 0.5: `Dropout<N>`'s default.
pub const DROPOUT_P: u32 = 0.5f32.to_bits();

/// Inverted dropout, as PyTorch's `nn.Dropout(p)`: in a training pass each element is
/// zeroed with probability `p` and the others are scaled by `1/(1 − p)`; inference is the
/// identity. `P` holds `p`'s bits (`f32::to_bits`), by default PyTorch's 0.5. In
/// `network!`: `Dropout` or `Dropout<0.1>`; in Rust, `Dropout<N, { 0.1f32.to_bits() }>`.
///
/// Which method runs decides the mode, as for batch norm: only
/// [`Layer::forward_train`] drops anything.
///
/// # Randomness
/// The masks are seeded and reproducible. `init` (so `Net::new(seed)`) draws the layer's
/// [`seed`](Self::seed) from the network's seed, so that two dropout layers in one network
/// drop independently; each training pass then draws its mask from `(seed, step)` with a
/// counter-based generator (SplitMix64 over the element index) and advances
/// [`step`](Self::step). The same seed and the same sequence of passes give the same masks
/// on every platform. The seed lives in the layer rather than in the tape, because the tape
/// is scratch space: a new tape, or one resized for a larger batch, would restart the
/// sequence, and the tape cannot tell two dropout layers of the same width apart.
///
/// The training pass writes the mask it applied into its cache (`1/(1 − p)` for a kept
/// element, 0 for a dropped one, row-major `[batch, N]`), and the backward pass multiplies
/// by that same mask: the two cannot disagree.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters (the seed and step are not in the
/// state dict, as PyTorch's dropout has none).
///
/// ```
/// use nn::{Dropout, Layer, Rng};
/// let mut d: Dropout<1000> = nn::Zeroable::zeroed();
/// d.init(&mut Rng::seed(0));
/// let x = [1.0; 1000];
/// let (mut y, mut mask) = ([0.0; 1000], [0.0; 1000]);
/// d.forward(&x, &mut y); // inference: the identity
/// assert_eq!(y, x);
/// d.forward_train(&x, &mut y, 1, &mut mask).unwrap();
/// assert!(y.iter().all(|v| *v == 0.0 || *v == 2.0)); // p = 0.5: kept ones doubled
/// let kept = y.iter().filter(|v| **v != 0.0).count();
/// assert!((400..600).contains(&kept));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Dropout<const N: usize, const P: u32 = DROPOUT_P> {
    /// The seed of this layer's masks; `init` draws it from the network's seed.
    pub seed: u64,
    /// Training passes run so far: the mask of a pass is drawn from `(seed, step)`.
    pub step: u64,
}

// SAFETY: the fields are `u64`s, for which all-zero bits are the valid value 0.
unsafe impl<const N: usize, const P: u32> bytemuck::Zeroable for Dropout<N, P> {}

// The mask generator: training only, so only with `alloc`.

/// SplitMix64's increment, the golden ratio in 64 bits.
#[cfg(feature = "alloc")]
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a bijection on `u64` that mixes every bit into every other.
#[cfg(feature = "alloc")]
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<const N: usize, const P: u32> Dropout<N, P> {
    /// The probability of zeroing an element.
    pub const P: f32 = f32::from_bits(P);
    /// The factor applied to kept elements, `1/(1 − p)` (0 when `p = 1`: nothing is kept).
    pub const SCALE: f32 = if Self::P < 1.0 {
        1.0 / (1.0 - Self::P)
    } else {
        0.0
    };

    /// Fills `mask` with the mask of training pass `step` of a layer seeded `seed`: each
    /// element is [`Self::SCALE`] with probability `1 − p`, else 0.
    #[cfg(feature = "alloc")]
    fn mask(seed: u64, step: u64, mask: &mut [f32]) {
        // One SplitMix64 stream per (seed, step), indexed by the element: a counter-based
        // generator, so any element's draw is known without the ones before it.
        let stream = mix(mix(seed) ^ step.wrapping_mul(GOLDEN));
        for (i, m) in mask.iter_mut().enumerate() {
            let z = mix(stream.wrapping_add((i as u64).wrapping_add(1).wrapping_mul(GOLDEN)));
            // 24 random bits: a uniform draw from [0, 1) that f32 holds exactly.
            let u = (z >> 40) as f32 * (1.0 / (1u32 << 24) as f32);
            *m = if u < Self::P { 0.0 } else { Self::SCALE };
        }
    }
}

#[diagnostic::do_not_recommend]
impl<const N: usize, const P: u32> Layer for Dropout<N, P> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;
    const IN_PLACE: bool = true;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Dropout")?;
        if P != DROPOUT_P {
            // `{:?}` keeps the decimal point (`1.0`, not `1`), as `network!` wants it.
            write!(f, "<{:?}>", Self::P)?;
        }
        Ok(())
    }

    fn init(&mut self, rng: &mut Rng) {
        self.seed = (u64::from(rng.next_u32()) << 32) | u64::from(rng.next_u32());
        self.step = 0;
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        y[..N].copy_from_slice(&x[..N]);
    }

    fn forward_in_place(&self, _xy: &mut [f32]) {}

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        y[..batch * N].copy_from_slice(&x[..batch * N]);
    }

    fn cache_len(batch: usize) -> usize {
        batch * N // the mask applied, per element
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), TrainError> {
        let n = batch * N;
        let mask = &mut cache[..n];
        Self::mask(self.seed, self.step, mask);
        self.step = self.step.wrapping_add(1);
        for ((y, x), m) in y[..n].iter_mut().zip(&x[..n]).zip(mask.iter()) {
            *y = x * m;
        }
        Ok(())
    }

    fn walk_streams(&self, f: &mut dyn FnMut(u64, u64)) {
        f(self.seed, self.step);
    }

    fn walk_streams_mut(&mut self, f: &mut dyn FnMut(&mut u64, &mut u64)) {
        f(&mut self.seed, &mut self.step);
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        if let Some(dx) = dx {
            let n = io.batch * N;
            for ((dx, dy), m) in dx[..n].iter_mut().zip(&io.dy[..n]).zip(&io.cache[..n]) {
                *dx = dy * m;
            }
        }
    }
}
