//! `GRU<IN, H, T>`: PyTorch's `nn.GRU(IN, H, batch_first=True)`, one layer, over `T` steps.

use core::fmt;

use crate::kernels::recurrent::{gru_step_fixed, run, GruWeights, Mat, Steps, GRU_KEEP};
use crate::{Backward, GruCell, GruLayer, GruState, Layer, Rng};

use super::stack::{kept_per_layer, GruStackRun, MAX_LAYERS, NAMES};
use super::through_time::gru_back;
use super::{add_outer, add_rows, init_uniform, times_weight, transpose, STACK_CELL};

/// A gated recurrent unit over `T` steps of `IN` features, as PyTorch's
/// `nn.GRU(IN, H, batch_first=True)`: gates in PyTorch's order (r, z, n),
///
/// ```text
/// r = σ(W_ir x + b_ir + W_hr h + b_hr)
/// z = σ(W_iz x + b_iz + W_hz h + b_hz)
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
/// h' = (1 - z) ⊙ n + z ⊙ h
/// ```
///
/// from a zero state. With `LAST = false` (the default) the output is every step's `h`, as
/// PyTorch's `out`; with `LAST = true` it is the last step's alone, `out[:, -1]`, what a
/// classifier passes to its `Linear`. In `network!`: `GRU<IN, H, T>` and
/// `GRU<IN, H, T, last = true>`.
///
/// Stacked, as PyTorch's `nn.GRU(IN, H, num_layers=L, batch_first=True)`: `ABOVE = L - 1`
/// layers ([`GruLayer`]) run above the first, each reading the hidden state of the one below;
/// the output is the top layer's. In `network!`: `GRU<IN, H, T, num_layers = L>`, up to 8.
///
/// # Shapes
/// - input `[batch, T · IN]`: `T` steps of `IN` features, row-major (`batch_first`)
/// - output `[batch, T · H]`, or `[batch, H]` with `LAST`
/// - `weight_ih_l0`: `[3H, IN]`, `weight_hh_l0`: `[3H, H]`, `bias_ih_l0` and `bias_hh_l0`:
///   `[3H]`, PyTorch's names and layouts; the fields are `[3][H]…`, the same memory
/// - layer `K` of a stack, `above[K - 1]`: `weight_ih_lK` and `weight_hh_lK` `[3H, H]`,
///   `bias_ih_lK` and `bias_hh_lK` `[3H]`
///
/// Initialised as PyTorch does: every parameter uniform in `±1/sqrt(H)`.
///
/// For streaming, one step per call with the state carried between calls, make a
/// [`GruCell`] ([`GRU::cell`]) or call [`GRU::step`], which reads these weights in place.
///
/// ```
/// use nn::{GruState, Layer, Rng, GRU};
/// let mut gru: GRU<2, 3, 4> = nn::Zeroable::zeroed();
/// gru.init(&mut Rng::seed(0));
/// let x = [0.5, -1.0, 0.25, 0.0, 1.0, 2.0, -0.5, 0.75]; // 4 steps of 2 features
/// let mut y = [0.0; 12];
/// gru.forward(&x, &mut y);
/// // Step by step from a zero state, the same outputs.
/// let mut state = GruState::default();
/// for t in 0..4 {
///     let h = gru.step(&[x[2 * t], x[2 * t + 1]], &mut state);
///     assert_eq!(h[..], y[3 * t..3 * t + 3]);
/// }
/// assert_eq!(<GRU<2, 3, 4> as Layer>::PARAMS, 9 * 2 + 9 * 3 + 18);
/// assert_eq!(<GRU<2, 3, 4, true> as Layer>::OUT, 3);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
#[allow(clippy::upper_case_acronyms)] // PyTorch's name
pub struct GRU<
    const IN: usize,
    const H: usize,
    const T: usize,
    const LAST: bool = false,
    const ABOVE: usize = 0,
