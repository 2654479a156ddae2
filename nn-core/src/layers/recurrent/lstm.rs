//! `LSTM<IN, H, T>`: PyTorch's `nn.LSTM(IN, H, batch_first=True)`, one layer, over `T` steps.

use core::fmt;

use crate::kernels::recurrent::{lstm_step_fixed, run, LstmWeights, Mat, Steps, LSTM_KEEP};
use crate::{Backward, Layer, LstmCell, LstmLayer, LstmState, Rng};

use super::stack::{kept_per_layer, LstmStackRun, MAX_LAYERS, NAMES};
use super::through_time::lstm_back;
use super::{add_outer, add_rows, init_uniform, times_weight, transpose, STACK_CELL};

/// A long short-term memory over `T` steps of `IN` features, as PyTorch's
/// `nn.LSTM(IN, H, batch_first=True)`: gates in PyTorch's order (i, f, g, o),
///
/// ```text
/// i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
/// g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
/// c' = f ⊙ c + i ⊙ g
/// h' = o ⊙ tanh(c')
/// ```
///
/// from a zero state. With `LAST = false` (the default) the output is every step's `h`, as
/// PyTorch's `out`; with `LAST = true` it is the last step's alone, `out[:, -1]`. In
/// `network!`: `LSTM<IN, H, T>` and `LSTM<IN, H, T, last = true>`.
///
/// Stacked, as PyTorch's `nn.LSTM(IN, H, num_layers=L, batch_first=True)`: `ABOVE = L - 1`
/// layers ([`LstmLayer`]) run above the first, each reading the hidden state of the one
/// below; the output is the top layer's. In `network!`: `LSTM<IN, H, T, num_layers = L>`, up
/// to 8.
///
/// # Shapes
/// - input `[batch, T · IN]`: `T` steps of `IN` features, row-major (`batch_first`)
/// - output `[batch, T · H]`, or `[batch, H]` with `LAST`
/// - `weight_ih_l0`: `[4H, IN]`, `weight_hh_l0`: `[4H, H]`, `bias_ih_l0` and `bias_hh_l0`:
///   `[4H]`, PyTorch's names and layouts; the fields are `[4][H]…`, the same memory
/// - layer `K` of a stack, `above[K - 1]`: `weight_ih_lK` and `weight_hh_lK` `[4H, H]`,
///   `bias_ih_lK` and `bias_hh_lK` `[4H]`
///
/// Initialised as PyTorch does: every parameter uniform in `±1/sqrt(H)`.
///
/// For streaming, one step per call with the state carried between calls, make an
/// [`LstmCell`] ([`LSTM::cell`]) or call [`LSTM::step`], which reads these weights in place.
///
/// ```
/// use nn::{Layer, LstmState, Rng, LSTM};
/// let mut lstm: LSTM<2, 3, 4, true> = nn::Zeroable::zeroed();
/// lstm.init(&mut Rng::seed(0));
/// let x = [0.5, -1.0, 0.25, 0.0, 1.0, 2.0, -0.5, 0.75]; // 4 steps of 2 features
/// let mut last = [0.0; 3];
/// lstm.forward(&x, &mut last);
/// let mut state = LstmState::default();
/// for t in 0..4 {
///     lstm.step(&[x[2 * t], x[2 * t + 1]], &mut state);
/// }
/// assert_eq!(state.h, last);
/// assert_eq!(<LSTM<2, 3, 4> as Layer>::PARAMS, 12 * 2 + 12 * 3 + 24);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
#[allow(clippy::upper_case_acronyms)] // PyTorch's name
pub struct LSTM<
    const IN: usize,
    const H: usize,
    const T: usize,
    const LAST: bool = false,
    const ABOVE: usize = 0,
> {
    /// `[4H, IN]`: `W_ii`, `W_if`, `W_ig`, `W_io`.
    pub weight_ih_l0: [[[f32; IN]; H]; 4],
    /// `[4H, H]`: `W_hi`, `W_hf`, `W_hg`, `W_ho`.
    pub weight_hh_l0: [[[f32; H]; H]; 4],
    /// `[4H]`: `b_ii`, `b_if`, `b_ig`, `b_io`.
    pub bias_ih_l0: [[f32; H]; 4],
    /// `[4H]`: `b_hi`, `b_hf`, `b_hg`, `b_ho`.
    pub bias_hh_l0: [[f32; H]; 4],
    /// The layers above the first, `_l1` on, in a stack; none in one layer.
    pub above: [LstmLayer<H>; ABOVE],
}

