//! Training state that lives outside the model: the tape of activations a backward pass
//! reads, and the gradients it fills.

use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use crate::loss::{Loss, Target};
use crate::{Backward, Layer, Network, TrainError};

/// What a training step keeps between the forward and the backward pass: the network's
/// output, its cache (every inner layer's output and cache, at any depth), and the
/// gradient buffers. Reused from step to step, it allocates only when a batch is larger
/// than any before it. Batch inference uses it as scratch space too.
///
/// With [`Tape::track_input_grad`], backward also leaves the gradient of the loss with
/// respect to the network's input ([`Tape::input_grad`], PyTorch's `x.grad`), and
/// [`Tape::output_grad_mut`] starts a backward pass from a given output gradient instead
/// of a loss: two networks declared apart then train end to end.
///
/// ```
/// nn::network! { struct Tiny<Linear<2, 3>, ReLU, Linear<3, 1>> }
///
/// let mut net = Tiny::new(0);
/// let mut tape = nn::Tape::new();
/// let mut grads = nn::Gradients::new();
/// let x = [[1.0, 2.0], [3.0, -1.0]];
/// let y = [[1.0], [0.0]];
/// net.forward_train(&x, &mut tape).unwrap();
/// let loss = tape.loss(&nn::loss::MseLoss, &y[..]);
/// net.backward(&x, &mut tape, &mut grads);
/// assert!(loss >= 0.0);
/// assert!(grads.as_slice().iter().any(|g| *g != 0.0));
/// ```
pub struct Tape<N> {
    /// The network's output, `[batch, OUT]`.
    out: Vec<f32>,
    /// The network's cache ([`Layer::cache_len`]).
    cache: Vec<f32>,
    /// The gradient of the loss with respect to the output, `[batch, OUT]`.
    dy: Vec<f32>,
    /// The gradient with respect to the input, `[batch, IN]`, when tracked.
    dx: Vec<f32>,
    batch: usize,
    /// Whether the last pass was a training pass that backward may follow.
    trained: bool,
    /// Whether an output gradient is waiting for backward.
    has_output_grad: bool,
    /// Whether backward computes the input gradient.
    input_grad: bool,
    /// Scratch space of an objective written as code (an output's columns and their
    /// gradient).
    scratch: Vec<f32>,
    _net: PhantomData<fn() -> N>,
}

impl<N: Network> Default for Tape<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: Network> Tape<N> {
    /// An empty tape; buffers grow to the first batch.
    pub fn new() -> Self {
        Tape {
            out: Vec::new(),
            cache: Vec::new(),
            dy: Vec::new(),
            dx: Vec::new(),
            batch: 0,
            trained: false,
            has_output_grad: false,
            input_grad: false,
            scratch: Vec::new(),
            _net: PhantomData,
        }
    }

    /// Makes backward also compute the gradient with respect to the network's input
    /// (PyTorch's `x.requires_grad_()`), read with [`Tape::input_grad`]. Off by default:
    /// it costs one more product in the first layer.
    pub fn track_input_grad(&mut self, on: bool) -> &mut Self {
        self.input_grad = on;
        self
    }

    fn prepare(&mut self, x: &[f32]) -> usize {
        assert!(
            x.len().is_multiple_of(N::IN),
            "{}: input of {} values is not a whole number of {}-feature rows",
            N::NAME,
            x.len(),
            N::IN
        );
        let batch = x.len() / N::IN;
        self.out.resize(batch * N::OUT, 0.0);
        self.batch = batch;
        self.trained = false;
        self.has_output_grad = false;
        batch
    }

    /// The rows of the last forward pass.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The network's output from the last forward pass, `[batch, OUT]`.
    pub fn output(&self) -> &[f32] {
        &self.out
    }

    /// Batch inference over flat slices (`x` is `[batch, IN]`); returns `[batch, OUT]`.
    /// The typed form is the generated `forward_batch`.
    ///
    /// A large batch goes through the network in chunks of rows whose cache (every inner
    /// layer's output) fits [`Tape::INFER_CACHE`] floats (or of [`Tape::INFER_MIN_ROWS`]
    /// rows, where those need more), so that inference over a whole
    /// data set needs the memory of one chunk; each row's output is the same bits either
    /// way, since inference treats rows apart.
    pub fn infer(&mut self, net: &N, x: &[f32]) -> &[f32] {
        let batch = self.prepare(x);
        let rows = Self::infer_rows(batch);
        self.cache.resize(N::cache_len(rows), 0.0);
        let chunks = x
            .chunks(rows * N::IN)
            .zip(self.out.chunks_mut(rows * N::OUT));
        for (x, y) in chunks {
            Layer::forward_batch(net, x, y, x.len() / N::IN, &mut self.cache);
        }
        &self.out
    }

    /// The floats of cache batch inference aims to use at once (32 MiB): a larger batch runs
    /// in chunks of rows.
    pub const INFER_CACHE: usize = 1 << 23;

    /// The fewest rows a chunk of batch inference holds, however wide the network: batches
    /// of up to this many run in one pass, at full speed.
    pub const INFER_MIN_ROWS: usize = 64;

    /// Rows per chunk of batch inference over `batch` rows: as many as fit
    /// [`Tape::INFER_CACHE`], at least [`Tape::INFER_MIN_ROWS`], at most `batch`.
    fn infer_rows(batch: usize) -> usize {
        let per_row = N::cache_len(1).max(1);
        (Self::INFER_CACHE / per_row)
            .max(Self::INFER_MIN_ROWS)
            .clamp(1, batch.max(1))
    }

