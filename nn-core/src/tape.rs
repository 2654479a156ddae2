//! Training state that lives outside the model: the tape of activations a backward pass
//! reads, and the gradients it fills.

use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use crate::loss::Loss;
use crate::{Backward, Network, TrainError};

/// The buffers behind a [`Tape`], independent of the network type so that the macro's
/// generated code can share one implementation.
#[doc(hidden)]
#[derive(Default)]
pub struct TapeBuffers {
    /// Each layer's output, `[batch, OUT_i]`.
    acts: Vec<Vec<f32>>,
    /// Each layer's training cache.
    caches: Vec<Vec<f32>>,
    /// Two gradient buffers, used in turn as a layer's `dy` and `dx`.
    grads: [Vec<f32>; 2],
    /// Which of `grads` holds the current `dy`.
    cur: usize,
    batch: usize,
    /// Address and length of the input of the last training pass, so that backward can
    /// check it is given the same one.
    input: (usize, usize),
    /// Whether an output gradient is waiting for backward.
    has_output_grad: bool,
    /// Per residual block, the output gradient that goes around the block.
    stash: Vec<Vec<f32>>,
}

impl TapeBuffers {
    fn prepare<N: Network>(&mut self, x: &[f32]) -> usize {
        assert!(
            x.len().is_multiple_of(N::IN),
            "{}: input of {} values is not a whole number of {}-feature rows",
            N::NAME,
            x.len(),
            N::IN
        );
        let batch = x.len() / N::IN;
        let layers = N::LAYERS;
        self.acts.resize_with(layers.len(), Vec::new);
        self.caches.resize_with(layers.len(), Vec::new);
        let mut widest = N::IN;
        for ((l, act), cache) in layers.iter().zip(&mut self.acts).zip(&mut self.caches) {
            act.resize(batch * l.outputs, 0.0);
            cache.resize(l.cache_len_for(batch), 0.0);
            widest = widest.max(l.outputs);
        }
        for g in &mut self.grads {
            g.resize(batch * widest, 0.0);
        }
        self.batch = batch;
        self.has_output_grad = false;
        batch
    }

    /// The batch's row count.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// For layer `i` of a forward pass: its input (`x` for the first layer), its output
    /// buffer and its cache.
    pub fn forward_io<'a>(
        &'a mut self,
        i: usize,
        x: &'a [f32],
    ) -> (&'a [f32], &'a mut [f32], &'a mut [f32]) {
        let (before, from) = self.acts.split_at_mut(i);
        let input = if i == 0 { x } else { &before[i - 1][..] };
        (input, &mut from[0][..], &mut self.caches[i][..])
    }

    /// For layer `i` of a backward pass: what it reads (its input and output in the
    /// forward pass, the gradient with respect to its output, its cache) and the buffer
    /// for the gradient with respect to its input. Call [`TapeBuffers::next_layer`] after
    /// each layer.
    pub fn backward_io<'a>(&'a mut self, i: usize, x: &'a [f32]) -> (Backward<'a>, &'a mut [f32]) {
        let input = if i == 0 { x } else { &self.acts[i - 1][..] };
        let output = &self.acts[i][..];
        let [g0, g1] = &mut self.grads;
        let (dy, dx) = if self.cur == 0 { (g0, g1) } else { (g1, g0) };
        let io = Backward {
            x: input,
            y: output,
            dy: &dy[..output.len()],
            batch: self.batch,
            cache: &self.caches[i][..],
        };
        (io, &mut dx[..input.len()])
    }

    /// Adds the input of layer `start` to the output of layer `end`: a residual block
    /// from `start` to `end` (the block's `ResidualAdd`).
    pub fn add_block_input(&mut self, start: usize, end: usize, x: &[f32]) {
        let (before, from) = self.acts.split_at_mut(end);
        let input = if start == 0 {
            x
        } else {
            &before[start - 1][..]
        };
        for (y, x) in from[0].iter_mut().zip(input) {
            *y += x;
        }
    }

    /// Keeps the output gradient of layer `end` (a block's `ResidualAdd`) as block `k`'s
    /// gradient around the block.
    pub fn stash_output_grad(&mut self, k: usize, end: usize) {
        if self.stash.len() <= k {
            self.stash.resize_with(k + 1, Vec::new);
        }
        let n = self.acts[end].len();
        let dy = &self.grads[self.cur][..n];
        self.stash[k].clear();
        self.stash[k].extend_from_slice(dy);
    }

    /// Adds block `k`'s gradient around the block into the input gradient just written by
    /// layer `start`, the block's first.
    pub fn add_stash_to_input_grad(&mut self, k: usize) {
        let dx = &mut self.grads[1 - self.cur];
        for (d, s) in dx.iter_mut().zip(&self.stash[k]) {
            *d += s;
        }
    }

    /// Makes the input gradient just written the output gradient of the layer before.
    pub fn next_layer(&mut self) {
        self.cur = 1 - self.cur;
    }

    fn output(&self) -> &[f32] {
        self.acts.last().map_or(&[], |a| &a[..])
    }
}

