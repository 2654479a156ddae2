//! `GRU<IN, H, T>`: PyTorch's `nn.GRU(IN, H, batch_first=True)`, one layer, over `T` steps.

use core::fmt;

use crate::kernels::recurrent::{gru_step, run, GruWeights, Mat, Steps, GRU_KEEP};
use crate::{Backward, GruCell, GruState, Layer, Rng};

use super::{add_back, add_outer, add_rows, init_uniform, times_weight, transpose, STACK_CELL};

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
/// # Shapes
/// - input `[batch, T · IN]`: `T` steps of `IN` features, row-major (`batch_first`)
/// - output `[batch, T · H]`, or `[batch, H]` with `LAST`
/// - `weight_ih_l0`: `[3H, IN]`, `weight_hh_l0`: `[3H, H]`, `bias_ih_l0` and `bias_hh_l0`:
///   `[3H]`, PyTorch's names and layouts; the fields are `[3][H]…`, the same memory
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
pub struct GRU<const IN: usize, const H: usize, const T: usize, const LAST: bool = false> {
    /// `[3H, IN]`: `W_ir`, `W_iz`, `W_in`.
    pub weight_ih_l0: [[[f32; IN]; H]; 3],
    /// `[3H, H]`: `W_hr`, `W_hz`, `W_hn`.
    pub weight_hh_l0: [[[f32; H]; H]; 3],
    /// `[3H]`: `b_ir`, `b_iz`, `b_in`.
    pub bias_ih_l0: [[f32; H]; 3],
    /// `[3H]`: `b_hr`, `b_hz`, `b_hn`.
    pub bias_hh_l0: [[f32; H]; 3],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const IN: usize, const H: usize, const T: usize, const LAST: bool> bytemuck::Zeroable
    for GRU<IN, H, T, LAST>
{
}

clone_in_place!(GRU<const IN: usize, const H: usize, const T: usize, const LAST: bool> {
    weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
});

impl<const IN: usize, const H: usize, const T: usize, const LAST: bool> GRU<IN, H, T, LAST> {
    /// Floats of a cell, the transposed weights.
    const CELL: usize = 3 * H * (IN + H + 2);
    /// Floats a training pass keeps per sample: the gates of every step and the state
    /// before it.
    const KEPT: usize = T * (GRU_KEEP + 1) * H;

    /// The weights as PyTorch lays them out, read in place.
    fn weights(&self) -> GruWeights<'_> {
        GruWeights {
            ih: Mat::Rows(self.weight_ih_l0.as_flattened().as_flattened()),
            hh: Mat::Rows(self.weight_hh_l0.as_flattened().as_flattened()),
            b_ih: self.bias_ih_l0.as_flattened(),
            b_hh: self.bias_hh_l0.as_flattened(),
        }
    }

    /// The weights laid out for streaming: [`GruCell::new`].
    pub fn cell(&self) -> GruCell<IN, H> {
        GruCell::new(self)
    }

    /// One step, reading the weights in place: the input `x` of this step moves `state` on;
    /// returns the new hidden state. No heap, no copy of the weights (a microcontroller
    /// streams from weights in flash this way); a [`GruCell`] runs a step faster, with the
    /// same result bit for bit.
    pub fn step<'s>(&self, x: &[f32; IN], state: &'s mut GruState<H>) -> &'s [f32; H] {
        GruStep {
            w: self.weights(),
            x,
            h: &mut state.h,
        }
        .go();
        &state.h
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
    /// room for them, else through PyTorch's layout in place; `keep` as in [`GruRun`].
    fn sequences(
        &self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
        keep: Option<(&mut [f32], &mut [f32])>,
    ) {
        let (x, y) = (&x[..batch * T * IN], &mut y[..batch * <Self as Layer>::OUT]);
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
        cell.load(self);
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
impl<const IN: usize, const H: usize, const T: usize, const LAST: bool> Layer
    for GRU<IN, H, T, LAST>
{
    const IN: usize = T * IN;
    const OUT: usize = if LAST { H } else { T * H };
    const PARAMS: usize = 3 * H * (IN + H + 2);

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GRU<{IN}, {H}, {T}")?;
        f.write_str(if LAST { ", last = true>" } else { ">" })
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
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let y = &mut y[..<Self as Layer>::OUT];
        if core::mem::size_of::<GruCell<IN, H>>() <= STACK_CELL {
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
    /// each step), then backward's own gradients of the gates, `[batch · T, 3H]` twice.
    fn cache_len(batch: usize) -> usize {
        Self::CELL + batch * Self::KEPT + 2 * batch * T * 3 * H
    }

    #[cfg(feature = "alloc")]
    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), crate::TrainError> {
        let (cell, rest) = cache.split_at_mut(Self::CELL);
        let (gates, rest) = rest.split_at_mut(batch * T * GRU_KEEP * H);
        let before = &mut rest[..batch * T * H];
        self.sequences(x, y, batch, cell, Some((gates, before)));
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let (batch, n) = (io.batch, io.batch * T);
        let rest = &mut io.cache[Self::CELL..];
        let (kept, rest) = rest.split_at_mut(batch * Self::KEPT);
        let (gates, before) = kept.split_at(n * GRU_KEEP * H);
        let (dgi, rest) = rest.split_at_mut(n * 3 * H);
        let dgh = &mut rest[..n * 3 * H];
        let w_hh = self.weight_hh_l0.as_flattened().as_flattened();
        for s in 0..batch {
            let dy = &io.dy[s * <Self as Layer>::OUT..][..<Self as Layer>::OUT];
            let mut dh = [0.0f32; H];
            for t in (0..T).rev() {
                let at = s * T + t;
                let upstream = match LAST {
                    false => Some(&dy[t * H..(t + 1) * H]),
                    true => (t == T - 1).then_some(dy),
                };
                if let Some(up) = upstream {
                    for (d, u) in dh.iter_mut().zip(up) {
                        *d += u;
                    }
                }
                let g = &gates[at * GRU_KEEP * H..][..GRU_KEEP * H];
                let (r, z, nn, ghn) = (&g[..H], &g[H..2 * H], &g[2 * H..3 * H], &g[3 * H..]);
                let hp = &before[at * H..][..H];
                let (gi, gh) = (
                    &mut dgi[at * 3 * H..][..3 * H],
                    &mut dgh[at * 3 * H..][..3 * H],
                );
                let mut next = [0.0f32; H];
                for j in 0..H {
                    let dn = dh[j] * (1.0 - z[j]);
                    let dz = dh[j] * (hp[j] - nn[j]);
                    let da_n = dn * (1.0 - nn[j] * nn[j]);
                    let da_r = da_n * ghn[j] * r[j] * (1.0 - r[j]);
                    let da_z = dz * z[j] * (1.0 - z[j]);
                    gi[j] = da_r;
                    gi[H + j] = da_z;
                    gi[2 * H + j] = da_n;
                    gh[j] = da_r;
                    gh[H + j] = da_z;
                    gh[2 * H + j] = da_n * r[j];
                    next[j] = dh[j] * z[j];
                }
                add_back(&mut next, w_hh, gh);
                dh = next;
            }
        }
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
                gru_step::<FMA, WIDE, H>(&self.w, x, &mut h, slot);
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
    pub fn go(self) {
        run(self)
    }
}

impl<const IN: usize, const H: usize> Steps for GruStep<'_, IN, H> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        gru_step::<FMA, WIDE, H>(&self.w, self.x, self.h, None);
    }
}
