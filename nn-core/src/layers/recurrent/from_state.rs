//! A recurrent layer called with its initial state, as PyTorch code writes `gru(x, h0)` and
//! `lstm(x, (h0, c0))`: [`FromState`], the layer seen as one whose input rows are the
//! sequence followed by the state, and whose input gradient is the sequence's followed by the
//! state's. A forward written as code calls it for `self.gru(x, h0)`.
//!
//! Each sample runs from its own state, through the stack's loop, one sample at a time; what
//! a training pass keeps is laid out per sample, each sample's record as a stack's
//! (`stack::kept_per_layer`, layer by layer).

use core::fmt;

use crate::kernels::recurrent::{GRU_KEEP, LSTM_KEEP};
use crate::{Backward, GruState, Layer, LstmState, Rng, GRU, LSTM};

use super::stack::kept_per_layer;
use super::through_time::{gru_back, lstm_back};
use super::{add_outer, add_rows, times_weight};

/// A recurrent layer fed its initial state with each sample: PyTorch's `gru(x, h0)` and
/// `lstm(x, (h0, c0))`, where `h0` and `c0` are `[num_layers, batch, H]`.
///
/// A row of its input is the sample's `T · IN` features, then its initial hidden state, every
/// layer's `H` in turn (PyTorch's `h0[:, n]`), then for an LSTM its initial cell state, the
/// same way. Its output is the layer's; its input gradient is the sequence's, then the
/// state's, as PyTorch's `x.grad`, `h0.grad` and `c0.grad`. The layer is the one inside, seen
/// through this type ([`FromState::of`], with no copy), and has its parameters and names.
///
/// ```
/// use nn::{FromState, GruState, Layer, Rng, GRU};
/// let mut gru: GRU<1, 4, 3> = nn::Zeroable::zeroed();
/// gru.init(&mut Rng::seed(0));
/// let h0 = [0.5, -0.5, 0.25, 0.0];
/// let mut row = vec![0.1, 0.2, 0.3];
/// row.extend(h0);
/// let mut y = [0.0; 12];
/// FromState::of(&gru).forward(&row, &mut y);
/// // The same as stepping from that state.
/// let mut state = GruState { h: h0, above_h: [] };
/// for (t, x) in [0.1, 0.2, 0.3].iter().enumerate() {
///     assert_eq!(gru.step(&[*x], &mut state)[..], y[4 * t..4 * t + 4]);
/// }
/// ```
#[derive(Debug, PartialEq)]
#[repr(transparent)]
pub struct FromState<L>(pub L);

// SAFETY: `FromState<L>` is `#[repr(transparent)]` over its one field, an `L`.
unsafe impl<L> bytemuck::TransparentWrapper<L> for FromState<L> {}

// SAFETY: `FromState<L>` is `#[repr(transparent)]` over an `L`, whose all-zero bits are valid.
unsafe impl<L: bytemuck::Zeroable> bytemuck::Zeroable for FromState<L> {}

impl<L> FromState<L> {
    /// `layer`, seen as fed its initial state, in place.
    pub fn of(layer: &L) -> &Self {
        bytemuck::TransparentWrapper::wrap_ref(layer)
    }

    /// `layer`, seen as fed its initial state, in place, mutably (for a training pass).
    pub fn of_mut(layer: &mut L) -> &mut Self {
        bytemuck::TransparentWrapper::wrap_mut(layer)
    }
}

/// The floats of a GRU stack's input row besides the sequence: every layer's `h0`.
const fn gru_state(h: usize, above: usize) -> usize {
    (above + 1) * h
}

impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize>
    FromState<GRU<IN, H, T, LAST, ABOVE>>
{
    /// Floats a training pass keeps per sample: the stack's record.
    const KEPT: usize = (ABOVE + 1) * kept_per_layer(T, GRU_KEEP, H);
    /// The input row's floats.
    const ROW: usize = T * IN + gru_state(H, ABOVE);

    /// The state a row starts from.
    fn start(row: &[f32]) -> GruState<H, ABOVE> {
        let s = &row[T * IN..Self::ROW];
        let mut state = GruState::<H, ABOVE>::default();
        state.h.copy_from_slice(&s[..H]);
        for (l, h) in state.above_h.iter_mut().enumerate() {
            h.copy_from_slice(&s[(l + 1) * H..(l + 2) * H]);
        }
        state
    }

    /// `batch` rows, each from its own state; `keep`: the cache a training pass fills.
    fn rows(&self, x: &[f32], y: &mut [f32], batch: usize, mut keep: Option<&mut [f32]>) {
        let out = <GRU<IN, H, T, LAST, ABOVE> as Layer>::OUT;
        for s in 0..batch {
            let row = &x[s * Self::ROW..(s + 1) * Self::ROW];
            let kept = keep
                .as_deref_mut()
                .map(|k| &mut k[s * Self::KEPT..(s + 1) * Self::KEPT]);
            let y = &mut y[s * out..(s + 1) * out];
            self.0
                .stack(&row[..T * IN], y, T, &mut Self::start(row), kept);
        }
    }
}

#[diagnostic::do_not_recommend]
impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize> Layer
    for FromState<GRU<IN, H, T, LAST, ABOVE>>
{
    const IN: usize = Self::ROW;
    const OUT: usize = <GRU<IN, H, T, LAST, ABOVE> as Layer>::OUT;
    const PARAMS: usize = <GRU<IN, H, T, LAST, ABOVE> as Layer>::PARAMS;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        <GRU<IN, H, T, LAST, ABOVE> as Layer>::describe(f)?;
        f.write_str(" from a given state")
    }

    fn init(&mut self, rng: &mut Rng) {
        self.0.init(rng);
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        self.rows(x, y, 1, None);
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        self.rows(x, y, batch, None);
    }

    /// Each sample's record, then backward's gradients of one sample's gates, `[T, 3H]`
    /// twice, and of its starting state.
    fn cache_len(batch: usize) -> usize {
        batch * Self::KEPT + 2 * T * 3 * H + H
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), crate::TrainError> {
        self.rows(x, y, batch, Some(&mut cache[..batch * Self::KEPT]));
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, mut dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let gru = &self.0;
        let out = <Self as Layer>::OUT;
        let per_layer = kept_per_layer(T, GRU_KEEP, H);
        let (kept, rest) = io.cache.split_at_mut(io.batch * Self::KEPT);
        let (dgi, rest) = rest.split_at_mut(T * 3 * H);
        let (dgh, rest) = rest.split_at_mut(T * 3 * H);
        let d_start = &mut rest[..H];
        let (g_first, g_above) = grad.split_at_mut(3 * H * (IN + H + 2));
        for s in 0..io.batch {
            let kept = &mut kept[s * Self::KEPT..(s + 1) * Self::KEPT];
            let x = &io.x[s * Self::ROW..][..T * IN];
            let dy = &io.dy[s * out..(s + 1) * out];
            let mut dx = dx
                .as_deref_mut()
                .map(|d| &mut d[s * Self::ROW..(s + 1) * Self::ROW]);
            for l in (0..=ABOVE).rev() {
                let (below, this) = kept.split_at_mut(l * per_layer);
                let (gates, rest) = this[..per_layer].split_at(T * GRU_KEEP * H);
                let (before, outs) = rest.split_at(T * H);
                let (w_ih, w_hh, n_in, g) = match l {
                    0 => (
                        gru.weight_ih_l0.as_flattened().as_flattened(),
                        gru.weight_hh_l0.as_flattened().as_flattened(),
                        IN,
                        &mut *g_first,
                    ),
                    _ => {
                        let [w_ih, w_hh, ..] = gru.above[l - 1].tensors();
                        let size = 3 * H * (2 * H + 2);
                        (w_ih, w_hh, H, &mut g_above[(l - 1) * size..l * size])
                    }
                };
                let (dy, last) = if l == ABOVE {
                    (dy, LAST)
                } else {
                    (outs, false)
                };
                let shape = (1, T);
                gru_back::<H>(
                    w_hh,
                    gates,
                    before,
                    dy,
                    last,
                    shape,
                    dgi,
                    dgh,
                    Some(d_start),
                );
                let x: &[f32] = match l {
                    0 => x,
                    _ => &below[(l - 1) * per_layer + T * (GRU_KEEP + 1) * H..][..T * H],
                };
                let (g_ih, rest) = g.split_at_mut(3 * H * n_in);
                let (g_hh, rest) = rest.split_at_mut(3 * H * H);
                let (g_bih, g_bhh) = rest.split_at_mut(3 * H);
                add_outer(g_ih, dgi, x, T, 3 * H, n_in);
                add_outer(g_hh, dgh, before, T, 3 * H, H);
                add_rows(g_bih, dgi, 3 * H);
                add_rows(&mut g_bhh[..3 * H], dgh, 3 * H);
                if let Some(d) = dx.as_deref_mut() {
                    d[T * IN + l * H..T * IN + (l + 1) * H].copy_from_slice(d_start);
                }
                let dx = match l {
                    0 => dx.as_deref_mut().map(|d| &mut d[..T * IN]),
                    _ => Some(&mut below[(l - 1) * per_layer + T * (GRU_KEEP + 1) * H..][..T * H]),
                };
                if let Some(dx) = dx {
                    times_weight(dx, dgi, w_ih, T, 3 * H, n_in);
                }
            }
        }
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        self.0.visit_params(f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        self.0.visit_params_mut(f);
    }
}

impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize>
    FromState<LSTM<IN, H, T, LAST, ABOVE>>
{
    /// Floats a training pass keeps per sample: the stack's record.
    const KEPT: usize = (ABOVE + 1) * kept_per_layer(T, LSTM_KEEP, H);
    /// The floats of every layer's `h0`, and as many of `c0`.
    const STATE: usize = (ABOVE + 1) * H;
    /// The input row's floats.
    const ROW: usize = T * IN + 2 * Self::STATE;

    /// The state a row starts from.
    fn start(row: &[f32]) -> LstmState<H, ABOVE> {
        let (h, c) = row[T * IN..Self::ROW].split_at(Self::STATE);
        let mut state = LstmState::<H, ABOVE>::default();
        state.h.copy_from_slice(&h[..H]);
        state.c.copy_from_slice(&c[..H]);
        for l in 0..ABOVE {
            state.above_h[l].copy_from_slice(&h[(l + 1) * H..(l + 2) * H]);
            state.above_c[l].copy_from_slice(&c[(l + 1) * H..(l + 2) * H]);
        }
        state
    }

    /// `batch` rows, each from its own state; `keep`: the cache a training pass fills.
    fn rows(&self, x: &[f32], y: &mut [f32], batch: usize, mut keep: Option<&mut [f32]>) {
        let out = <LSTM<IN, H, T, LAST, ABOVE> as Layer>::OUT;
        for s in 0..batch {
            let row = &x[s * Self::ROW..(s + 1) * Self::ROW];
            let kept = keep
                .as_deref_mut()
                .map(|k| &mut k[s * Self::KEPT..(s + 1) * Self::KEPT]);
            let y = &mut y[s * out..(s + 1) * out];
            self.0
                .stack(&row[..T * IN], y, T, &mut Self::start(row), kept);
        }
    }
}