// SAFETY: the fields are `f32` arrays and layers of them, and all-zero bits are the valid
// value 0.0.
unsafe impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize>
    bytemuck::Zeroable for LSTM<IN, H, T, LAST, ABOVE>
{
}

clone_in_place!(LSTM<const IN: usize, const H: usize, const T: usize, const LAST: bool,
    const ABOVE: usize> {
    weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, above
});

impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize>
    LSTM<IN, H, T, LAST, ABOVE>
{
    /// Refuses a stack taller than PyTorch's names here reach.
    const FITS: () = assert!(ABOVE < MAX_LAYERS, "an LSTM stacks at most 8 layers");
    /// Floats a stack's training pass keeps per sample: each layer's record.
    const KEPT_STACK: usize = (ABOVE + 1) * kept_per_layer(T, LSTM_KEEP, H);

    /// Floats of a cell, the transposed weights and the summed bias.
    const CELL: usize = 4 * H * (IN + H + 1);
    /// Floats a training pass keeps per sample: what every step keeps and the hidden state
    /// before it.
    const KEPT: usize = T * (LSTM_KEEP + 1) * H;

    /// The two biases added, as a step reads them.
    fn bias(&self) -> [[f32; H]; 4] {
        core::array::from_fn(|g| {
            core::array::from_fn(|j| self.bias_ih_l0[g][j] + self.bias_hh_l0[g][j])
        })
    }

    /// The weights as PyTorch lays them out, read in place, with the biases added in `b`.
    fn weights<'a>(&'a self, b: &'a [[f32; H]; 4]) -> LstmWeights<'a> {
        LstmWeights {
            ih: Mat::Rows(self.weight_ih_l0.as_flattened().as_flattened()),
            hh: Mat::Rows(self.weight_hh_l0.as_flattened().as_flattened()),
            b: b.as_flattened(),
        }
    }

    /// One step, reading the weights in place: the input `x` of this step moves `state` on;
    /// returns the new hidden state. No heap, no copy of the weights; an [`LstmCell`] runs a
    /// step faster, with the same result bit for bit.
    ///
    /// A stack carries every layer's state in `state` and returns the top layer's.
    pub fn step<'s>(&self, x: &[f32; IN], state: &'s mut LstmState<H, ABOVE>) -> &'s [f32; H] {
        if ABOVE == 0 {
            let b = self.bias();
            let LstmState { h, c, .. } = state;
            LstmStep {
                w: self.weights(&b),
                x,
                h,
                c,
            }
            .go();
        } else {
            self.stack(x, &mut [], 1, state, None);
        }
        state.top()
    }

    /// `steps` steps of every sample in `x` through the stack, each sample from `state`
    /// (left as the last sample's last); `keep` as in [`LstmStackRun`].
    pub(super) fn stack(
        &self,
        x: &[f32],
        y: &mut [f32],
        steps: usize,
        state: &mut LstmState<H, ABOVE>,
        keep: Option<&mut [f32]>,
    ) {
        let () = Self::FITS;
        let b = self.bias();
        let biases: [[[f32; H]; 4]; ABOVE] = core::array::from_fn(|l| self.above[l].bias());
        LstmStackRun::<H, ABOVE> {
            first: self.weights(&b),
            above: core::array::from_fn(|l| self.above[l].weights(&biases[l])),
            n_in: IN,
            x,
            y,
            steps,
            last: LAST,
            state,
            keep,
        }
        .go();
    }

    /// The transposed weights and summed bias written into `out` (`CELL` floats).
    fn pack(&self, out: &mut [f32]) {
        let (ih, rest) = out.split_at_mut(4 * H * IN);
        let (hh, b) = rest.split_at_mut(4 * H * H);
        transpose(
            self.weight_ih_l0.as_flattened().as_flattened(),
            ih,
            4 * H,
            IN,
        );
        transpose(
            self.weight_hh_l0.as_flattened().as_flattened(),
            hh,
            4 * H,
            H,
        );
        b[..4 * H].copy_from_slice(self.bias().as_flattened());
    }

    /// A cell's weights over `packed`, written by [`LSTM::pack`].
    fn packed(packed: &[f32]) -> LstmWeights<'_> {
        let (ih, rest) = packed.split_at(4 * H * IN);
        let (hh, b) = rest.split_at(4 * H * H);
        LstmWeights {
            ih: Mat::Cols(ih),
            hh: Mat::Cols(hh),
            b,
        }
    }

    /// `batch` samples from a zero state, through the transposed weights when `cache` has
    /// room for them, else through PyTorch's layout in place; `keep` as in [`LstmRun`]. A
    /// stack reads PyTorch's layout in place.
    fn sequences(
        &self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
        keep: Option<(&mut [f32], &mut [f32])>,
    ) {
        let (x, y) = (&x[..batch * T * IN], &mut y[..batch * <Self as Layer>::OUT]);
        if ABOVE > 0 {
            return self.stack(x, y, T, &mut LstmState::default(), None);
        }
        let packed = cache.len() >= Self::CELL;
        if packed {
            self.pack(&mut cache[..Self::CELL]);
        }
        let b = self.bias();
        let w = match packed {
            true => Self::packed(&cache[..Self::CELL]),
            false => self.weights(&b),
        };
        LstmRun::<IN, H> {
            w,
            x,
            y,
            steps: T,
            last: LAST,
            state: &mut LstmState::default(),
            keep,
        }
        .go();
    }

    /// A one-sample pass through a cell made on the stack.
    #[inline(never)]
    fn forward_packed(&self, x: &[f32], y: &mut [f32]) {
        // Filled in place: `LstmCell::new` returns its value, which an unoptimised build copies.
        let mut cell: LstmCell<IN, H> = bytemuck::Zeroable::zeroed();
        cell.load_first(self);
        LstmRun::<IN, H> {
            w: cell.weights(),
            x: &x[..T * IN],
            y,
            steps: T,
            last: LAST,
            state: &mut LstmState::default(),
            keep: None,
        }
        .go();
    }
}

