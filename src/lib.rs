//! PyTorch's `nn`, with every layer's shape checked by the compiler.
//!
//! Declare a network in one line; get a plain struct with forward and backward passes
//! over `matrixmultiply` kernels. A size that does not fit is a compile error at the
//! layer that is wrong:
//!
//! ```
//! nn::network! { pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
//!
//! let net = Mnist::new(0); // on the heap, PyTorch's initialisation, seed 0
//! let logits: [f32; 10] = net.forward(&[0.5; 784]);
//! assert_eq!(Mnist::PARAMS, 784 * 128 + 128 + 2 * 128 + 128 * 10 + 10);
//! assert!(logits.iter().all(|v| v.is_finite()));
//! ```
//!
//! With no default features the crate is `#![no_std]` and offers one-sample inference
//! with no heap; `alloc` adds batches and training; `std` (the default) the rest.
#![no_std]

extern crate self as nn;

pub use nn_core::*;
pub use nn_macros::network;
