//! Streaming: a recurrent layer one step per call, its state carried between calls in a value
//! whose size the compiler knows. [`GruCell`] and [`LstmCell`] hold a layer's weights
//! transposed, in the order a step reads them; [`GruState`] and [`LstmState`] are what a step
//! carries. Nothing here touches the heap.

use crate::kernels::recurrent::{GruWeights, LstmWeights, Mat, Steps};
use crate::layers::stream::sealed;
use crate::layers::Stream;
use crate::{GRU, LSTM};

use super::gru::{GruRun, GruStep};
use super::lstm::{LstmRun, LstmStep};

/// A GRU's state between steps: its hidden state `h`, PyTorch's `h_n` for one sample; in a
/// stack of `1 + ABOVE` layers, `h` is the first layer's and `above_h` the others', as
/// PyTorch's `h_n[0]`, `h_n[1]`, ...
///
/// Starts at zero ([`GruState::default`]), as PyTorch's GRU does without `h0`; set `h` to
/// start from another state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GruState<const H: usize, const ABOVE: usize = 0> {
    /// The (first layer's) hidden state, which in one layer is also the last step's output.
    pub h: [f32; H],
    /// The hidden states of the layers above the first, `_l1` on.
    pub above_h: [[f32; H]; ABOVE],
}

impl<const H: usize, const ABOVE: usize> Default for GruState<H, ABOVE> {
    fn default() -> Self {
        GruState {
            h: [0.0; H],
            above_h: [[0.0; H]; ABOVE],
        }
    }
}

impl<const H: usize, const ABOVE: usize> GruState<H, ABOVE> {
    /// The top layer's hidden state: the last step's output.
    pub fn top(&self) -> &[f32; H] {
        self.above_h.last().unwrap_or(&self.h)
    }
}

/// An LSTM's state between steps: its hidden state `h` and cell state `c`, PyTorch's
/// `(h_n, c_n)` for one sample.
///
/// In a stack of `1 + ABOVE` layers, `h` and `c` are the first layer's and `above_h` and
/// `above_c` the others', as PyTorch's `h_n[0]`, `h_n[1]`, ...
///
/// Starts at zero ([`LstmState::default`]), as PyTorch's LSTM does without `(h0, c0)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmState<const H: usize, const ABOVE: usize = 0> {
    /// The (first layer's) hidden state, which in one layer is also the last step's output.
    pub h: [f32; H],
    /// The (first layer's) cell state.
    pub c: [f32; H],
    /// The hidden states of the layers above the first, `_l1` on.
    pub above_h: [[f32; H]; ABOVE],
    /// The cell states of the layers above the first.
    pub above_c: [[f32; H]; ABOVE],
}

impl<const H: usize, const ABOVE: usize> Default for LstmState<H, ABOVE> {
    fn default() -> Self {
        LstmState {
            h: [0.0; H],
            c: [0.0; H],
            above_h: [[0.0; H]; ABOVE],
            above_c: [[0.0; H]; ABOVE],
        }
    }
}

impl<const H: usize, const ABOVE: usize> LstmState<H, ABOVE> {
    /// The top layer's hidden state: the last step's output.
    pub fn top(&self) -> &[f32; H] {
        self.above_h.last().unwrap_or(&self.h)
    }
}