#[diagnostic::do_not_recommend]
impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize> Layer
    for LSTM<IN, H, T, LAST, ABOVE>
{
    const IN: usize = T * IN;
    const OUT: usize = if LAST { H } else { T * H };
    const PARAMS: usize = 4 * H * (IN + H + 2) + ABOVE * 4 * H * (2 * H + 2);

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LSTM<{IN}, {H}, {T}")?;
        if LAST {
            f.write_str(", last = true")?;
        }
        if ABOVE > 0 {
            write!(f, ", num_layers = {}", ABOVE + 1)?;
        }
        f.write_str(">")
    }

    fn init(&mut self, rng: &mut Rng) {
        init_uniform::<H>(
            [
                self.weight_ih_l0.as_flattened_mut().as_flattened_mut(),
                self.weight_hh_l0.as_flattened_mut().as_flattened_mut(),
                self.bias_ih_l0.as_flattened_mut(),
                self.bias_hh_l0.as_flattened_mut(),
            ],
            rng,
        );
        for layer in &mut self.above {
            init_uniform::<H>(layer.tensors_mut(), rng);
        }
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let y = &mut y[..<Self as Layer>::OUT];
        if ABOVE > 0 {
            self.stack(&x[..T * IN], y, T, &mut LstmState::default(), None);
        } else if core::mem::size_of::<LstmCell<IN, H>>() <= STACK_CELL {
            self.forward_packed(x, y);
        } else {
            self.sequences(x, y, 1, &mut [], None);
        }
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, cache: &mut [f32]) {
        self.sequences(x, y, batch, cache, None);
    }

    /// The cell, then what backward reads for every sample (what each step keeps and the
    /// hidden state before it), then backward's gradients of the gates, `[batch · T, 4H]`. A
    /// stack keeps each layer's record instead of the cell.
    fn cache_len(batch: usize) -> usize {
        match ABOVE {
            0 => Self::CELL + batch * Self::KEPT + batch * T * 4 * H,
            _ => batch * Self::KEPT_STACK + batch * T * 4 * H,
        }
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), crate::TrainError> {
        if ABOVE > 0 {
            let (x, y) = (&x[..batch * T * IN], &mut y[..batch * <Self as Layer>::OUT]);
            let keep = &mut cache[..batch * Self::KEPT_STACK];
            self.stack(x, y, T, &mut LstmState::default(), Some(keep));
            return Ok(());
        }
        let (cell, rest) = cache.split_at_mut(Self::CELL);
        let (kept, rest) = rest.split_at_mut(batch * T * LSTM_KEEP * H);
        let before = &mut rest[..batch * T * H];
        self.sequences(x, y, batch, cell, Some((kept, before)));
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        if ABOVE > 0 {
            return self.backward_stack(io, dx, grad);
        }
        let (batch, n) = (io.batch, io.batch * T);
        let rest = &mut io.cache[Self::CELL..];
        let (kept, rest) = rest.split_at_mut(batch * Self::KEPT);
        let (steps, before) = kept.split_at(n * LSTM_KEEP * H);
        let da = &mut rest[..n * 4 * H];
        let w_hh = self.weight_hh_l0.as_flattened().as_flattened();
        lstm_back::<H>(w_hh, steps, io.dy, LAST, (batch, T), da, None, None);
        let (g_ih, rest) = grad.split_at_mut(4 * H * IN);
        let (g_hh, rest) = rest.split_at_mut(4 * H * H);
        let (g_bih, g_bhh) = rest.split_at_mut(4 * H);
        add_outer(g_ih, da, io.x, n, 4 * H, IN);
        add_outer(g_hh, da, before, n, 4 * H, H);
        add_rows(g_bih, da, 4 * H);
        add_rows(&mut g_bhh[..4 * H], da, 4 * H);
        if let Some(dx) = dx {
            let w_ih = self.weight_ih_l0.as_flattened().as_flattened();
            times_weight(dx, da, w_ih, n, 4 * H, IN);
        }
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        f(
            "weight_ih_l0",
            &[4 * H, IN],
            self.weight_ih_l0.as_flattened().as_flattened(),
        );
        f(
            "weight_hh_l0",
            &[4 * H, H],
            self.weight_hh_l0.as_flattened().as_flattened(),
        );
        f("bias_ih_l0", &[4 * H], self.bias_ih_l0.as_flattened());
        f("bias_hh_l0", &[4 * H], self.bias_hh_l0.as_flattened());
        for (layer, names) in self.above.iter().zip(&NAMES[1..]) {
            let shapes: [&[usize]; 4] = [&[4 * H, H], &[4 * H, H], &[4 * H], &[4 * H]];
            for ((name, shape), values) in names.iter().zip(shapes).zip(layer.tensors()) {
                f(name, shape, values);
            }
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        f(
            "weight_ih_l0",
            self.weight_ih_l0.as_flattened_mut().as_flattened_mut(),
        );
        f(
            "weight_hh_l0",
            self.weight_hh_l0.as_flattened_mut().as_flattened_mut(),
        );
        f("bias_ih_l0", self.bias_ih_l0.as_flattened_mut());
        f("bias_hh_l0", self.bias_hh_l0.as_flattened_mut());
        for (layer, names) in self.above.iter_mut().zip(&NAMES[1..]) {
            for (name, values) in names.iter().zip(layer.tensors_mut()) {
                f(name, values);
            }
        }
    }
}

impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize>
    LSTM<IN, H, T, LAST, ABOVE>
{
    /// Backpropagation through a stack, from the top layer down: each layer's gradient
    /// with respect to its input becomes the upstream gradient of the layer below, written
    /// over the record of that layer's outputs once the layer above has read them.
    fn backward_stack(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let (batch, n) = (io.batch, io.batch * T);
        let per_layer = kept_per_layer(n, LSTM_KEEP, H);
        let (kept, rest) = io.cache.split_at_mut((ABOVE + 1) * per_layer);
        let da = &mut rest[..n * 4 * H];
        let (g_first, g_above) = grad.split_at_mut(4 * H * (IN + H + 2));
        let mut dx = dx;
        for l in (0..=ABOVE).rev() {
            let (below, this) = kept.split_at_mut(l * per_layer);
            let (steps, rest) = this[..per_layer].split_at(n * LSTM_KEEP * H);
            let (before, out) = rest.split_at(n * H);
            let (w_ih, w_hh, n_in, g) = match l {
                0 => (
                    self.weight_ih_l0.as_flattened().as_flattened(),
                    self.weight_hh_l0.as_flattened().as_flattened(),
                    IN,
                    &mut *g_first,
                ),
                _ => {
                    let [w_ih, w_hh, ..] = self.above[l - 1].tensors();
                    let size = 4 * H * (2 * H + 2);
                    (w_ih, w_hh, H, &mut g_above[(l - 1) * size..l * size])
                }
            };
            match l {
                _ if l == ABOVE => {
                    lstm_back::<H>(w_hh, steps, io.dy, LAST, (batch, T), da, None, None)
                }
                _ => lstm_back::<H>(w_hh, steps, out, false, (batch, T), da, None, None),
            }
            // The layer's input: the network's, or the outputs of the layer below.
            let x: &[f32] = match l {
                0 => io.x,
                _ => &below[(l - 1) * per_layer + n * (LSTM_KEEP + 1) * H..][..n * H],
            };
            let (g_ih, rest) = g.split_at_mut(4 * H * n_in);
            let (g_hh, rest) = rest.split_at_mut(4 * H * H);
            let (g_bih, g_bhh) = rest.split_at_mut(4 * H);
            add_outer(g_ih, da, x, n, 4 * H, n_in);
            add_outer(g_hh, da, before, n, 4 * H, H);
            add_rows(g_bih, da, 4 * H);
            add_rows(&mut g_bhh[..4 * H], da, 4 * H);
            let dx = match l {
                0 => dx.as_deref_mut(),
                _ => Some(&mut below[(l - 1) * per_layer + n * (LSTM_KEEP + 1) * H..][..n * H]),
            };
            if let Some(dx) = dx {
                times_weight(dx, da, w_ih, n, 4 * H, n_in);
            }
        }
    }
}