    /// The training forward pass over flat slices; returns `[batch, OUT]`. The typed
    /// form is the generated `forward_train`.
    pub fn forward(&mut self, net: &mut N, x: &[f32]) -> Result<&[f32], TrainError> {
        let batch = self.prepare(x);
        if batch == 0 {
            return Err(TrainError::EmptyBatch);
        }
        self.cache.resize(N::cache_len(batch), 0.0);
        Layer::forward_train(net, x, &mut self.out, batch, &mut self.cache)?;
        self.trained = true;
        Ok(&self.out)
    }

    /// Computes `loss` of the last output against `target`, and stores its gradient for
    /// the backward pass. Returns the loss. Rows of targets must be as wide as the
    /// network's output: another width does not compile ([`Target`]).
    pub fn loss<T: ?Sized + Target<N>, L: Loss<T>>(&mut self, loss: &L, target: &T) -> f32 {
        self.dy.resize(self.out.len(), 0.0);
        let value = loss.loss(&self.out, N::OUT, target, Some(&mut self.dy));
        self.has_output_grad = true;
        value
    }

    /// The gradient of the loss with respect to the output, `[batch, OUT]`, to fill by
    /// hand instead of calling [`Tape::loss`]: for example another network's
    /// [`Tape::input_grad`], to chain a backward pass from it.
    pub fn output_grad_mut(&mut self) -> &mut [f32] {
        self.dy.resize(self.out.len(), 0.0);
        self.has_output_grad = true;
        &mut self.dy
    }

    /// What the objective a network's forward declares (`fn loss(..)` after `fn forward`)
    /// works on: the output of the last training pass, `[batch, OUT]`, the gradient with
    /// respect to it (zeroed, for the objective to fill), scratch space, and the batch.
    ///
    /// # Panics
    /// If the last pass was not a training pass.
    #[doc(hidden)]
    pub fn __objective_parts(&mut self) -> (&[f32], &mut [f32], &mut Vec<f32>, usize) {
        assert!(
            self.trained,
            "{}: the objective needs a training forward pass first: call `net.forward_train(..)`",
            N::NAME
        );
        self.dy.clear();
        self.dy.resize(self.out.len(), 0.0);
        self.has_output_grad = true;
        (&self.out, &mut self.dy, &mut self.scratch, self.batch)
    }

    /// The gradient of the loss with respect to the input of the last backward pass,
    /// `[batch, IN]`; empty unless [`Tape::track_input_grad`] is on.
    pub fn input_grad(&self) -> &[f32] {
        if self.input_grad {
            &self.dx
        } else {
            &[]
        }
    }

    /// The backward pass over flat slices: adds every parameter's gradient into `grads`.
    /// `x` must be the input of the last [`Tape::forward`]: the tape keeps every layer's
    /// output but not the input, which the first layer's gradient reads. Its length is
    /// checked; its values are not (an equal copy gives the same result). The typed
    /// form is the generated `backward`.
    pub fn backward(&mut self, net: &N, x: &[f32], grads: &mut Gradients<N>) {
        assert!(
            self.trained && x.len() == self.batch * N::IN,
            "{}: backward needs the input of the training forward pass before it \
             ({} rows), got {} values",
            N::NAME,
            self.batch,
            x.len()
        );
        assert!(
            self.has_output_grad,
            "{}: backward needs the loss's gradient first: call `tape.loss(..)`",
            N::NAME
        );
        let dx = if self.input_grad {
            self.dx.resize(x.len(), 0.0);
            Some(&mut self.dx[..])
        } else {
            None
        };
        let io = Backward {
            x,
            y: &self.out,
            dy: &self.dy,
            batch: self.batch,
            cache: &mut self.cache,
        };
        Layer::backward(net, io, dx, &mut grads.data);
        self.has_output_grad = false;
    }
}

/// The gradient of the loss with respect to every parameter of a network `N`, in the
/// order of [`Network::named_params`]. Backward passes add into it, as in PyTorch; zero
/// it before each step.
pub struct Gradients<N> {
    data: Vec<f32>,
    _net: PhantomData<fn() -> N>,
}

impl<N: Network> Default for Gradients<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: Network> Clone for Gradients<N> {
    fn clone(&self) -> Self {
        Gradients {
            data: self.data.clone(),
            _net: PhantomData,
        }
    }
}

impl<N: Network> fmt::Debug for Gradients<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gradients<{}>({} values)", N::NAME, self.data.len())
    }
}

impl<N: Network> Gradients<N> {
    /// All zeros.
    pub fn new() -> Self {
        Gradients {
            data: alloc::vec![0.0; <N as Layer>::PARAMS],
            _net: PhantomData,
        }
    }

    /// Sets every gradient to zero: PyTorch's `optimizer.zero_grad()`.
    pub fn zero(&mut self) {
        self.data.fill(0.0);
    }

    /// Every gradient, in parameter order.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Every gradient, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The gradient of the parameter PyTorch would call `key` (`"fc1.weight"`,
    /// `"0.bias"`), or `None` when `net` has no such parameter.
    pub fn get(&self, net: &N, key: &str) -> Option<&[f32]> {
        let mut found = None;
        let mut offset = 0;
        net.named_params(&mut |module, name, _, values| {
            if found.is_none() && module.is_key(name, key) {
                found = Some(offset..offset + values.len());
            }
            offset += values.len();
        });
        found.map(|r| &self.data[r])
    }
}