> {
    /// `[3H, IN]`: `W_ir`, `W_iz`, `W_in`.
    pub weight_ih_l0: [[[f32; IN]; H]; 3],
    /// `[3H, H]`: `W_hr`, `W_hz`, `W_hn`.
    pub weight_hh_l0: [[[f32; H]; H]; 3],
    /// `[3H]`: `b_ir`, `b_iz`, `b_in`.
    pub bias_ih_l0: [[f32; H]; 3],
    /// `[3H]`: `b_hr`, `b_hz`, `b_hn`.
    pub bias_hh_l0: [[f32; H]; 3],
    /// The layers above the first, `_l1` on, in a stack; none in one layer.
    pub above: [GruLayer<H>; ABOVE],
}

// SAFETY: the fields are `f32` arrays and layers of them, and all-zero bits are the valid
// value 0.0.
unsafe impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize>
    bytemuck::Zeroable for GRU<IN, H, T, LAST, ABOVE>
{
}

clone_in_place!(GRU<const IN: usize, const H: usize, const T: usize, const LAST: bool,
    const ABOVE: usize> {
    weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, above
});

impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize>
    GRU<IN, H, T, LAST, ABOVE>
{
    /// Refuses a stack taller than PyTorch's names here reach.
    const FITS: () = assert!(ABOVE < MAX_LAYERS, "a GRU stacks at most 8 layers");

    /// Floats of a cell, the transposed weights.
    const CELL: usize = 3 * H * (IN + H + 2);
    /// Floats a training pass keeps per sample: the gates of every step and the state
    /// before it.
    const KEPT: usize = T * (GRU_KEEP + 1) * H;
    /// Floats a stack's training pass keeps per sample: each layer's record.
    const KEPT_STACK: usize = (ABOVE + 1) * kept_per_layer(T, GRU_KEEP, H);

    /// The weights as PyTorch lays them out, read in place.
    fn weights(&self) -> GruWeights<'_> {
        GruWeights {
            ih: Mat::Rows(self.weight_ih_l0.as_flattened().as_flattened()),
            hh: Mat::Rows(self.weight_hh_l0.as_flattened().as_flattened()),
            b_ih: self.bias_ih_l0.as_flattened(),
            b_hh: self.bias_hh_l0.as_flattened(),
        }
    }

    /// One step, reading the weights in place: the input `x` of this step moves `state` on;
    /// returns the new hidden state. No heap, no copy of the weights (a microcontroller
    /// streams from weights in flash this way); a [`GruCell`] runs a step faster, with the
    /// same result bit for bit.
    ///
    /// A stack carries every layer's state in `state` and returns the top layer's.
    pub fn step<'s>(&self, x: &[f32; IN], state: &'s mut GruState<H, ABOVE>) -> &'s [f32; H] {
        if ABOVE == 0 {
            GruStep {
                w: self.weights(),
                x,
                h: &mut state.h,
            }
            .go();
        } else {
            self.stack(x, &mut [], 1, state, None);
        }
        state.top()
    }

    /// The weights of the layers above the first, read in place.
    fn above_weights(&self) -> [GruWeights<'_>; ABOVE] {
        core::array::from_fn(|l| self.above[l].weights())
    }

    /// `steps` steps of every sample in `x` through the stack, each sample from `state`
    /// (left as the last sample's last); `keep` as in [`GruStackRun`].
    pub(super) fn stack(
        &self,
        x: &[f32],
        y: &mut [f32],
        steps: usize,
        state: &mut GruState<H, ABOVE>,
        keep: Option<&mut [f32]>,
    ) {
        let () = Self::FITS;
        GruStackRun::<H, ABOVE> {
            first: self.weights(),
            above: self.above_weights(),
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

    /// The transposed weights written into `out` (`CELL` floats), as a cell holds them.
    fn pack(&self, out: &mut [f32]) {
        let (ih, rest) = out.split_at_mut(3 * H * IN);
        let (hh, rest) = rest.split_at_mut(3 * H * H);
        let (b_ih, b_hh) = rest.split_at_mut(3 * H);
        transpose(
            self.weight_ih_l0.as_flattened().as_flattened(),
            ih,
            3 * H,
            IN,
        );
        transpose(
            self.weight_hh_l0.as_flattened().as_flattened(),
            hh,
            3 * H,
            H,
        );
        b_ih.copy_from_slice(self.bias_ih_l0.as_flattened());
        b_hh[..3 * H].copy_from_slice(self.bias_hh_l0.as_flattened());
    }

    /// A cell's weights over `packed`, written by [`GRU::pack`].
    fn packed(packed: &[f32]) -> GruWeights<'_> {
        let (ih, rest) = packed.split_at(3 * H * IN);
        let (hh, rest) = rest.split_at(3 * H * H);
        let (b_ih, b_hh) = rest.split_at(3 * H);
        GruWeights {
            ih: Mat::Cols(ih),
            hh: Mat::Cols(hh),
            b_ih,
            b_hh,
        }
    }

    /// `batch` samples from a zero state, through the transposed weights when `cache` has
    /// room for them, else through PyTorch's layout in place; `keep` as in [`GruRun`]. A
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
            return self.stack(x, y, T, &mut GruState::default(), None);
        }
        let packed = cache.len() >= Self::CELL;
        if packed {
            self.pack(&mut cache[..Self::CELL]);
        }
        let w = match packed {
            true => Self::packed(&cache[..Self::CELL]),
            false => self.weights(),
        };
        GruRun::<IN, H> {
            w,
            x,
            y,
            steps: T,
            last: LAST,
            state: &mut [0.0; H],
            keep,
        }
        .go();
    }

    /// A one-sample pass through a cell made on the stack.
    #[inline(never)]
    fn forward_packed(&self, x: &[f32], y: &mut [f32]) {
        // Filled in place: `GruCell::new` returns its value, which an unoptimised build copies.
        let mut cell: GruCell<IN, H> = bytemuck::Zeroable::zeroed();
        cell.load_first(self);
        GruRun::<IN, H> {
            w: cell.weights(),
            x: &x[..T * IN],
            y,
            steps: T,
            last: LAST,
            state: &mut [0.0; H],
            keep: None,
        }
        .go();
    }
}

