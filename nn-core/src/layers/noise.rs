//! `RandnLike<N>`: PyTorch's `torch.randn_like(x)` in a forward written as code, the
//! noise of a variational autoencoder's reparameterisation.

use core::fmt;

#[cfg(feature = "alloc")]
use crate::TrainError;
use crate::{Backward, Layer, Rng};

/// Standard normal noise of its input's shape, `[batch, N]`: `torch.randn_like(x)`. Only
/// its input's shape is read, never its values, so no gradient flows back through it.
///
/// Like [`crate::Dropout`], it draws only in training: each training pass draws from a
/// generator seeded by the layer's seed (drawn from the network's at initialisation) and
/// a step count, so that a run is reproducible. In inference (one sample or a batch) it
/// gives zeros, the noise's mean: a variational autoencoder then decodes its mean `mu`.
/// A network whose forward calls `randn_like(std)` holds one of these per call, with no
/// state-dict entry.
///
/// ```
/// use nn::{Layer, RandnLike};
/// let mut y = [1.0; 4];
/// RandnLike::<4>::default().forward(&[3.0; 4], &mut y);
/// assert_eq!(y, [0.0; 4]); // inference: the mean
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct RandnLike<const N: usize> {
    /// The seed of this layer's draws, set by [`Layer::init`].
    pub seed: u64,
    /// Training passes so far; each draws anew.
    pub step: u64,
}

// SAFETY: the fields are `u64`s, for which all-zero bits are the valid value 0.
unsafe impl<const N: usize> bytemuck::Zeroable for RandnLike<N> {}

#[diagnostic::do_not_recommend]
impl<const N: usize> Layer for RandnLike<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("randn_like")
    }

    fn init(&mut self, rng: &mut Rng) {
        self.seed = (u64::from(rng.next_u32()) << 32) | u64::from(rng.next_u32());
        self.step = 0;
    }

    fn forward(&self, _x: &[f32], y: &mut [f32]) {
        y[..N].fill(0.0);
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, _x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        y[..batch * N].fill(0.0);
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        _x: &[f32],
        y: &mut [f32],
        batch: usize,
        _cache: &mut [f32],
    ) -> Result<(), TrainError> {
        // One stream per (seed, step), as dropout's masks.
        let mut rng = Rng::seed(self.seed ^ self.step.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for v in &mut y[..batch * N] {
            *v = rng.randn();
        }
        self.step = self.step.wrapping_add(1);
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
            dx[..io.batch * N].fill(0.0);
        }
    }
}