#[diagnostic::do_not_recommend]
impl<const IN: usize, const H: usize, const T: usize, const LAST: bool, const ABOVE: usize> Layer
    for FromState<LSTM<IN, H, T, LAST, ABOVE>>
{
    const IN: usize = Self::ROW;
    const OUT: usize = <LSTM<IN, H, T, LAST, ABOVE> as Layer>::OUT;
    const PARAMS: usize = <LSTM<IN, H, T, LAST, ABOVE> as Layer>::PARAMS;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        <LSTM<IN, H, T, LAST, ABOVE> as Layer>::describe(f)?;
        f.write_str(" from a given state")
    }

    fn init(&mut self, rng: &mut Rng) {
        self.0.init(rng);
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        self.rows(x, y, 1, None);
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        self.rows(x, y, batch, None);
    }

    /// Each sample's record, then backward's gradients of one sample's gates, `[T, 4H]`, and
    /// of its starting state.
    fn cache_len(batch: usize) -> usize {
        batch * Self::KEPT + T * 4 * H + 2 * H
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), crate::TrainError> {
        self.rows(x, y, batch, Some(&mut cache[..batch * Self::KEPT]));
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, mut dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let lstm = &self.0;
        let out = <Self as Layer>::OUT;
        let per_layer = kept_per_layer(T, LSTM_KEEP, H);
        let (kept, rest) = io.cache.split_at_mut(io.batch * Self::KEPT);
        let (da, rest) = rest.split_at_mut(T * 4 * H);
        let (d_h, rest) = rest.split_at_mut(H);
        let d_c = &mut rest[..H];
        let (g_first, g_above) = grad.split_at_mut(4 * H * (IN + H + 2));
        for s in 0..io.batch {
            let kept = &mut kept[s * Self::KEPT..(s + 1) * Self::KEPT];
            let row = &io.x[s * Self::ROW..(s + 1) * Self::ROW];
            let (x, c0) = (&row[..T * IN], &row[T * IN + Self::STATE..]);
            let dy = &io.dy[s * out..(s + 1) * out];
            let mut dx = dx
                .as_deref_mut()
                .map(|d| &mut d[s * Self::ROW..(s + 1) * Self::ROW]);
            for l in (0..=ABOVE).rev() {
                let (below, this) = kept.split_at_mut(l * per_layer);
                let (steps, rest) = this[..per_layer].split_at(T * LSTM_KEEP * H);
                let (before, outs) = rest.split_at(T * H);
                let (w_ih, w_hh, n_in, g) = match l {
                    0 => (
                        lstm.weight_ih_l0.as_flattened().as_flattened(),
                        lstm.weight_hh_l0.as_flattened().as_flattened(),
                        IN,
                        &mut *g_first,
                    ),
                    _ => {
                        let [w_ih, w_hh, ..] = lstm.above[l - 1].tensors();
                        let size = 4 * H * (2 * H + 2);
                        (w_ih, w_hh, H, &mut g_above[(l - 1) * size..l * size])
                    }
                };
                let (dy, last) = if l == ABOVE {
                    (dy, LAST)
                } else {
                    (outs, false)
                };
                let c0 = Some(&c0[l * H..(l + 1) * H]);
                let d_start = Some((&mut *d_h, &mut *d_c));
                lstm_back::<H>(w_hh, steps, dy, last, (1, T), da, c0, d_start);
                let x: &[f32] = match l {
                    0 => x,
                    _ => &below[(l - 1) * per_layer + T * (LSTM_KEEP + 1) * H..][..T * H],
                };
                let (g_ih, rest) = g.split_at_mut(4 * H * n_in);
                let (g_hh, rest) = rest.split_at_mut(4 * H * H);
                let (g_bih, g_bhh) = rest.split_at_mut(4 * H);
                add_outer(g_ih, da, x, T, 4 * H, n_in);
                add_outer(g_hh, da, before, T, 4 * H, H);
                add_rows(g_bih, da, 4 * H);
                add_rows(&mut g_bhh[..4 * H], da, 4 * H);
                if let Some(d) = dx.as_deref_mut() {
                    let at = T * IN + l * H;
                    d[at..at + H].copy_from_slice(d_h);
                    d[at + Self::STATE..at + Self::STATE + H].copy_from_slice(d_c);
                }
                let dx = match l {
                    0 => dx.as_deref_mut().map(|d| &mut d[..T * IN]),
                    _ => {
                        let at = (l - 1) * per_layer + T * (LSTM_KEEP + 1) * H;
                        Some(&mut below[at..at + T * H])
                    }
                };
                if let Some(dx) = dx {
                    times_weight(dx, da, w_ih, T, 4 * H, n_in);
                }
            }
        }
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        self.0.visit_params(f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        self.0.visit_params_mut(f);
    }
}