#[diagnostic::do_not_recommend]
impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize> Layer
    for GRU<IN, H, T, LAST, ABOVE>
{
    const IN: usize = T * IN;
    const OUT: usize = if LAST { H } else { T * H };
    const PARAMS: usize = 3 * H * (IN + H + 2) + ABOVE * 3 * H * (2 * H + 2);

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GRU<{IN}, {H}, {T}")?;
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
            self.stack(&x[..T * IN], y, T, &mut GruState::default(), None);
        } else if core::mem::size_of::<GruCell<IN, H>>() <= STACK_CELL {
            self.forward_packed(x, y);
        } else {
            self.sequences(x, y, 1, &mut [], None);
        }
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, cache: &mut [f32]) {
        self.sequences(x, y, batch, cache, None);
    }

    /// The cell, then what backward reads for every sample (the gates and the state before
    /// each step), then backward's own gradients of the gates, `[batch · T, 3H]` twice. A
    /// stack keeps each layer's record instead of the cell.
    fn cache_len(batch: usize) -> usize {
        match ABOVE {
            0 => Self::CELL + batch * Self::KEPT + 2 * batch * T * 3 * H,
            _ => batch * Self::KEPT_STACK + 2 * batch * T * 3 * H,
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
            self.stack(x, y, T, &mut GruState::default(), Some(keep));
            return Ok(());
        }
        let (cell, rest) = cache.split_at_mut(Self::CELL);
        let (gates, rest) = rest.split_at_mut(batch * T * GRU_KEEP * H);
        let before = &mut rest[..batch * T * H];
        self.sequences(x, y, batch, cell, Some((gates, before)));
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        if ABOVE > 0 {
            return self.backward_stack(io, dx, grad);
        }
        let (batch, n) = (io.batch, io.batch * T);
        let rest = &mut io.cache[Self::CELL..];
        let (kept, rest) = rest.split_at_mut(batch * Self::KEPT);
        let (gates, before) = kept.split_at(n * GRU_KEEP * H);
        let (dgi, rest) = rest.split_at_mut(n * 3 * H);
        let dgh = &mut rest[..n * 3 * H];
        let w_hh = self.weight_hh_l0.as_flattened().as_flattened();
        gru_back::<H>(w_hh, gates, before, io.dy, LAST, (batch, T), dgi, dgh, None);
        let (g_ih, rest) = grad.split_at_mut(3 * H * IN);
        let (g_hh, rest) = rest.split_at_mut(3 * H * H);
        let (g_bih, g_bhh) = rest.split_at_mut(3 * H);
        add_outer(g_ih, dgi, io.x, n, 3 * H, IN);
        add_outer(g_hh, dgh, before, n, 3 * H, H);
        add_rows(g_bih, dgi, 3 * H);
        add_rows(&mut g_bhh[..3 * H], dgh, 3 * H);
        if let Some(dx) = dx {
            let w_ih = self.weight_ih_l0.as_flattened().as_flattened();
            times_weight(dx, dgi, w_ih, n, 3 * H, IN);
        }
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        f(
            "weight_ih_l0",
            &[3 * H, IN],
            self.weight_ih_l0.as_flattened().as_flattened(),
        );
        f(
            "weight_hh_l0",
            &[3 * H, H],
            self.weight_hh_l0.as_flattened().as_flattened(),
        );
        f("bias_ih_l0", &[3 * H], self.bias_ih_l0.as_flattened());
        f("bias_hh_l0", &[3 * H], self.bias_hh_l0.as_flattened());
        for (layer, names) in self.above.iter().zip(&NAMES[1..]) {
            let shapes: [&[usize]; 4] = [&[3 * H, H], &[3 * H, H], &[3 * H], &[3 * H]];
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
    GRU<IN, H, T, LAST, ABOVE>
{
    /// Backpropagation through a stack, from the top layer down: each layer's gradient
    /// with respect to its input becomes the upstream gradient of the layer below, written
    /// over the record of that layer's outputs once the layer above has read them.
    fn backward_stack(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let (batch, n) = (io.batch, io.batch * T);
        let per_layer = kept_per_layer(n, GRU_KEEP, H);
        let (kept, rest) = io.cache.split_at_mut((ABOVE + 1) * per_layer);
        let (dgi, rest) = rest.split_at_mut(n * 3 * H);
        let dgh = &mut rest[..n * 3 * H];
        let (g_first, g_above) = grad.split_at_mut(3 * H * (IN + H + 2));
        let mut dx = dx;
        for l in (0..=ABOVE).rev() {
            let (below, this) = kept.split_at_mut(l * per_layer);
            let (gates, rest) = this[..per_layer].split_at(n * GRU_KEEP * H);
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
                    let size = 3 * H * (2 * H + 2);
                    (w_ih, w_hh, H, &mut g_above[(l - 1) * size..l * size])
                }
            };
            match l {
                _ if l == ABOVE => {
                    gru_back::<H>(w_hh, gates, before, io.dy, LAST, (batch, T), dgi, dgh, None)
                }
                _ => gru_back::<H>(w_hh, gates, before, out, false, (batch, T), dgi, dgh, None),
            }
            // The layer's input: the network's, or the outputs of the layer below.
            let x: &[f32] = match l {
                0 => io.x,
                _ => &below[(l - 1) * per_layer + n * (GRU_KEEP + 1) * H..][..n * H],
            };
            let (g_ih, rest) = g.split_at_mut(3 * H * n_in);
            let (g_hh, rest) = rest.split_at_mut(3 * H * H);
            let (g_bih, g_bhh) = rest.split_at_mut(3 * H);
            add_outer(g_ih, dgi, x, n, 3 * H, n_in);
            add_outer(g_hh, dgh, before, n, 3 * H, H);
            add_rows(g_bih, dgi, 3 * H);
            add_rows(&mut g_bhh[..3 * H], dgh, 3 * H);
            let dx = match l {
                0 => dx.as_deref_mut(),
                _ => Some(&mut below[(l - 1) * per_layer + n * (GRU_KEEP + 1) * H..][..n * H]),
            };
            if let Some(dx) = dx {
                times_weight(dx, dgi, w_ih, n, 3 * H, n_in);
            }
        }
    }
}

