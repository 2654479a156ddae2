//! `Residual<B>`: a block whose output is added to its input, as `x + block(x)`.

use core::fmt;

#[cfg(feature = "alloc")]
use crate::TrainError;
use crate::{
    Backward, BufferMut, BufferVisitor, Layer, LayerInfo, NetworkParamVisitor, ParamVisitor, Path,
    Rng, StateVisitor, StateVisitorMut,
};

/// A residual block: PyTorch's module whose `forward` is `x + block(x)`. The block keeps
/// its width, which `network!` checks at compile time. Its state-dict names are the
/// block's own, under the residual's name (`res1.fc1.weight`).
///
/// In `network!`, `Residual<Block>` wraps a network or a layer, and
/// `Residual<Linear<32, 32>, ReLU, Linear<32, 32>>` an inline sequence of layers (named
/// `res.0.weight`, ..., as an `nn.Sequential` inside).
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`, where `N` is the block's width.
///
/// ```
/// use nn::{Layer, Residual, Identity};
/// let block = Residual(Identity::<2>);
/// let mut y = [0.0; 2];
/// block.forward(&[1.0, 2.0], &mut y);
/// assert_eq!(y, [2.0, 4.0]); // x + identity(x)
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Residual<B>(pub B);

// SAFETY: a one-field wrapper of `B`, which is `Zeroable` (every `Layer` is).
unsafe impl<B: bytemuck::Zeroable> bytemuck::Zeroable for Residual<B> {}

fn add_into(y: &mut [f32], x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += x;
    }
}

#[diagnostic::do_not_recommend]
impl<B: Layer> Layer for Residual<B> {
    const IN: usize = B::IN;
    const OUT: usize = B::OUT;
    const IN_IMAGE: Option<[usize; 3]> = B::IN_IMAGE;
    const OUT_IMAGE: Option<[usize; 3]> = B::OUT_IMAGE;
    const PARAMS: usize = B::PARAMS;
    const MACS: usize = B::MACS;
    const LAYERS: &'static [LayerInfo] = B::LAYERS;
    const FORWARD: Option<&'static crate::Forward> = B::FORWARD;
    const ACTIVATIONS: usize = B::ACTIVATIONS;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Residual<")?;
        B::describe(f)?;
        f.write_str(">")
    }

    fn init(&mut self, rng: &mut Rng) {
        self.0.init(rng);
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        self.0.forward(x, y);
        add_into(&mut y[..B::OUT], &x[..B::IN]);
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, cache: &mut [f32]) {
        let (_, cache) = cache.split_at_mut(batch * B::OUT);
        self.0.forward_batch(x, y, batch, cache);
        add_into(&mut y[..batch * B::OUT], &x[..batch * B::IN]);
    }

    /// The block's output before the addition (what the block's backward reads), then
    /// the block's cache.
    fn cache_len(batch: usize) -> usize {
        batch * B::OUT + B::cache_len(batch)
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), TrainError> {
        let n = batch * B::OUT;
        let (out, cache) = cache.split_at_mut(n);
        self.0.forward_train(x, out, batch, cache)?;
        // The block's own output stays in the cache for its backward pass.
        for ((y, o), x) in y[..n].iter_mut().zip(&*out).zip(&x[..batch * B::IN]) {
            *y = o + x;
        }
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, mut dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let n = io.batch * B::OUT;
        let (out, cache) = io.cache.split_at_mut(n);
        let inner = Backward {
            x: io.x,
            y: out,
            dy: io.dy,
            batch: io.batch,
            cache,
        };
        self.0.backward(inner, dx.as_deref_mut(), grad);
        // The gradient also goes around the block, straight to its input.
        if let Some(dx) = dx {
            add_into(&mut dx[..n], &io.dy[..n]);
        }
    }

    fn visit_params(&self, f: &mut ParamVisitor<'_>) {
        self.0.visit_params(f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        self.0.visit_params_mut(f);
    }

    fn visit_buffers(&self, f: &mut BufferVisitor<'_>) {
        self.0.visit_buffers(f);
    }

    fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&'static str, BufferMut<'_>)) {
        self.0.visit_buffers_mut(f);
    }

    fn walk_params(&self, path: &Path<'_>, f: &mut NetworkParamVisitor<'_>) {
        self.0.walk_params(path, f);
    }

    fn walk_params_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        self.0.walk_params_mut(f);
    }

    fn walk_state(&self, path: &Path<'_>, f: &mut StateVisitor<'_>) {
        self.0.walk_state(path, f);
    }

    fn walk_state_mut(&mut self, path: &Path<'_>, f: &mut StateVisitorMut<'_>) {
        self.0.walk_state_mut(path, f);
    }

    fn walk_streams(&self, f: &mut dyn FnMut(u64, u64)) {
        self.0.walk_streams(f);
    }

    fn walk_streams_mut(&mut self, f: &mut dyn FnMut(&mut u64, &mut u64)) {
        self.0.walk_streams_mut(f);
    }
}
