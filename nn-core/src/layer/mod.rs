//! What every layer is, built-in or the user's own: the [`Layer`] trait, what its backward
//! pass reads ([`Backward`]), the callbacks its visitors take (`visit`), what a network
//! knows of it without an instance (`info`), the parameter names of a nested module
//! (`path`), the size checks between layers (`shape`), and the derive's side of a user
//! layer's parameters (`parameters`).

mod forward;
mod info;
pub(crate) mod parameters;
mod path;
mod shape;
mod visit;

pub use forward::{Forward, ForwardNode, ForwardOp};
pub use info::LayerInfo;
pub use parameters::Parameters;
pub use path::Path;
pub use shape::{Features, FitsAfter, Image, KeepsWidth};
pub use visit::{
    Buffer, BufferMut, BufferVisitor, NetworkParamVisitor, ParamVisitor, StateVisitor,
    StateVisitorMut,
};

use core::fmt;

use crate::Rng;
#[cfg(feature = "alloc")]
use crate::TrainError;

/// What a layer's backward pass reads: the saved forward input and output, the gradient
/// of the loss with respect to the output, and the layer's cache.
///
/// All slices are row-major `[batch, width]`.
#[derive(Debug)]
pub struct Backward<'a> {
    /// The layer's input in the training forward pass, `[batch, IN]`.
    pub x: &'a [f32],
    /// The layer's output in the training forward pass, `[batch, OUT]`.
    pub y: &'a [f32],
    /// The gradient of the loss with respect to `y`, `[batch, OUT]`.
    pub dy: &'a [f32],
    /// The number of rows.
    pub batch: usize,
    /// What [`Layer::forward_train`] left in its cache. Backward may also use it as
    /// scratch space beyond what it reads (a nested network keeps its inner gradients
    /// there), so a layer reads its cache before it writes any of it.
    pub cache: &'a mut [f32],
}

