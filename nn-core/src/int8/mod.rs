//! int8 inference with TensorFlow Lite Micro's arithmetic, bit for bit.
//!
//! Weights are int8 and symmetric, one scale per output channel; biases int32 at the scale
//! `s_in · s_w`; activations int8 with a scale and a zero point per tensor. A layer's int32
//! accumulator is requantised by a fixed-point multiplier and shift ([`Requant`], prepared
//! once from the scales as TFLite's `QuantizeMultiplier`), then the output zero point is
//! added and the result clamped ([`Output`], which also holds a fused ReLU or ReLU6).
//!
//! The kernels ([`linear`], [`conv2d`], [`depthwise_conv2d`], [`max_pool2d`],
//! [`avg_pool2d`], [`global_avg_pool`], [`add`], [`clamp`]) run one sample in this crate's
//! layouts (`[C, H, W]` images, PyTorch's weight layouts), need no heap and no floating
//! point, and give TFLite Micro's outputs exactly (`tests/int8.rs` checks each against
//! fixtures that `tools/make_int8_fixtures.py` makes with TFLite Micro's interpreter).
//! On x86-64 hosts their products run on AVX-512 VNNI or AVX2, and a [`Quantized`] network's
//! batches use each load of a `Linear`'s weights for several samples; the instruction set
//! follows the products' kernel ([`crate::gemm::set_kernel`], `NN_KERNEL`: `avx2` keeps to
//! AVX2, `matrixmultiply` to the portable loops), and every choice gives the same bits.
//!
//! ```
//! use nn::int8::{conv2d, Activation, Conv2dShape, Output, Padding, Requant, Weights};
//! // A 1×1 convolution from 2 channels to 1 on a 1×2 image, scales 0.5 · 0.25 / 0.125 = 1.
//! let shape = Conv2dShape::tflite([2, 1, 2], 1, [1, 1], [1, 1], [1, 1], Padding::Valid);
//! let (x, w) = ([3i8, -4, 5, 6], [2i8, -1]);
//! let mut y = [0i8; 2];
//! let r = [Requant::product(0.5, 0.25, 0.125)];
//! let weights = Weights { weight: &w, bias: None, requant: &r };
//! conv2d(&shape, &x, 1, weights, Output::new(0.125, 0, Activation::Relu), &mut y);
//! // 2 · (3 − 1) − (5 − 1) = 0 and 2 · (−4 − 1) − (6 − 1) = −15, clamped by ReLU.
//! assert_eq!(y, [0, 0]);
//! ```

pub mod baked;
#[cfg(feature = "std")]
mod file;
#[cfg(feature = "alloc")]
mod network;
mod params;
#[cfg(feature = "alloc")]
mod quantize;

pub use crate::kernels::int8::*;
#[cfg(feature = "std")]
pub use file::Int8FileError;
#[cfg(feature = "alloc")]
pub use network::{Quantized, Workspace};
pub use params::{Activation, AddParams, Output, Quant, Requant, Weights};
#[cfg(feature = "alloc")]
pub use quantize::QuantizeError;
