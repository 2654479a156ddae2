//! The `macro_rules!` helpers the layers share, declared before the modules that use them.

/// Implements `Clone` for a layer holding arrays, with a `clone_from` that copies each field
/// in place: a network's clone fills a new network on the heap field by field, and a large
/// layer (a `Linear<4096, 768>` is 12 MB) must never pass through the stack on the way.
macro_rules! clone_in_place {
    ($ty:ident<$(const $p:ident: $t:ty),*> { $($field:ident),* }) => {
        impl<$(const $p: $t),*> Clone for $ty<$($p),*> {
            fn clone(&self) -> Self {
                $ty { $($field: self.$field.clone()),* }
            }

            fn clone_from(&mut self, source: &Self) {
                // Arrays clone from a slice, element by element, in place.
                $(self.$field.clone_from(&source.$field);)*
            }
        }
    };
}

/// Implements `Zeroable` and an identity `Layer` (no parameters, output = input, input
/// gradient = output gradient) for the zero-sized `$ty<N>`, described as `$name`.
macro_rules! identity_layer {
    ($ty:ident, $name:literal) => {
        // SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
        unsafe impl<const N: usize> bytemuck::Zeroable for $ty<N> {}

        #[diagnostic::do_not_recommend]
        impl<const N: usize> $crate::Layer for $ty<N> {
            const IN: usize = N;
            const OUT: usize = N;
            const PARAMS: usize = 0;
            const IN_PLACE: bool = true;

            fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str($name)
            }

            fn init(&mut self, _rng: &mut $crate::Rng) {}

            fn forward(&self, x: &[f32], y: &mut [f32]) {
                y[..N].copy_from_slice(&x[..N]);
            }

            fn forward_in_place(&self, _xy: &mut [f32]) {}

            #[cfg(feature = "alloc")]
            fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
                y[..batch * N].copy_from_slice(&x[..batch * N]);
            }

            fn backward(
                &self,
                io: $crate::Backward<'_>,
                dx: Option<&mut [f32]>,
                _grad: &mut [f32],
            ) {
                if let Some(dx) = dx {
                    let n = io.batch * N;
                    dx[..n].copy_from_slice(&io.dy[..n]);
                }
            }
        }
    };
}