/// A layer of a network: a function from `IN` features to `OUT` features per sample,
/// with `PARAMS` trainable numbers.
///
/// Implement it for your own type and use that type in `network!` like a built-in layer;
/// the compiler checks that its `IN` equals the output size of the layer before it.
/// Slices passed to the methods have exactly the lengths the sizes imply. The type must
/// be [`Zeroable`](crate::Zeroable) so that a network can be built in place on the heap.
///
/// # Parameters and buffers
///
/// `#[derive(nn::Parameters)]` reads them from the struct's fields, as PyTorch's `nn.Module`
/// finds its `nn.Parameter`s: `#[param]` on an `f32` array makes a trainable parameter,
/// named after the field, its shape the array's lengths from the outside in (`[[f32; IN];
/// OUT]` is `[OUT, IN]`); `#[buffer]` on an `f32` array or a `u64` counter makes a buffer,
/// saved with the state dict but not trained, as PyTorch's `register_buffer`. The derive
/// also implements `Zeroable`, after checking every field's type, so no `unsafe` is needed.
/// Inside the `impl Layer`, the line `nn::parameters!();` writes `PARAMS` (the parameters'
/// lengths added up) and the four visitors ([`Layer::visit_params`],
/// [`Layer::visit_params_mut`], [`Layer::visit_buffers`], [`Layer::visit_buffers_mut`]).
/// Gradients are laid out in the same order: the fields' declaration order.
///
/// A layer may instead write `PARAMS`, the visitors and `unsafe impl nn::Zeroable` by hand.
/// Visitors that do not visit exactly `PARAMS` values, or whose two parameter visitors visit
/// other arrays or another order, are refused, with a panic naming the layer, when a network
/// holding it is initialised: its parameters would be neither trained nor saved, or stepped
/// with another parameter's gradient.
///
/// # Visitors
///
/// Two families, one word each: `visit_*` visits this layer's own tensors, by their names
/// (`weight`); `walk_*` walks every tensor of this layer and of the layers inside it, at any
/// depth, under a [`Path`] (`enc.0.weight`). A layer of the user's writes the `visit_*`
/// ones (or has the derive write them); networks and residual blocks override `walk_*`.
/// [`crate::Network`]'s `named_params`, `named_state` and `named_state_mut` walk a whole
/// network from its root, as PyTorch's `named_parameters()` and `state_dict()`.
///
/// # Example
///
/// A layer that multiplies each feature by a learned scale, and counts its training steps:
///
/// ```
/// use core::fmt;
/// use nn::{Backward, Layer, Parameters, Rng};
///
/// #[derive(Clone, Copy, Parameters)]
/// struct Scale<const N: usize> {
///     #[param]
///     weight: [f32; N],
///     #[buffer]
///     steps: u64,
/// }
///
/// impl<const N: usize> Layer for Scale<N> {
///     const IN: usize = N;
///     const OUT: usize = N;
///     // `PARAMS` and the visitors, from the `#[param]` and `#[buffer]` fields.
///     nn::parameters!();
///
///     fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         write!(f, "Scale<{N}>")
///     }
///     fn init(&mut self, _rng: &mut Rng) {
///         self.weight = [1.0; N];
///         self.steps = 0;
///     }
///     fn forward(&self, x: &[f32], y: &mut [f32]) {
///         for ((y, x), s) in y.iter_mut().zip(x).zip(&self.weight) {
///             *y = x * s;
///         }
///     }
///     fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
///         // `grad` holds `PARAMS` values, the parameters' in the order of their fields.
///         for (x, dy) in io.x.chunks_exact(N).zip(io.dy.chunks_exact(N)) {
///             for j in 0..N {
///                 grad[j] += dy[j] * x[j];
///             }
///         }
///         if let Some(dx) = dx {
///             for (dx, dy) in dx.chunks_exact_mut(N).zip(io.dy.chunks_exact(N)) {
///                 for j in 0..N {
///                     dx[j] = dy[j] * self.weight[j];
///                 }
///             }
///         }
///     }
/// }
///
/// let mut s = Scale::<3> { weight: [0.0; 3], steps: 0 };
/// s.init(&mut Rng::seed(0));
/// let mut y = [0.0; 3];
/// s.forward(&[1.0, 2.0, 3.0], &mut y);
/// assert_eq!(y, [1.0, 2.0, 3.0]);
///
/// assert_eq!(Scale::<3>::PARAMS, 3);
/// s.visit_params(&mut |name, shape, values| {
///     assert_eq!((name, shape, values), ("weight", &[3][..], &[1.0; 3][..]));
/// });
/// s.visit_buffers(&mut |name, shape, value| {
///     assert_eq!((name, shape, value), ("steps", &[][..], nn::Buffer::Count(0)));
/// });
/// ```
///
/// In a network it is a layer like the others: in `network! { struct Net { fc: Linear<4, 3>,
/// scale: Scale<3> } }` its state-dict names are `scale.weight` and `scale.steps`, as
/// PyTorch's.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer",
    label = "not a layer",
    note = "the built-in layers are `Linear<IN, OUT>`, `BatchNorm<N>`, `LayerNorm<N>`, `Dropout`, \
            the activations (`ReLU`, `ReLU6`, `LeakyReLU`, `GELU`, `SiLU`, `ELU`, `Sigmoid`, `Tanh`, \
            `Hardswish`, `Hardsigmoid`), `Softmax`, `LogSoftmax`, `Identity`, for images \
            `Conv2d`, `ConvTranspose2d`, `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d`, `BatchNorm2d`, \
            `Upsample` and `Flatten`, and for sequences `Conv1d`, `MaxPool1d`, `AvgPool1d`, \
            `AdaptiveAvgPool1d`, `Transpose`, `GRU`, `LSTM` and `Embedding`; \
            a type of your own becomes a layer by implementing `nn::Layer`"
)]
pub trait Layer: bytemuck::Zeroable {
    /// Input features per sample.
    const IN: usize;
    /// Output features per sample.
    const OUT: usize;
    /// Trainable numbers, the length of this layer's slice of the gradients.
    const PARAMS: usize;
    /// Multiply-adds of one sample's forward pass, as torchinfo's `Mult-Adds` counts them:
    /// a convolution's parameters (weight and bias) times its output positions, another
    /// layer's parameters (a `Linear` or a normalisation), 0 for a layer without parameters;
    /// a network the sum of its layers' (a layer called twice by a forward written as code
    /// counted once). 0 unless a layer states it.
    const MACS: usize = 0;
    /// The image this layer takes, `[channels, height, width]`, where it takes one (an image
    /// layer, a network declared with `#[input]`); `None` for flat features.
    const IN_IMAGE: Option<[usize; 3]> = None;
    /// The image this layer produces, `[channels, height, width]`, where it produces one;
    /// `None` for flat features. A layer of your own that keeps an image declares it, so
    /// that image layers (`Conv2d`, a pool) can follow it in a network.
    const OUT_IMAGE: Option<[usize; 3]> = None;

