//! int8 kernels with TFLite Micro's arithmetic, one file per layer family: the fixed-point
//! requantisation (`arith`), the inner product `Linear` and `Conv2d` share
//! (`dot`: portable, AVX2 on x86-64 hosts), fully connected (`linear`; on a batch with
//! AVX-512 VNNI or AVX2, `batched`), convolution (`conv`), depthwise
//! convolution (`depthwise`), pools and the global average (`pool`), the residual add
//! (`add`), and the clamp a ReLU or ReLU6 becomes (`clamp`). On the Cortex-M4/M7's DSP
//! extension, convolutions run as a matrix product of two positions and two channels at a
//! time (`columns`), depthwise 3 × 3 windows two outputs at a time, and a baked `Linear` of up
//! to 256 inputs four rows per pass (`linear_arm`); their assembly is in the `*_arm` files.
//!
//! Each kernel is the portable reference, a loop as short as TFLite Micro's
//! (`reference/integer_ops/`), on one sample in this crate's layouts (images `[C, H, W]`,
//! weights `[out, in, kH, kW]`); integer sums are exact, so the loop order and the layout
//! change no bit. The parameters (multipliers, shifts, ranges) come prepared, see
//! [`crate::int8`]. No heap, no floating point.

mod add;
mod arith;
#[cfg(feature = "alloc")]
mod batched;
mod clamp;
mod columns;
#[cfg(nn_arm_dsp)]
mod columns_arm;
mod conv;
mod depthwise;
#[cfg(nn_arm_dsp)]
mod depthwise_arm;
mod dot;
#[cfg(any(nn_arm_thumb, nn_arm_dsp))]
mod dot_arm;
mod linear;
#[cfg(nn_arm_dsp)]
mod linear_arm;
mod pool;

pub use add::add;
pub(crate) use arith::Rescale;
#[cfg(nn_arm_dsp)]
pub(crate) use arith::Rescales;
pub use arith::{
    multiply_by_quantized_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};
#[cfg(feature = "alloc")]
pub(crate) use batched::{linear_batch, scale_channels_batch, BatchScratch, PackedLinear};
pub use clamp::clamp;
pub use conv::{conv2d, Conv2dShape, Padding};
pub use depthwise::depthwise_conv2d;
pub use linear::linear;
#[cfg(nn_arm_dsp)]
pub(crate) use linear_arm::{interleave, linear_packed, packs};
pub use pool::{avg_pool2d, global_avg_pool, max_pool2d, Pool2dShape};
