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
//!
//! # Modules
//!
//! A folder per family, each depending only on those above it in this list:
//!
//! - `macros`: the `macro_rules!` helpers the layers share (declared first);
//! - `layer`: what every layer is, the [`Layer`] trait, its visitors, [`LayerInfo`], the
//!   names of nested modules ([`Path`]) and the type-level size checks;
//! - `kernels`: the products ([`gemm`] over `matrixmultiply`, the one-sample matrix-vector
//!   product), the convolution kernels, the recurrent layers' step, the run-time choice of
//!   vector unit;
//! - `layers`: the built-in layers by family (`linear`, `conv`, `pool`, `norm`,
//!   `activation`, `recurrent`, `embedding`, `dropout`, `identity`, `flatten`, `residual`);
//! - `network`: the [`Network`] trait, the chain that runs a network's layers over one
//!   cache, the summary table;
//! - `train`: the [`Tape`] and [`Gradients`] of a training step, [`loss`], [`optim`],
//!   checkpoint state ([`StateDict`]) and [`metrics`];
//! - [`init`]: PyTorch's `nn.init` initialisers;
//! - [`int8`]: int8 inference with TFLite Micro's arithmetic (its kernels under
//!   `kernels/int8/`);
//! - `bake`: weights baked in at compile time for nested networks;
//! - [`io`]: safetensors files; [`data`]: data sets, the loader, normalisation.
//!
//! A new family goes in a folder of its own under `layers/`, its kernels under `kernels/`.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

// First: defines `clone_in_place!` and `identity_layer!`, which the layers use.
#[macro_use]
mod macros;

mod bake;
mod error;
pub mod init;
pub mod int8;
mod kernels;
mod layer;
mod layers;
mod network;
mod rng;
mod train;

#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "std")]
pub mod io;

#[cfg(feature = "alloc")]
pub use kernels::gemm;
pub use train::metrics;
#[cfg(feature = "alloc")]
pub use train::{loss, optim};

pub use bytemuck::Zeroable;
pub use error::{SettingError, TrainError};
pub use layer::{
    Backward, Buffer, BufferMut, BufferVisitor, Features, FitsAfter, Forward, ForwardNode,
    ForwardOp, Image, KeepsWidth, Layer, LayerInfo, NetworkParamVisitor, ParamVisitor, Parameters,
    Path, StateVisitor, StateVisitorMut,
};
pub use layers::{
    Activation, AdaptiveAvgPool2d, AvgPool2d, AvgPool2dGeneral, BatchNorm, BatchNorm2d, Conv2d,
    Conv2dGeneral, ConvTranspose2d, Dropout, Elementwise, EluFn, Exp, ExpFn, Flatten, GeluFn,
    GeluTanh, GeluTanhFn, Hardsigmoid, HardsigmoidFn, Hardswish, HardswishFn, Identity, LayerNorm,
    LeakyReLU, LeakyReluFn, Linear, Log, LogFn, LogSoftmax, MaxPool2d, MaxPool2dGeneral, RandnLike,
    ReLU, ReLU6, Relu6Fn, ReluFn, Residual, SiLU, Sigmoid, SigmoidFn, SiluFn, Softmax, Tanh,
    TanhFn, Upsample, DROPOUT_P, ELU, ELU_ALPHA, GELU, LEAKY_RELU_SLOPE,
};
pub use layers::{
    AdaptiveAvgPool1d, AvgPool1d, Conv1d, Conv1dCell, Conv1dContext, MaxPool1d, Transpose,
};
pub use layers::{
    Embedding, FromState, GruCell, GruLayer, GruState, LstmCell, LstmLayer, LstmState, Stream, GRU,
    LSTM, NO_PADDING,
};
pub use network::{Network, Summary};
pub use rng::Rng;
#[cfg(feature = "alloc")]
pub use train::{Gradients, StateDict, StateError, StateTensor, StateValue, Tape};

