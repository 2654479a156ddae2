//! The one-dimensional layers, over sequences of `C` channels of length `L` (PyTorch's
//! `(N, C, L)`): [`Conv1d`] (stride, padding, dilation, groups, `bias = false`, and
//! `padding = causal`), its streaming form ([`Conv1dCell`] and the past inputs it carries,
//! [`Conv1dContext`]), the pools [`MaxPool1d`], [`AvgPool1d`], [`AdaptiveAvgPool1d`], and
//! [`Transpose`], which turns channels × length into the time-major steps a recurrent layer
//! reads (PyTorch's `x.transpose(1, 2)`).
//!
//! `Conv1d`'s forward pass and its one step are one kernel's (`crate::kernels::conv::conv1d`),
//! which adds every output's products in one order, so that they agree bit for bit; its
//! backward pass and the pools are the general 2-D ones' over an image of one row
//! (`crate::kernels::conv::grouped`, `pool_general`).

mod cell;
mod conv;
mod pool;
mod transpose;

pub use cell::{Conv1dCell, Conv1dContext};
pub use conv::Conv1d;
pub use pool::{AdaptiveAvgPool1d, AvgPool1d, MaxPool1d};
pub use transpose::Transpose;
