//! Kernels, apart from the layers that call them: the safe entry to matrix products
//! (`gemm`), the register-tiled product kernels (`tiled`), the one-sample matrix-vector
//! product (`matvec`), the convolution kernels (`conv`), the recurrent layers' step
//! (`recurrent`), reductions (`sum`), the run-time choice of vector unit (`simd`),
//! elementwise passes split over threads (`parts`), a branch-free `log` and `log1p` (`log`),
//! and TFLite Micro's int8 arithmetic and kernels (`int8`).
//! A layer of a new family adds its kernels here, one file per kernel.

pub(crate) mod batch_norm2d;
pub(crate) mod conv;
#[cfg(feature = "alloc")]
pub mod gemm;
pub(crate) mod int8;
#[cfg(feature = "alloc")]
pub(crate) mod log;
mod matvec;
pub(crate) mod parts;
pub(crate) mod recurrent;
#[cfg(feature = "alloc")]
pub(crate) mod simd;
mod sum;
#[cfg(feature = "std")]
mod tiled;

pub(crate) use matvec::{matvec, matvec_body};
pub(crate) use sum::lane_sum;
