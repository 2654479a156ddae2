//! Convolution kernels: the geometry of a convolution and the patch-matrix loops over it
//! (`im2col`), the register-tiled one-sample kernel (`direct`, AVX2 with FMA), and the
//! transposed convolution's loops over the geometry of its adjoint (`transpose`), and the 1-D
//! convolution's forward pass with its causal one-step form (`conv1d`).

pub(crate) mod conv1d;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub(crate) mod direct;
pub(crate) mod grouped;
pub(crate) mod im2col;
#[cfg(feature = "std")]
pub(crate) mod shifted;
pub(crate) mod transpose;

use im2col::Geom;

/// A convolution's geometry as a constant of its type, so that the loops generic over it
/// see every size (and, compiled for the widest vector unit by [`crate::kernels::simd::vectorized`],
/// keep seeing them).
pub(crate) trait Shape {
    const GEOM: Geom;
}
