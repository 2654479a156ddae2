//! What a network is beyond a layer: the [`Network`] trait that `network!` implements, the
//! chain of layers behind its batched passes (`chain`), the one-sample values laid out at
//! compile time (`arena`), the operations of a forward written as code (`graph`), and its
//! summary table (`summary`).

pub(crate) mod arena;
#[cfg(feature = "alloc")]
pub(crate) mod chain;
pub mod graph;
mod summary;

pub use summary::Summary;

use crate::{Layer, NetworkParamVisitor, Path, Rng, StateVisitor, StateVisitorMut};

/// A network declared with `network!`: a [`Layer`] made of layers, with a name. The
/// macro implements both traits, so a network can be a layer of another network.
/// Generic code (the optimizers, [`crate::Tape`], the summary, `nn::io`) works through
/// this trait; its methods walk every layer at any depth.
///
/// `Net::new` returns the network in a `Box`, which is not itself a
/// network: pass the network inside it, `opt.step(&mut *net, &grads)`.
///
/// # Copying a network
///
/// With `#[derive(Clone)]`, copy a network with `net.clone_boxed()` (a new one on the
/// heap) or `copy.clone_from(&net)` (in place), both layer by layer. Not with
/// `net.clone()` on the `Box`: the standard library's `Box::clone` builds the copy by
/// value first, so a network of some megabytes passes through the stack and, in a debug
/// build, can overflow it (a thread's stack is 2 MB by default, and a test's too).
///
/// ```
/// nn::network! { #[derive(Clone)] struct Wide<Linear<1024, 1024>, ReLU, Linear<1024, 10>> }
/// // 4 MB of weights, copied on a thread whose stack is far smaller.
/// let copied = std::thread::Builder::new()
///     .stack_size(256 * 1024)
///     .spawn(|| {
///         let net = Wide::new(0);
///         let copy = net.clone_boxed(); // not `net.clone()`
///         let mut other = Wide::new(1);
///         other.clone_from(&net); // `Box::clone_from` copies in place
///         copy.0.weight == net.0.weight && other.2.bias == net.2.bias
///     })?
///     .join()
///     .unwrap();
/// assert!(copied);
/// # Ok::<(), std::io::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a network",
    label = "not a network",
    note = "a network is a struct declared with `network!`; the `Box` that `Net::new` returns \
            holds one: pass `&mut *net` (or `&*net`) to reach the network inside"
)]
pub trait Network: Layer + Sized {
    /// The struct's name.
    const NAME: &'static str;
    /// The input's image shape `[channels, height, width]` when declared with
    /// `#[input(C, H, W)]`.
    const INPUT_IMAGE: Option<[usize; 3]> = None;

    /// Sets every parameter to PyTorch's default initialisation, drawn from `seed`.
    fn init_from_seed(&mut self, seed: u64) {
        Layer::init(self, &mut Rng::seed(seed));
    }

    /// Calls `f(module, name, shape, values)` for each parameter in a fixed order: layer
    /// by layer, at any depth, and within a layer in [`Layer::visit_params`] order, as
    /// PyTorch's `named_parameters()`. `module` and `name` joined by a dot give the
    /// state-dict key (`fc1.weight`, `enc.0.weight`).
    fn named_params(&self, f: &mut NetworkParamVisitor<'_>) {
        self.walk_params(&Path::ROOT, f);
    }

    /// Calls `f` with every tensor of PyTorch's `state_dict()` in its order: per layer,
    /// the parameters, then the buffers. Parameters come as [`crate::Buffer::F32`].
    fn named_state(&self, f: &mut StateVisitor<'_>) {
        self.walk_state(&Path::ROOT, f);
    }

    /// Calls `f` with every tensor of the state dict, mutably, in the order of
    /// [`Network::named_state`].
    fn named_state_mut(&mut self, f: &mut StateVisitorMut<'_>) {
        self.walk_state_mut(&Path::ROOT, f);
    }

    /// One-sample inference over flat slices: `x` has `IN` values, `y` gets `OUT`.
    fn forward_slice(&self, x: &[f32], y: &mut [f32]) {
        assert!(
            x.len() == Self::IN && y.len() == Self::OUT,
            "{}: forward_slice takes {} inputs into {} outputs, got {} into {}",
            Self::NAME,
            Self::IN,
            Self::OUT,
            x.len(),
            y.len()
        );
        Layer::forward(self, x, y);
    }
}