/// What a training step keeps between the forward and the backward pass: every layer's
/// output, the layers' caches and the gradient buffers. Reused from step to step, it
/// allocates only when a batch is larger than any before it. Batch inference uses it as
/// scratch space too.
///
/// ```
/// # extern crate nn_core as nn;
/// nn_macros::network! { struct Tiny<Linear<2, 3>, ReLU, Linear<3, 1>> }
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
    bufs: TapeBuffers,
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
            bufs: TapeBuffers::default(),
            _net: PhantomData,
        }
    }

    /// The rows of the last forward pass.
    pub fn batch(&self) -> usize {
        self.bufs.batch
    }

    /// The network's output from the last forward pass, `[batch, OUT]`.
    pub fn output(&self) -> &[f32] {
        self.bufs.output()
    }

    /// Batch inference over flat slices (`x` is `[batch, IN]`); returns `[batch, OUT]`.
    /// The typed form is the generated `forward_batch`.
    pub fn infer(&mut self, net: &N, x: &[f32]) -> &[f32] {
        self.bufs.prepare::<N>(x);
        net.__forward_batch(x, &mut self.bufs);
        self.bufs.output()
    }

    /// The training forward pass over flat slices; returns `[batch, OUT]`. The typed
    /// form is the generated `forward_train`.
    pub fn forward(&mut self, net: &mut N, x: &[f32]) -> Result<&[f32], TrainError> {
        let batch = self.bufs.prepare::<N>(x);
        if batch == 0 {
            return Err(TrainError::EmptyBatch);
        }
        self.bufs.input = (0, 0);
        net.__forward_train(x, &mut self.bufs)?;
        self.bufs.input = (x.as_ptr() as usize, x.len());
        Ok(self.bufs.output())
    }

    /// Computes `loss` of the last output against `target`, and stores its gradient for
    /// the backward pass. Returns the loss.
    pub fn loss<T: ?Sized, L: Loss<T>>(&mut self, loss: &L, target: &T) -> f32 {
        let b = &mut self.bufs;
        let out = b.acts.last().map_or(&[][..], |a| &a[..]);
        let grad = &mut b.grads[0][..out.len()];
        let value = loss.loss(out, N::OUT, target, Some(grad));
        self.bufs.cur = 0;
        self.bufs.has_output_grad = true;
        value
    }

    /// The gradient of the loss with respect to the output, `[batch, OUT]`, to fill by
    /// hand instead of calling [`Tape::loss`].
    pub fn output_grad_mut(&mut self) -> &mut [f32] {
        let n = self.bufs.output().len();
        self.bufs.cur = 0;
        self.bufs.has_output_grad = true;
        &mut self.bufs.grads[0][..n]
    }

    /// The backward pass over flat slices: adds every parameter's gradient into `grads`.
    /// `x` must be the input of the last [`Tape::forward`]. The typed form is the
    /// generated `backward`.
    pub fn backward(&mut self, net: &N, x: &[f32], grads: &mut Gradients<N>) {
        assert!(
            self.bufs.input == (x.as_ptr() as usize, x.len()) && self.bufs.input.1 != 0,
            "{}: backward needs the same input as the training forward pass before it",
            N::NAME
        );
        assert!(
            self.bufs.has_output_grad,
            "{}: backward needs the loss's gradient first: call `tape.loss(..)`",
            N::NAME
        );
        net.__backward(x, &mut self.bufs, &mut grads.data);
        self.bufs.has_output_grad = false;
    }
}

/// The gradient of the loss with respect to every parameter of a network `N`, in the
/// order of [`Network::visit_params`]. Backward passes add into it, as in PyTorch; zero
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
            data: alloc::vec![0.0; N::PARAMS],
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
        net.visit_params(&mut |layer, name, _, values| {
            let matches = key
                .strip_prefix(layer)
                .and_then(|rest| rest.strip_prefix('.'))
                == Some(name);
            if matches && found.is_none() {
                found = Some(offset..offset + values.len());
            }
            offset += values.len();
        });
        found.map(|r| &self.data[r])
    }
}
