//! Normalisation layers: [`BatchNorm`] over features and [`BatchNorm2d`] over image
//! channels, and [`LayerNorm`].
//!
//! The two batch norms hold the same state per feature or channel (PyTorch's `weight`,
//! `bias`, `running_mean`, `running_var`, `num_batches_tracked`), initialised, visited and
//! used in evaluation the same way: that part is written once, in `batch_norm_state!`.

/// The items a batch norm over `$c` features or channels shares, whatever its rank: in
/// `impl Layer`, `init` and the four visitors (`layer`); in the inherent impl, the
/// evaluation-mode affine map (`inherent`).
macro_rules! batch_norm_state {
    (layer $c:ident) => {
        fn init(&mut self, _rng: &mut $crate::Rng) {
            self.weight = [1.0; $c];
            self.bias = [0.0; $c];
            self.running_mean = [0.0; $c];
            self.running_var = [1.0; $c];
            self.num_batches_tracked = 0;
        }

        fn visit_params(&self, f: &mut $crate::ParamVisitor<'_>) {
            f("weight", &[$c], &self.weight);
            f("bias", &[$c], &self.bias);
        }

        fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
            f("weight", &mut self.weight);
            f("bias", &mut self.bias);
        }

        fn visit_buffers(&self, f: &mut $crate::BufferVisitor<'_>) {
            use $crate::Buffer;
            f("running_mean", &[$c], Buffer::F32(&self.running_mean));
            f("running_var", &[$c], Buffer::F32(&self.running_var));
            f(
                "num_batches_tracked",
                &[],
                Buffer::Count(self.num_batches_tracked),
            );
        }

        fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&'static str, $crate::BufferMut<'_>)) {
            use $crate::BufferMut;
            f("running_mean", BufferMut::F32(&mut self.running_mean));
            f("running_var", BufferMut::F32(&mut self.running_var));
            f(
                "num_batches_tracked",
                BufferMut::Count(&mut self.num_batches_tracked),
            );
        }
    };
    (inherent) => {
        /// Added to the variance before its square root, as in PyTorch.
        pub const EPS: f32 = 1e-5;
        /// The weight of the newest batch in the running statistics, as in PyTorch.
        pub const MOMENTUM: f32 = 0.1;

        /// Per-feature or per-channel `(scale, shift)`, so that inference is
        /// `y = x * scale + shift`.
        fn eval_affine(&self, c: usize) -> (f32, f32) {
            let s = self.weight[c] / libm::sqrtf(self.running_var[c] + Self::EPS);
            (s, self.bias[c] - self.running_mean[c] * s)
        }
    };
}

mod batch;
mod batch2d;
mod layer;

pub use batch::BatchNorm;
pub use batch2d::BatchNorm2d;
pub use layer::LayerNorm;
