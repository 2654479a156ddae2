//! Layers, kernels, losses and optimizers behind the `nn` crate.
//!
//! Most users depend on `nn`, which re-exports everything here together with the
//! `network!` macro. This crate is `#![no_std]`:
//!
//! - with no features it offers one-sample inference and needs neither `std` nor `alloc`;
//! - `alloc` adds batches, training, losses and optimizers (matrix products run on
//!   `matrixmultiply`);
//! - `std` (the default) adds files and threads.
//!
//! Every layer works on row-major `f32` data in PyTorch's layouts: a batch is `[batch, features]`,
//! a [`Linear`] weight is `[out, in]`.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

// First: defines `identity_layer!`, which later modules use.
#[macro_use]
mod identity;
mod activation;
mod bake;
mod batchnorm;
mod batchnorm2d;
#[cfg(feature = "alloc")]
mod chain;
mod conv;
mod dropout;
mod error;
mod flatten;
mod layer;
mod layernorm;
mod linear;
mod network;
mod parameters;
mod path;
mod pool;
mod residual;
mod rng;
mod shape;
#[cfg(feature = "alloc")]
mod simd;
mod softmax;
#[cfg(feature = "alloc")]
mod state;

#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "alloc")]
pub mod gemm;
#[cfg(feature = "std")]
pub mod io;
#[cfg(feature = "alloc")]
pub mod loss;
pub mod metrics;
#[cfg(feature = "alloc")]
pub mod optim;
#[cfg(feature = "alloc")]
mod tape;

pub use activation::{
    Activation, Elementwise, EluFn, GeluFn, GeluTanh, GeluTanhFn, LeakyReLU, LeakyReluFn, ReLU,
    ReluFn, SiLU, Sigmoid, SigmoidFn, SiluFn, Tanh, TanhFn, ELU, ELU_ALPHA, GELU, LEAKY_RELU_SLOPE,
};
pub use batchnorm::BatchNorm;
pub use batchnorm2d::BatchNorm2d;
pub use bytemuck::Zeroable;
pub use conv::Conv2d;
pub use dropout::{Dropout, DROPOUT_P};
pub use error::{SettingError, TrainError};
pub use flatten::Flatten;
pub use identity::Identity;
pub use layer::{
    Backward, Buffer, BufferMut, BufferVisitor, Layer, NetworkParamVisitor, ParamVisitor,
    StateVisitor, StateVisitorMut,
};
pub use layernorm::LayerNorm;
pub use linear::Linear;
pub use network::{LayerInfo, Network, Summary};
pub use parameters::Parameters;
pub use path::Path;
pub use pool::{AvgPool2d, MaxPool2d};
pub use residual::Residual;
pub use rng::Rng;
pub use shape::{Features, FitsAfter, KeepsWidth};
pub use softmax::{LogSoftmax, Softmax};

#[cfg(feature = "alloc")]
pub use state::{StateDict, StateError, StateTensor, StateValue};
#[cfg(feature = "alloc")]
pub use tape::{Gradients, Tape};

/// Items the `network!` macro's expansion refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bake::{count, kernels, matrix, values, vector, Bake, Child, Name, Table};
    #[cfg(feature = "alloc")]
    pub use crate::chain::{backward_io, forward_io};
    /// Floats of cache a network of `layers` needs for `batch` rows (see `chain.rs`); a
    /// network without `alloc` has no batched passes and needs none.
    pub fn cache_len(layers: &[crate::LayerInfo], batch: usize) -> usize {
        #[cfg(feature = "alloc")]
        return crate::chain::cache_len(layers, batch);
        #[cfg(not(feature = "alloc"))]
        {
            let _ = (layers, batch);
            0
        }
    }

    pub use crate::parameters::{assert_zeroable, derived};
    #[cfg(feature = "alloc")]
    pub use alloc::{boxed::Box, vec::Vec};
    #[cfg(feature = "alloc")]
    pub use bytemuck::zeroed_box;
    pub use bytemuck::Zeroable;

    /// The all-zero value of `T`, in constants: the value of an activation layer (which
    /// has no data) in a network's baked-in `WEIGHTS`.
    pub const fn zeroed<T: Zeroable>() -> T {
        // SAFETY: `Zeroable` promises that all-zero bytes are a valid `T`.
        unsafe { core::mem::zeroed() }
    }

    /// Panics unless `layer`'s parameter visitors visit exactly `PARAMS` values: a layer
    /// of the user's that forgot them would train and save nothing of those parameters,
    /// silently. A network checks each of its layers when it is initialised.
    pub fn check_visits<L: crate::Layer>(layer: &mut L, name: &str) {
        struct Describe<L>(core::marker::PhantomData<L>);
        impl<L: crate::Layer> core::fmt::Display for Describe<L> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                L::describe(f)
            }
        }
        let mut mutable = 0;
        layer.walk_params_mut(&mut |v| mutable += v.len());
        let mut shown = 0;
        layer.walk_params(&crate::Path::ROOT, &mut |_, _, _, v| shown += v.len());
        assert!(
            mutable == L::PARAMS && shown == L::PARAMS,
            "layer `{name}` (`{}`) declares PARAMS = {} but its visitors visit {shown} values \
             (`visit_params`) and {mutable} (`visit_params_mut`); implement both, naming every \
             parameter, or its parameters are neither trained nor saved",
            Describe::<L>(core::marker::PhantomData),
            L::PARAMS,
        );
    }

    /// The largest of `widths`, usable in constants.
    pub const fn max_width(widths: &[usize]) -> usize {
        let mut m = 0;
        let mut i = 0;
        while i < widths.len() {
            if widths[i] > m {
                m = widths[i];
            }
            i += 1;
        }
        m
    }

    /// Expands its input only when the `alloc` feature is on.
    #[cfg(feature = "alloc")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __if_alloc {
        ($($t:tt)*) => { $($t)* };
    }
    /// Expands its input only when the `alloc` feature is on.
    #[cfg(not(feature = "alloc"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __if_alloc {
        ($($t:tt)*) => {};
    }
    pub use crate::__if_alloc as if_alloc;

    /// Expands its input only when the `std` feature is on.
    #[cfg(feature = "std")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __if_std {
        ($($t:tt)*) => { $($t)* };
    }
    /// Expands its input only when the `std` feature is on.
    #[cfg(not(feature = "std"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __if_std {
        ($($t:tt)*) => {};
    }
    pub use crate::__if_std as if_std;
}