    /// The layers inside this one, for a network or a residual block (shown nested by
    /// the summary); empty for a plain layer.
    const LAYERS: &'static [LayerInfo] = &[];

    /// A network's forward written as code, as a table of its operations; `None` for a
    /// chain (its [`Layer::LAYERS`] in order) and for a plain layer.
    const FORWARD: Option<&'static Forward> = None;

    /// Floats of activations the one-sample [`Layer::forward`] keeps on the stack besides
    /// its input and output: a network's values between its layers, laid out at compile
    /// time in one stack array as TensorFlow Lite Micro's arena planner lays out tensors at
    /// run time (a value's floats reused once its last reader has run; in a chain, an
    /// elementwise layer, [`Layer::IN_PLACE`], writing over its input; in a forward written
    /// as code, a network it calls keeping its values in the floats left free while it
    /// runs), and the most any other layer inside it keeps, at any depth. Zero for a plain layer, whose own scratch (a
    /// batch norm's scales, a convolution's spread input on a host with `std`) is not
    /// counted. An embedded build can check its stack against it:
    /// [`Layer::ACTIVATION_BYTES`].
    ///
    /// ```
    /// use nn::Layer;
    /// nn::network! { struct Mlp<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
    /// // The first layer's 128 outputs; ReLU and the batch norm write over them.
    /// assert_eq!(Mlp::ACTIVATIONS, 128);
    /// assert_eq!(Mlp::ACTIVATION_BYTES, 512);
    /// ```
    const ACTIVATIONS: usize = 0;
    /// [`Layer::ACTIVATIONS`] in bytes: the stack array of one inference's values.
    const ACTIVATION_BYTES: usize = Self::ACTIVATIONS * core::mem::size_of::<f32>();

    /// Floats of the region a network gives this layer's one-sample call in its own stack
    /// array ([`Layer::__forward_region`]): the layer's output and, for a network written as
    /// code, its own values, laid out by its own plan in the floats the calling network's
    /// plan leaves free while it runs. The output alone for any other layer.
    #[doc(hidden)]
    const __REGION: usize = Self::OUT;
    /// Where the output lies in [`Layer::__REGION`].
    #[doc(hidden)]
    const __REGION_OUT: usize = 0;
    /// Floats of activations the call through [`Layer::__forward_region`] keeps on the stack
    /// outside its region: all of [`Layer::ACTIVATIONS`] for a layer that lays out nothing in
    /// the region.
    #[doc(hidden)]
    const __BESIDE: usize = Self::ACTIVATIONS;

    /// The one-sample forward within `region` ([`Layer::__REGION`] floats of the calling
    /// network's stack array, apart from `x`): the output at [`Layer::__REGION_OUT`], the same
    /// bits as [`Layer::forward`].
    #[doc(hidden)]
    fn __forward_region(&self, x: &[f32], region: &mut [f32]) {
        let at = Self::__REGION_OUT;
        self.forward(x, &mut region[at..at + Self::OUT]);
    }

    /// Whether [`Layer::forward_in_place`] computes the one-sample forward over its input,
    /// exactly as [`Layer::forward`] does (an elementwise layer whose output has its
    /// input's size); a chain then lays out its output in its input's floats. A layer that
    /// sets it implements [`Layer::forward_in_place`].
    const IN_PLACE: bool = false;

    /// Writes the layer as it is declared, for example `Linear<784, 128>`.
    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// Sets the parameters to PyTorch's defaults, drawing from `rng`.
    fn init(&mut self, rng: &mut Rng);

    /// Inference on one sample: `x` has `IN` values, `y` receives `OUT`.
    /// Needs no heap; batch norm uses its running statistics.
    fn forward(&self, x: &[f32], y: &mut [f32]);

    /// Inference on one sample written over its input, `xy` (`IN` values, `IN == OUT`), for
    /// a layer with [`Layer::IN_PLACE`]: the same values, bit for bit, as
    /// [`Layer::forward`]. A network calls it only where `IN_PLACE` holds.
    ///
    /// # Panics
    /// Where the layer does not set [`Layer::IN_PLACE`] and so does not implement it.
    fn forward_in_place(&self, xy: &mut [f32]) {
        let _ = xy;
        panic!("a layer without `IN_PLACE` has no forward in place");
    }