impl<const IN: usize, const H: usize, const T: usize, const LAST: bool> GRU<IN, H, T, LAST> {
    /// The weights laid out for streaming: [`GruCell::new`].
    pub fn cell(&self) -> GruCell<IN, H> {
        GruCell::new(self)
    }
}

/// Samples through a GRU, each from `state`, on the vector unit [`run`] picks.
pub(super) struct GruRun<'a, const IN: usize, const H: usize> {
    pub w: GruWeights<'a>,
    /// `[samples, steps, IN]`.
    pub x: &'a [f32],
    /// `[samples, steps, H]`, or `[samples, H]` with `last`; empty for no output.
    pub y: &'a mut [f32],
    pub steps: usize,
    /// Whether the output is the last step's alone.
    pub last: bool,
    /// The state every sample starts from; left as the last sample's last.
    pub state: &'a mut [f32; H],
    /// For training: each step's gates, `[samples · steps, GRU_KEEP · H]`, and the state
    /// before it, `[samples · steps, H]`.
    pub keep: Option<(&'a mut [f32], &'a mut [f32])>,
}

impl<const IN: usize, const H: usize> GruRun<'_, IN, H> {
    /// Runs the samples.
    pub fn go(self) {
        run(self)
    }
}

impl<const IN: usize, const H: usize> Steps for GruRun<'_, IN, H> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        let start = *self.state;
        let per = self.steps * IN;
        let samples = self.x.len() / per.max(1);
        let out = if self.last { H } else { self.steps * H };
        let mut keep = self.keep;
        let mut h = start;
        for s in 0..samples {
            h = start;
            for t in 0..self.steps {
                let at = s * self.steps + t;
                let x = &self.x[at * IN..(at + 1) * IN];
                let slot = match &mut keep {
                    Some((gates, before)) => {
                        before[at * H..(at + 1) * H].copy_from_slice(&h);
                        Some(&mut gates[at * GRU_KEEP * H..(at + 1) * GRU_KEEP * H])
                    }
                    None => None,
                };
                gru_step_fixed::<FMA, WIDE, IN, H>(&self.w, x, &mut h, slot);
                if !self.last && !self.y.is_empty() {
                    self.y[at * H..(at + 1) * H].copy_from_slice(&h);
                }
            }
            if self.last && !self.y.is_empty() {
                self.y[s * out..(s + 1) * out].copy_from_slice(&h);
            }
        }
        *self.state = h;
    }
}

/// One step of one sample, on the vector unit [`run`] picks.
pub(super) struct GruStep<'a, const IN: usize, const H: usize> {
    pub w: GruWeights<'a>,
    pub x: &'a [f32; IN],
    pub h: &'a mut [f32; H],
}

impl<const IN: usize, const H: usize> GruStep<'_, IN, H> {
    /// Runs the step.
    #[inline]
    pub fn go(self) {
        run(self)
    }
}

impl<const IN: usize, const H: usize> Steps for GruStep<'_, IN, H> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        gru_step_fixed::<FMA, WIDE, IN, H>(&self.w, self.x, self.h, None);
    }
}