/// Items the `network!` macro's expansion refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bake::{count, kernels, matrix, vector, Bake, Child, Entry, Name, Table};
    pub use crate::network::arena::chain as chain_plan;
    #[cfg(feature = "alloc")]
    pub use crate::network::chain::{backward_io, forward_io};
    pub use crate::network::graph;
    /// Floats of cache a network of `layers` needs for `batch` rows (see `network/chain.rs`); a
    /// network without `alloc` has no batched passes and needs none.
    pub fn cache_len(layers: &[crate::LayerInfo], batch: usize) -> usize {
        #[cfg(feature = "alloc")]
        return crate::network::chain::cache_len(layers, batch);
        #[cfg(not(feature = "alloc"))]
        {
            let _ = (layers, batch);
            0
        }
    }

    pub use crate::layer::parameters::{assert_zeroable, derived};
    #[cfg(feature = "alloc")]
    pub use alloc::{boxed::Box, vec::Vec};
    #[cfg(feature = "alloc")]
    pub use bytemuck::zeroed_box;
    pub use bytemuck::Zeroable;
    pub use libm;

    /// The all-zero value of `T`, in constants: the value of an activation layer (which
    /// has no data) in a network's baked-in `WEIGHTS`.
    pub const fn zeroed<T: Zeroable>() -> T {
        // SAFETY: `Zeroable` promises that all-zero bytes are a valid `T`.
        unsafe { core::mem::zeroed() }
    }

    /// Panics unless `layer`'s parameter visitors visit exactly `PARAMS` values, and both
    /// visit the same arrays in the same order: a layer of the user's that forgot them would
    /// train and save nothing of those parameters, silently, and one whose two visitors
    /// disagree would pair each parameter with another's gradient (gradients are laid out,
    /// named and saved in the order of `visit_params`; optimizers step in the order of
    /// `visit_params_mut`), and (with `alloc`) its state visitors each name once. A network
    /// checks each of its layers when it is initialised.
    pub fn check_visits<L: crate::Layer>(layer: &mut L, name: &str) {
        struct Describe<L>(core::marker::PhantomData<L>);
        impl<L: crate::Layer> core::fmt::Display for Describe<L> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                L::describe(f)
            }
        }
        let mut mutable = Visits::default();
        layer.walk_params_mut(&mut |v| mutable.add(v));
        let mut shown = Visits::default();
        layer.walk_params(&crate::Path::ROOT, &mut |_, _, _, v| shown.add(v));
        assert!(
            mutable.values == L::PARAMS && shown.values == L::PARAMS,
            "layer `{name}` (`{}`) declares PARAMS = {} but its visitors visit {} values \
             (`visit_params`) and {} (`visit_params_mut`); implement both, naming every \
             parameter, or its parameters are neither trained nor saved",
            Describe::<L>(core::marker::PhantomData),
            L::PARAMS,
            shown.values,
            mutable.values,
        );
        assert!(
            mutable == shown,
            "layer `{name}` (`{}`) visits other arrays, or the same in another order, in \
             `visit_params` than in `visit_params_mut`; visit the same fields in the same \
             order in both, or each parameter is stepped with another's gradient",
            Describe::<L>(core::marker::PhantomData),
        );
        // A name visited twice passes the count when another goes unvisited: one tensor
        // would be trained twice, the other never, and no file could hold both under
        // one name.
        #[cfg(feature = "alloc")]
        {
            let mut keys = alloc::vec::Vec::new();
            layer.walk_state(&crate::Path::ROOT, &mut |path, tensor, _, _| {
                keys.push(if path.is_root() {
                    alloc::string::String::from(tensor)
                } else {
                    alloc::format!("{path}.{tensor}")
                });
            });
            keys.sort_unstable();
            if let Some(twice) = keys.windows(2).find(|w| w[0] == w[1]) {
                panic!(
                    "layer `{name}` (`{}`) visits `{}` twice; its visitors must name each \
                     parameter and buffer once, or one is trained twice and another never",
                    Describe::<L>(core::marker::PhantomData),
                    twice[0],
                );
            }
        }
    }

    /// What a parameter visitor visited: the number of values, and a fingerprint of the
    /// arrays (address and length) that depends on their order.
    #[derive(Default, PartialEq)]
    struct Visits {
        values: usize,
        arrays: u64,
    }

    impl Visits {
        fn add(&mut self, v: &[f32]) {
            self.values += v.len();
            // FNV-1a over (address, length): order-sensitive and free of allocation.
            for word in [v.as_ptr() as usize as u64, v.len() as u64] {
                self.arrays = (self.arrays ^ word).wrapping_mul(0x0100_0000_01b3);
            }
            self.arrays = self.arrays.wrapping_add(1);
        }
    }

    /// A layer of a network that derives `Clone`: every layer must be `Clone` for the
    /// network to be.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not `Clone`, so the network that derives `Clone` and holds it \
                   cannot be",
        label = "not `Clone`",
        note = "networks are `Clone` whenever their layers are; a layer of your own needs \
                `#[derive(Clone)]` or an `impl Clone`"
    )]
    pub trait CloneLayer: Clone {}
    impl<T: Clone> CloneLayer for T {}

    /// Compiles only if `T` is `Clone`, with an error that names `T` where it is not.
    pub const fn assert_clone<T: CloneLayer>() {}

    /// Dimension `i` of `image`, or `or` where there is none.
    pub const fn image_dim(image: Option<[usize; 3]>, i: usize, or: usize) -> usize {
        match image {
            Some(shape) => shape[i],
            None => or,
        }
    }

    /// Whether a chain computes a layer over its input: it says it can (`Layer::IN_PLACE`)
    /// and its output has its input's size.
    pub const fn in_place(says: bool, inputs: usize, outputs: usize) -> bool {
        says && inputs == outputs
    }

    /// TensorFlow's `padding = same` of one side of `n`, for a kernel of `k` dilated by `d`
    /// moved by `s`: the padding before and after (the odd one at the end) and the output
    /// length, `⌈n / s⌉`.
    ///
    /// ```
    /// // 32 at stride 2 with a 3-wide kernel: 16 outputs, one row of padding at the end.
    /// assert_eq!(nn::__private::same_padding(32, 3, 2, 1), [0, 1, 16]);
    /// ```
    pub const fn same_padding(n: usize, k: usize, s: usize, d: usize) -> [usize; 3] {
        let span = d * (k - 1) + 1;
        let out = n.div_ceil(if s == 0 { 1 } else { s });
        let needed = (out - 1) * s + span;
        let total = needed.saturating_sub(n);
        [total / 2, total - total / 2, out]
    }

    /// `n` when `on`, else 0: a size check that holds trivially where it does not apply.
    pub const fn when(on: bool, n: usize) -> usize {
        if on {
            n
        } else {
            0
        }
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
