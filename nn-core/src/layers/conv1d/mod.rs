//! The one-dimensional layers, over sequences of `C` channels of length `L` (PyTorch's
//! `(N, C, L)`): [`Conv1d`] (stride, padding, dilation, groups, `bias = false`, and
//! `padding = causal`), its streaming form ([`Conv1dCell`] and the past inputs it carries,
//! [`Conv1dContext`]), the pools [`MaxPool1d`], [`AvgPool1d`], [`AdaptiveAvgPool1d`], and
//! [`Transpose`], which turns channels × length into the time-major steps a recurrent layer
//! reads (PyTorch's `x.transpose(1, 2)`).
//!
//! A sequence is an image of height 1 to the kernels, so the passes are the general
//! convolution's and pools' (`crate::kernels::conv::grouped`, `pool_general`); what is the
//! sequences' own is their names, their state-dict shapes and the one-step call.

mod cell;
mod conv;
mod pool;
mod transpose;

pub use cell::{Conv1dCell, Conv1dContext};
pub use conv::Conv1d;
pub use pool::{AdaptiveAvgPool1d, AvgPool1d, MaxPool1d};
pub use transpose::Transpose;
