//! Kernels, apart from the layers that call them: the safe entry to matrix products
//! (`gemm`), the register-tiled product kernels (`tiled`), the one-sample matrix-vector product (`matvec`), the convolution kernels
//! (`conv`), the recurrent layers' step (`recurrent`), reductions (`sum`), and the run-time
//! choice of vector unit (`simd`).
//! A layer of a new family adds its kernels here, one file per kernel.

pub(crate) mod conv;
#[cfg(feature = "alloc")]
pub mod gemm;
mod matvec;
pub(crate) mod recurrent;
#[cfg(feature = "alloc")]
pub(crate) mod simd;
mod sum;
#[cfg(feature = "std")]
mod tiled;

pub(crate) use matvec::matvec;
pub(crate) use sum::lane_sum;