/// A [`GRU`]'s weights laid out for streaming, one step per call: each input's weights to
/// the `3 · H` gates side by side (the transpose of PyTorch's `weight_ih_l0` and
/// `weight_hh_l0`), so that a step runs down the gates in vector registers.
///
/// Made from a layer by [`GruCell::new`] (a `const fn`, so that a cell of baked weights can be
/// a `static` in flash) or refreshed in place by [`GruCell::load`] after training. A step
/// gives the same bits as the layer's own passes over the same inputs.
///
/// `3 · H · (IN + H + 2)` floats: a large one belongs on the heap, made there by
/// [`GruCell::boxed`].
///
/// ```
/// use nn::{GruCell, GruState, Layer, Rng, GRU};
/// let mut gru: GRU<1, 8, 100> = nn::Zeroable::zeroed();
/// gru.init(&mut Rng::seed(0));
/// let cell = GruCell::new(&gru);
/// let mut state = GruState::default();
/// let signal: Vec<f32> = (0..100).map(|t| (t as f32 * 0.1).sin()).collect();
/// let mut last = [0.0; 8];
/// for x in &signal {
///     last = *cell.step(&[*x], &mut state);
/// }
/// // The layer over the whole signal ends in the same state, bit for bit.
/// let mut y = vec![0.0; 800];
/// gru.forward(&signal, &mut y);
/// assert_eq!(y[792..], last);
/// ```
#[derive(Clone, Debug, PartialEq)]
// Aligned to a cache line, so that a step's vector loads of the weights never straddle two.
#[repr(C, align(64))]
pub struct GruCell<const IN: usize, const H: usize> {
    /// `[IN, 3, H]`: input `k`'s weights to gates r, z, n.
    w_ih: [[[f32; H]; 3]; IN],
    /// `[H, 3, H]`: hidden unit `k`'s weights to gates r, z, n.
    w_hh: [[[f32; H]; 3]; H],
    b_ih: [[f32; H]; 3],
    b_hh: [[f32; H]; 3],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const IN: usize, const H: usize> bytemuck::Zeroable for GruCell<IN, H> {}

impl<const IN: usize, const H: usize> GruCell<IN, H> {
    /// The cell of `gru`'s weights.
    pub const fn new<const T: usize, const LAST: bool>(gru: &GRU<IN, H, T, LAST>) -> Self {
        let mut cell = GruCell {
            w_ih: [[[0.0; H]; 3]; IN],
            w_hh: [[[0.0; H]; 3]; H],
            b_ih: gru.bias_ih_l0,
            b_hh: gru.bias_hh_l0,
        };
        let mut g = 0;
        while g < 3 {
            let mut j = 0;
            while j < H {
                let mut k = 0;
                while k < IN {
                    cell.w_ih[k][g][j] = gru.weight_ih_l0[g][j][k];
                    k += 1;
                }
                k = 0;
                while k < H {
                    cell.w_hh[k][g][j] = gru.weight_hh_l0[g][j][k];
                    k += 1;
                }
                j += 1;
            }
            g += 1;
        }
        cell
    }

    /// The cell of `gru`'s weights, made on the heap, never on the stack.
    #[cfg(feature = "alloc")]
    pub fn boxed<const T: usize, const LAST: bool>(
        gru: &GRU<IN, H, T, LAST>,
    ) -> alloc::boxed::Box<Self> {
        let mut cell: alloc::boxed::Box<Self> = bytemuck::zeroed_box();
        cell.load(gru);
        cell
    }

    /// Takes `gru`'s weights, in place (after a training step, or on the heap).
    pub fn load<const T: usize, const LAST: bool>(&mut self, gru: &GRU<IN, H, T, LAST>) {
        self.load_first(gru);
    }

    /// Takes the first layer's weights of `gru`, in place: all of them in one layer.
    pub(super) fn load_first<const T: usize, const LAST: bool, const ABOVE: usize>(
        &mut self,
        gru: &GRU<IN, H, T, LAST, ABOVE>,
    ) {
        for g in 0..3 {
            for j in 0..H {
                for k in 0..IN {
                    self.w_ih[k][g][j] = gru.weight_ih_l0[g][j][k];
                }
                for k in 0..H {
                    self.w_hh[k][g][j] = gru.weight_hh_l0[g][j][k];
                }
            }
        }
        self.b_ih = gru.bias_ih_l0;
        self.b_hh = gru.bias_hh_l0;
    }

    /// The weights as a step reads them.
    pub(crate) fn weights(&self) -> GruWeights<'_> {
        GruWeights {
            ih: Mat::Cols(self.w_ih.as_flattened().as_flattened()),
            hh: Mat::Cols(self.w_hh.as_flattened().as_flattened()),
            b_ih: self.b_ih.as_flattened(),
            b_hh: self.b_hh.as_flattened(),
        }
    }