    /// Inference on `batch` rows, `x` `[batch, IN]` into `y` `[batch, OUT]`. `cache` is
    /// [`Layer::cache_len`] floats of scratch space (a nested network keeps its inner
    /// activations there).
    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, cache: &mut [f32]) {
        let _ = cache;
        let rows = x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT));
        for (x, y) in rows.take(batch) {
            self.forward(x, y);
        }
    }

    /// How many floats of cache the training forward pass needs for `batch` rows.
    fn cache_len(batch: usize) -> usize {
        let _ = batch;
        0
    }

    /// The training forward pass on `batch` rows: like [`Layer::forward_batch`], but batch
    /// norm uses batch statistics and updates its running ones, and whatever backward
    /// needs besides the input and output goes into `cache`.
    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), TrainError> {
        self.forward_batch(x, y, batch, cache);
        Ok(())
    }

    /// The backward pass: adds this layer's parameter gradients into `grad` (`PARAMS`
    /// long, in the order of [`Layer::visit_params`]) and, when `dx` is given, writes the
    /// gradient with respect to the input into it, `[batch, IN]`.
    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]);

    /// Calls `f` with each parameter's name, shape (PyTorch's) and values, in a fixed order.
    fn visit_params(&self, f: &mut ParamVisitor<'_>) {
        let _ = f;
    }

    /// Calls `f` with each parameter's name and values, mutably, in the order of
    /// [`Layer::visit_params`].
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        let _ = f;
    }

    /// Calls `f` with each buffer's name, shape and value, in a fixed order (after the
    /// parameters in a state dict, as in PyTorch).
    fn visit_buffers(&self, f: &mut BufferVisitor<'_>) {
        let _ = f;
    }

    /// Calls `f` with each buffer's name and value, mutably, in the order of
    /// [`Layer::visit_buffers`].
    fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&'static str, BufferMut<'_>)) {
        let _ = f;
    }

    /// Panics unless the parameter visitors visit exactly `PARAMS` values (see
    /// `check_visits`); a network calls it for each layer it initialises.
    #[doc(hidden)]
    fn __check_visits(&mut self, name: &str)
    where
        Self: Sized,
    {
        crate::__private::check_visits(self, name);
    }

    /// Calls `f(module, name, shape, values)` for each parameter under `path`, in
    /// [`Layer::visit_params`] order. A layer that holds other layers (a network, a
    /// residual block) walks them, each under its own name.
    fn walk_params(&self, path: &Path<'_>, f: &mut NetworkParamVisitor<'_>) {
        self.visit_params(&mut |name, shape, values| f(path, name, shape, values));
    }

    /// Calls `f` with each parameter's values, mutably, in the order of
    /// [`Layer::walk_params`].
    fn walk_params_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        self.visit_params_mut(&mut |_, values| f(values));
    }

    /// Calls `f(module, name, shape, value)` for every tensor of PyTorch's `state_dict()`
    /// under `path`: the parameters (as [`Buffer::F32`]), then the buffers.
    fn walk_state(&self, path: &Path<'_>, f: &mut StateVisitor<'_>) {
        self.visit_params(&mut |name, shape, values| f(path, name, shape, Buffer::F32(values)));
        self.visit_buffers(&mut |name, shape, value| f(path, name, shape, value));
    }

    /// Calls `f(module, name, value)` for every tensor of the state dict, mutably, in the
    /// order of [`Layer::walk_state`].
    fn walk_state_mut(&mut self, path: &Path<'_>, f: &mut StateVisitorMut<'_>) {
        self.visit_params_mut(&mut |name, values| f(path, name, BufferMut::F32(values)));
        self.visit_buffers_mut(&mut |name, value| f(path, name, value));
    }

    /// Calls `f(seed, step)` for each random stream a training pass draws from, at any
    /// depth, in a fixed order: a dropout layer's masks, a `randn_like`'s noise. They are
    /// not part of PyTorch's state dict; a checkpoint ([`crate::StateDict`]) keeps them, so
    /// that a resumed run draws what an uninterrupted one would. A layer of the user's that
    /// draws at random reports its streams here and in [`Layer::walk_streams_mut`].
    fn walk_streams(&self, f: &mut dyn FnMut(u64, u64)) {
        let _ = f;
    }

    /// Calls `f(seed, step)`, mutably, for each random stream, in the order of
    /// [`Layer::walk_streams`].
    fn walk_streams_mut(&mut self, f: &mut dyn FnMut(&mut u64, &mut u64)) {
        let _ = f;
    }
}
