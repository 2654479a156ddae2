//! The built-in layers, a folder or file per family, each layer in a file of its own:
//!
//! - `linear`: [`Linear`];
//! - `conv`: [`Conv2d`] and its batched and threaded passes, [`Conv2dGeneral`] (groups,
//!   rectangular kernels, `same` padding, dilation), [`ConvTranspose2d`];
//! - `conv1d`: the sequences' [`Conv1d`] and its streaming [`Conv1dCell`], [`MaxPool1d`],
//!   [`AvgPool1d`], [`AdaptiveAvgPool1d`], [`Transpose`] (channels × length to steps);
//! - `pool`: [`MaxPool2d`], [`AvgPool2d`]; `pool_general`: [`MaxPool2dGeneral`],
//!   [`AvgPool2dGeneral`] (strides, padding, rectangular windows), [`AdaptiveAvgPool2d`];
//! - `norm`: [`BatchNorm`], [`BatchNorm2d`] (one implementation for both ranks), [`LayerNorm`];
//! - `activation`: the elementwise activations on one driver, [`Softmax`], [`LogSoftmax`];
//! - `dropout`: [`Dropout`];
//! - `noise`: [`RandnLike`], the noise of a forward written as code;
//! - `embedding`: [`Embedding`], a table of vectors looked up by index;
//! - `identity`, `flatten`: the layers whose pass is the identity;
//! - `recurrent`: [`GRU`], [`LSTM`], their streaming cells and states;
//! - `residual`: [`Residual`], a block added to its input;
//! - `stream`: [`Stream`], a stack of streaming cells and activations stepped in one call;
//! - `upsample`: [`Upsample`], nearest-neighbour upsampling by an integer factor.
//!
//! The kernels they call live apart, in `crate::kernels`.

mod activation;
mod conv;
mod conv1d;
mod dropout;
mod embedding;
mod flatten;
mod identity;
mod linear;
mod noise;
mod norm;
mod pool;
mod pool_general;
mod recurrent;
mod residual;
pub(crate) mod stream;
mod upsample;

pub use activation::{
    Activation, Elementwise, EluFn, Exp, ExpFn, GeluFn, GeluTanh, GeluTanhFn, Hardsigmoid,
    HardsigmoidFn, Hardswish, HardswishFn, LeakyReLU, LeakyReluFn, Log, LogFn, LogSoftmax, ReLU,
    ReLU6, Relu6Fn, ReluFn, SiLU, Sigmoid, SigmoidFn, SiluFn, Softmax, Tanh, TanhFn, ELU,
    ELU_ALPHA, GELU, LEAKY_RELU_SLOPE,
};
pub use conv::{Conv2d, Conv2dGeneral, ConvTranspose2d};
pub use conv1d::{
    AdaptiveAvgPool1d, AvgPool1d, Conv1d, Conv1dCell, Conv1dContext, MaxPool1d, Transpose,
};
pub use dropout::{Dropout, DROPOUT_P};
pub use embedding::{Embedding, NO_PADDING};
pub use flatten::Flatten;
pub use identity::Identity;
pub use linear::Linear;
pub use noise::RandnLike;
pub use norm::{BatchNorm, BatchNorm2d, LayerNorm};
pub use pool::{AvgPool2d, MaxPool2d};
pub use pool_general::{AdaptiveAvgPool2d, AvgPool2dGeneral, MaxPool2dGeneral};
pub(crate) use recurrent::NAMES as RECURRENT_NAMES;
pub use recurrent::{
    FromState, GruCell, GruLayer, GruState, LstmCell, LstmLayer, LstmState, GRU, LSTM,
};
pub use residual::Residual;
pub use stream::Stream;
pub use upsample::Upsample;

/// Ends a layer's `describe` as `network!` spells it: `, bias = false>` for a layer built
/// without bias (PyTorch's `bias=False`), `>` otherwise.
fn write_bias(f: &mut core::fmt::Formatter<'_>, bias: bool) -> core::fmt::Result {
    f.write_str(if bias { ">" } else { ", bias = false>" })
}