    /// One step: the input `x` of this step moves `state` on; returns the step's output,
    /// the new hidden state. No heap.
    pub fn step<'s>(&self, x: &[f32; IN], state: &'s mut GruState<H>) -> &'s [f32; H] {
        GruStep {
            w: self.weights(),
            x,
            h: &mut state.h,
        }
        .go();
        &state.h
    }

    /// Steps through `x`, `[steps, IN]` flat, from `state`, writing each step's output into
    /// `y`, `[steps, H]` (or nothing, when `y` is empty); `state` is left after the last step.
    ///
    /// # Panics
    /// If `x` is not a whole number of steps, or `y` is neither empty nor `steps · H` long.
    pub fn forward_sequence(&self, x: &[f32], state: &mut GruState<H>, y: &mut [f32]) {
        let steps = x.len() / IN.max(1);
        assert!(
            x.len() == steps * IN && (y.is_empty() || y.len() == steps * H),
            "GruCell<{IN}, {H}>: {} inputs and {} outputs are not [steps, {IN}] and \
             [steps, {H}]",
            x.len(),
            y.len()
        );
        GruRun::<IN, H> {
            w: self.weights(),
            x,
            y,
            steps,
            last: false,
            state: &mut state.h,
            keep: None,
        }
        .go();
    }
}

/// An [`LSTM`]'s weights laid out for streaming, one step per call: each input's weights to
/// the `4 · H` gates side by side (the transpose of PyTorch's `weight_ih_l0` and
/// `weight_hh_l0`) and the two biases added, as [`GruCell`] does for a GRU. A large one
/// belongs on the heap, made there by [`LstmCell::boxed`].
///
/// ```
/// use nn::{Layer, LstmCell, LstmState, Rng, LSTM};
/// let mut lstm: LSTM<1, 8, 50> = nn::Zeroable::zeroed();
/// lstm.init(&mut Rng::seed(0));
/// let cell = LstmCell::new(&lstm);
/// let mut state = LstmState::default();
/// let signal: Vec<f32> = (0..50).map(|t| (t as f32 * 0.3).cos()).collect();
/// for x in &signal {
///     cell.step(&[*x], &mut state);
/// }
/// let mut y = vec![0.0; 400];
/// lstm.forward(&signal, &mut y);
/// assert_eq!(y[392..], state.h);
/// ```
#[derive(Clone, Debug, PartialEq)]
// Aligned to a cache line, so that a step's vector loads of the weights never straddle two.
#[repr(C, align(64))]
pub struct LstmCell<const IN: usize, const H: usize> {
    /// `[IN, 4, H]`: input `k`'s weights to gates i, f, g, o.
    w_ih: [[[f32; H]; 4]; IN],
    /// `[H, 4, H]`: hidden unit `k`'s weights to gates i, f, g, o.
    w_hh: [[[f32; H]; 4]; H],
    /// `b_ih + b_hh`.
    b: [[f32; H]; 4],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const IN: usize, const H: usize> bytemuck::Zeroable for LstmCell<IN, H> {}

impl<const IN: usize, const H: usize> LstmCell<IN, H> {
    /// The cell of `lstm`'s weights.
    pub const fn new<const T: usize, const LAST: bool>(lstm: &LSTM<IN, H, T, LAST>) -> Self {
        let mut cell = LstmCell {
            w_ih: [[[0.0; H]; 4]; IN],
            w_hh: [[[0.0; H]; 4]; H],
            b: [[0.0; H]; 4],
        };
        let mut g = 0;
        while g < 4 {
            let mut j = 0;
            while j < H {
                cell.b[g][j] = lstm.bias_ih_l0[g][j] + lstm.bias_hh_l0[g][j];
                let mut k = 0;
                while k < IN {
                    cell.w_ih[k][g][j] = lstm.weight_ih_l0[g][j][k];
                    k += 1;
                }
                k = 0;
                while k < H {
                    cell.w_hh[k][g][j] = lstm.weight_hh_l0[g][j][k];
                    k += 1;
                }
                j += 1;
            }
            g += 1;
        }
        cell
    }

    /// The cell of `lstm`'s weights, made on the heap, never on the stack.
    #[cfg(feature = "alloc")]
    pub fn boxed<const T: usize, const LAST: bool>(
        lstm: &LSTM<IN, H, T, LAST>,
    ) -> alloc::boxed::Box<Self> {
        let mut cell: alloc::boxed::Box<Self> = bytemuck::zeroed_box();
        cell.load(lstm);
        cell
    }