impl<const IN: usize, const H: usize, const T: usize, const LAST: bool> LSTM<IN, H, T, LAST> {
    /// The weights laid out for streaming: [`LstmCell::new`].
    pub fn cell(&self) -> LstmCell<IN, H> {
        LstmCell::new(self)
    }
}

/// Samples through an LSTM, each from `state`, on the vector unit [`run`] picks.
pub(super) struct LstmRun<'a, const IN: usize, const H: usize> {
    pub w: LstmWeights<'a>,
    /// `[samples, steps, IN]`.
    pub x: &'a [f32],
    /// `[samples, steps, H]`, or `[samples, H]` with `last`; empty for no output.
    pub y: &'a mut [f32],
    pub steps: usize,
    /// Whether the output is the last step's alone.
    pub last: bool,
    /// The state every sample starts from; left as the last sample's last.
    pub state: &'a mut LstmState<H>,
    /// For training: what each step keeps, `[samples · steps, LSTM_KEEP · H]`, and the
    /// hidden state before it, `[samples · steps, H]`.
    pub keep: Option<(&'a mut [f32], &'a mut [f32])>,
}

impl<const IN: usize, const H: usize> LstmRun<'_, IN, H> {
    /// Runs the samples.
    pub fn go(self) {
        run(self)
    }
}

impl<const IN: usize, const H: usize> Steps for LstmRun<'_, IN, H> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        let start = *self.state;
        let per = self.steps * IN;
        let samples = self.x.len() / per.max(1);
        let out = if self.last { H } else { self.steps * H };
        let mut keep = self.keep;
        let (mut h, mut c) = (start.h, start.c);
        for s in 0..samples {
            (h, c) = (start.h, start.c);
            for t in 0..self.steps {
                let at = s * self.steps + t;
                let x = &self.x[at * IN..(at + 1) * IN];
                let slot = match &mut keep {
                    Some((kept, before)) => {
                        before[at * H..(at + 1) * H].copy_from_slice(&h);
                        Some(&mut kept[at * LSTM_KEEP * H..(at + 1) * LSTM_KEEP * H])
                    }
                    None => None,
                };
                lstm_step_fixed::<FMA, WIDE, IN, H>(&self.w, x, &mut h, &mut c, slot);
                if !self.last && !self.y.is_empty() {
                    self.y[at * H..(at + 1) * H].copy_from_slice(&h);
                }
            }
            if self.last && !self.y.is_empty() {
                self.y[s * out..(s + 1) * out].copy_from_slice(&h);
            }
        }
        (self.state.h, self.state.c) = (h, c);
    }
}

/// One step of one sample, on the vector unit [`run`] picks.
pub(super) struct LstmStep<'a, const IN: usize, const H: usize> {
    pub w: LstmWeights<'a>,
    pub x: &'a [f32; IN],
    pub h: &'a mut [f32; H],
    pub c: &'a mut [f32; H],
}

impl<const IN: usize, const H: usize> LstmStep<'_, IN, H> {
    /// Runs the step.
    #[inline]
    pub fn go(self) {
        run(self)
    }
}

impl<const IN: usize, const H: usize> Steps for LstmStep<'_, IN, H> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        lstm_step_fixed::<FMA, WIDE, IN, H>(&self.w, self.x, self.h, self.c, None);
    }
}