    /// Takes `lstm`'s weights, in place (after a training step, or on the heap).
    pub fn load<const T: usize, const LAST: bool>(&mut self, lstm: &LSTM<IN, H, T, LAST>) {
        self.load_first(lstm);
    }

    /// Takes the first layer's weights of `lstm`, in place: all of them in one layer.
    pub(super) fn load_first<const T: usize, const LAST: bool, const ABOVE: usize>(
        &mut self,
        lstm: &LSTM<IN, H, T, LAST, ABOVE>,
    ) {
        for g in 0..4 {
            for j in 0..H {
                self.b[g][j] = lstm.bias_ih_l0[g][j] + lstm.bias_hh_l0[g][j];
                for k in 0..IN {
                    self.w_ih[k][g][j] = lstm.weight_ih_l0[g][j][k];
                }
                for k in 0..H {
                    self.w_hh[k][g][j] = lstm.weight_hh_l0[g][j][k];
                }
            }
        }
    }

    /// The weights as a step reads them.
    pub(crate) fn weights(&self) -> LstmWeights<'_> {
        LstmWeights {
            ih: Mat::Cols(self.w_ih.as_flattened().as_flattened()),
            hh: Mat::Cols(self.w_hh.as_flattened().as_flattened()),
            b: self.b.as_flattened(),
        }
    }

    /// One step: the input `x` of this step moves `state` on; returns the step's output,
    /// the new hidden state. No heap.
    pub fn step<'s>(&self, x: &[f32; IN], state: &'s mut LstmState<H>) -> &'s [f32; H] {
        LstmStep {
            w: self.weights(),
            x,
            h: &mut state.h,
            c: &mut state.c,
        }
        .go();
        &state.h
    }

    /// Steps through `x`, `[steps, IN]` flat, from `state`, writing each step's output into
    /// `y`, `[steps, H]` (or nothing, when `y` is empty); `state` is left after the last step.
    ///
    /// # Panics
    /// If `x` is not a whole number of steps, or `y` is neither empty nor `steps · H` long.
    pub fn forward_sequence(&self, x: &[f32], state: &mut LstmState<H>, y: &mut [f32]) {
        let steps = x.len() / IN.max(1);
        assert!(
            x.len() == steps * IN && (y.is_empty() || y.len() == steps * H),
            "LstmCell<{IN}, {H}>: {} inputs and {} outputs are not [steps, {IN}] and \
             [steps, {H}]",
            x.len(),
            y.len()
        );
        LstmRun::<IN, H> {
            w: self.weights(),
            x,
            y,
            steps,
            last: false,
            state,
            keep: None,
        }
        .go();
    }
}

impl<const IN: usize, const H: usize> sealed::Sealed for GruCell<IN, H> {}
/// [`GruCell::step`], within a stack's step: the output is the new hidden state.
impl<const IN: usize, const H: usize> Stream for GruCell<IN, H> {
    type In = [f32; IN];
    type Out = [f32; H];
    type State = GruState<H>;

    #[inline(always)]
    fn step_with<const FMA: bool, const WIDE: bool>(
        &self,
        x: &[f32; IN],
        state: &mut GruState<H>,
        y: &mut [f32; H],
    ) {
        GruStep {
            w: self.weights(),
            x,
            h: &mut state.h,
        }
        .run::<FMA, WIDE>();
        *y = state.h;
    }
}

impl<const IN: usize, const H: usize> sealed::Sealed for LstmCell<IN, H> {}
/// [`LstmCell::step`], within a stack's step: the output is the new hidden state.
impl<const IN: usize, const H: usize> Stream for LstmCell<IN, H> {
    type In = [f32; IN];
    type Out = [f32; H];
    type State = LstmState<H>;

    #[inline(always)]
    fn step_with<const FMA: bool, const WIDE: bool>(
        &self,
        x: &[f32; IN],
        state: &mut LstmState<H>,
        y: &mut [f32; H],
    ) {
        LstmStep {
            w: self.weights(),
            x,
            h: &mut state.h,
            c: &mut state.c,
        }
        .run::<FMA, WIDE>();
        *y = state.h;
    }
}
