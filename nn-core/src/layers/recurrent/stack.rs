//! Stacked recurrent layers, PyTorch's `num_layers`: the layers above the first
//! ([`GruLayer`], [`LstmLayer`]), whose input is the hidden state of the layer below, and the
//! loops that step a sample through every layer of a stack at each time step.
//!
//! A stack runs one time step at a time through all its layers, each layer's new hidden
//! state the input of the layer above, so that a one-step call and a whole sequence do the
//! same arithmetic in the same order and agree bit for bit; PyTorch runs a whole layer before
//! the next, which gives the same numbers, since a layer's step reads nothing of the layers
//! above it.

use crate::kernels::recurrent::{
    gru_step, lstm_step, run, GruWeights, LstmWeights, Mat, Steps, GRU_KEEP, LSTM_KEEP,
};
use crate::{GruState, LstmState};

/// The most layers a stack has: PyTorch's names for them, `_l0` to `_l7`.
pub const MAX_LAYERS: usize = 8;

/// PyTorch's state-dict names of a stack's parameters, by layer: `weight_ih_lK`,
/// `weight_hh_lK`, `bias_ih_lK`, `bias_hh_lK`.
pub(crate) const NAMES: [[&str; 4]; MAX_LAYERS] = [
    ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"],
    ["weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"],
    ["weight_ih_l2", "weight_hh_l2", "bias_ih_l2", "bias_hh_l2"],
    ["weight_ih_l3", "weight_hh_l3", "bias_ih_l3", "bias_hh_l3"],
    ["weight_ih_l4", "weight_hh_l4", "bias_ih_l4", "bias_hh_l4"],
    ["weight_ih_l5", "weight_hh_l5", "bias_ih_l5", "bias_hh_l5"],
    ["weight_ih_l6", "weight_hh_l6", "bias_ih_l6", "bias_hh_l6"],
    ["weight_ih_l7", "weight_hh_l7", "bias_ih_l7", "bias_hh_l7"],
];

/// A layer above the first of a stacked [`GRU`](crate::GRU) (PyTorch's `num_layers`): its
/// input is the hidden state of the layer below, so both its weights are `[3H, H]`. Its
/// tensors are PyTorch's `weight_ih_lK`, `weight_hh_lK`, `bias_ih_lK` and `bias_hh_lK` for
/// layer `K`, in PyTorch's layouts.
///
/// ```
/// use nn::{GruState, Layer, Rng, GRU};
/// // PyTorch's `nn.GRU(1, 8, num_layers=2, batch_first=True)` over 10 steps: one layer above
/// // the first (`network!` spells it `GRU<1, 8, 10, num_layers = 2>`).
/// let mut gru: GRU<1, 8, 10, false, 1> = nn::Zeroable::zeroed();
/// gru.init(&mut Rng::seed(0));
/// let x: Vec<f32> = (0..10).map(|t| (t as f32 * 0.3).sin()).collect();
/// let mut y = [0.0; 80];
/// gru.forward(&x, &mut y);
/// // One step per call, both layers' states carried: the same outputs, bit for bit.
/// let mut state = GruState::<8, 1>::default();
/// for t in 0..10 {
///     let h = gru.step(&[x[t]], &mut state);
///     assert_eq!(h[..], y[8 * t..8 * t + 8]);
/// }
/// let mut names = Vec::new();
/// gru.visit_params(&mut |name, _, _| names.push(name));
/// assert_eq!(names[4..], ["weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct GruLayer<const H: usize> {
    /// `[3H, H]`: `W_ir`, `W_iz`, `W_in`, over the hidden state of the layer below.
    pub weight_ih: [[[f32; H]; H]; 3],
    /// `[3H, H]`: `W_hr`, `W_hz`, `W_hn`.
    pub weight_hh: [[[f32; H]; H]; 3],
    /// `[3H]`: `b_ir`, `b_iz`, `b_in`.
    pub bias_ih: [[f32; H]; 3],
    /// `[3H]`: `b_hr`, `b_hz`, `b_hn`.
    pub bias_hh: [[f32; H]; 3],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const H: usize> bytemuck::Zeroable for GruLayer<H> {}

clone_in_place!(GruLayer<const H: usize> { weight_ih, weight_hh, bias_ih, bias_hh });

impl<const H: usize> GruLayer<H> {
    /// The layer's weights as PyTorch lays them out, read in place.
    pub(super) fn weights(&self) -> GruWeights<'_> {
        GruWeights {
            ih: Mat::Rows(self.weight_ih.as_flattened().as_flattened()),
            hh: Mat::Rows(self.weight_hh.as_flattened().as_flattened()),
            b_ih: self.bias_ih.as_flattened(),
            b_hh: self.bias_hh.as_flattened(),
        }
    }

    /// The four tensors, in PyTorch's order.
    pub(super) fn tensors(&self) -> [&[f32]; 4] {
        [
            self.weight_ih.as_flattened().as_flattened(),
            self.weight_hh.as_flattened().as_flattened(),
            self.bias_ih.as_flattened(),
            self.bias_hh.as_flattened(),
        ]
    }

    /// The four tensors, mutably, in PyTorch's order.
    pub(super) fn tensors_mut(&mut self) -> [&mut [f32]; 4] {
        [
            self.weight_ih.as_flattened_mut().as_flattened_mut(),
            self.weight_hh.as_flattened_mut().as_flattened_mut(),
            self.bias_ih.as_flattened_mut(),
            self.bias_hh.as_flattened_mut(),
        ]
    }
}

/// A layer above the first of a stacked [`LSTM`](crate::LSTM) (PyTorch's `num_layers`): its
/// input is the hidden state of the layer below, so both its weights are `[4H, H]`. Its
/// tensors are PyTorch's `weight_ih_lK`, `weight_hh_lK`, `bias_ih_lK` and `bias_hh_lK` for
/// layer `K`, in PyTorch's layouts.
///
/// ```
/// use nn::{Layer, LstmState, Rng, LSTM};
/// // `nn.LSTM(2, 4, num_layers=3, batch_first=True)`, the last step's output.
/// let mut lstm: LSTM<2, 4, 3, true, 2> = nn::Zeroable::zeroed();
/// lstm.init(&mut Rng::seed(0));
/// let x = [0.5, -1.0, 0.25, 0.0, 1.0, 2.0];
/// let mut last = [0.0; 4];
/// lstm.forward(&x, &mut last);
/// let mut state = LstmState::<4, 2>::default();
/// for t in 0..3 {
///     lstm.step(&[x[2 * t], x[2 * t + 1]], &mut state);
/// }
/// assert_eq!(state.above_h[1], last);
/// assert_eq!(<LSTM<2, 4, 3, true, 2> as Layer>::PARAMS, 16 * (2 + 4 + 2) + 2 * 16 * (4 + 4 + 2));
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct LstmLayer<const H: usize> {
    /// `[4H, H]`: `W_ii`, `W_if`, `W_ig`, `W_io`, over the hidden state of the layer below.
    pub weight_ih: [[[f32; H]; H]; 4],
    /// `[4H, H]`: `W_hi`, `W_hf`, `W_hg`, `W_ho`.
    pub weight_hh: [[[f32; H]; H]; 4],
    /// `[4H]`: `b_ii`, `b_if`, `b_ig`, `b_io`.
    pub bias_ih: [[f32; H]; 4],
    /// `[4H]`: `b_hi`, `b_hf`, `b_hg`, `b_ho`.
    pub bias_hh: [[f32; H]; 4],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<const H: usize> bytemuck::Zeroable for LstmLayer<H> {}

clone_in_place!(LstmLayer<const H: usize> { weight_ih, weight_hh, bias_ih, bias_hh });

impl<const H: usize> LstmLayer<H> {
    /// The two biases added, as a step reads them.
    pub(super) fn bias(&self) -> [[f32; H]; 4] {
        core::array::from_fn(|g| core::array::from_fn(|j| self.bias_ih[g][j] + self.bias_hh[g][j]))
    }

    /// The layer's weights as PyTorch lays them out, read in place, with the biases added in
    /// `b`.
    pub(super) fn weights<'a>(&'a self, b: &'a [[f32; H]; 4]) -> LstmWeights<'a> {
        LstmWeights {
            ih: Mat::Rows(self.weight_ih.as_flattened().as_flattened()),
            hh: Mat::Rows(self.weight_hh.as_flattened().as_flattened()),
            b: b.as_flattened(),
        }
    }

    /// The four tensors, in PyTorch's order.
    pub(super) fn tensors(&self) -> [&[f32]; 4] {
        [
            self.weight_ih.as_flattened().as_flattened(),
            self.weight_hh.as_flattened().as_flattened(),
            self.bias_ih.as_flattened(),
            self.bias_hh.as_flattened(),
        ]
    }

    /// The four tensors, mutably, in PyTorch's order.
    pub(super) fn tensors_mut(&mut self) -> [&mut [f32]; 4] {
        [
            self.weight_ih.as_flattened_mut().as_flattened_mut(),
            self.weight_hh.as_flattened_mut().as_flattened_mut(),
            self.bias_ih.as_flattened_mut(),
            self.bias_hh.as_flattened_mut(),
        ]
    }
}

/// Where a training pass keeps one layer's record in a stack's cache, `n` steps in all
/// (samples times steps): each step's gates (`keep` floats per unit), the hidden state before
/// it, and its output, `[n, keep · H]`, `[n, H]`, `[n, H]`.
pub(super) const fn kept_per_layer(n: usize, keep: usize, h: usize) -> usize {
    n * (keep + 2) * h
}

/// Samples through a stacked GRU, each from `state`, on the vector unit [`run`] picks.
pub(super) struct GruStackRun<'a, const H: usize, const A: usize> {
    /// The first layer's weights and those of the `A` above it.
    pub first: GruWeights<'a>,
    pub above: [GruWeights<'a>; A],
    /// Input features per step.
    pub n_in: usize,
    /// `[samples, steps, n_in]`.
    pub x: &'a [f32],
    /// `[samples, steps, H]`, or `[samples, H]` with `last`: the top layer's output.
    pub y: &'a mut [f32],
    pub steps: usize,
    /// Whether the output is the last step's alone.
    pub last: bool,
    /// The state every sample starts from; left as the last sample's last.
    pub state: &'a mut GruState<H, A>,
    /// For training: every layer's record, as [`kept_per_layer`] lays it out, layer by
    /// layer.
    pub keep: Option<&'a mut [f32]>,
}

impl<const H: usize, const A: usize> GruStackRun<'_, H, A> {
    /// Runs the samples.
    pub fn go(self) {
        run(self)
    }
}

impl<const H: usize, const A: usize> Steps for GruStackRun<'_, H, A> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        let start = *self.state;
        let samples = self.x.len() / (self.steps * self.n_in).max(1);
        let n = samples * self.steps;
        let per_layer = kept_per_layer(n, GRU_KEEP, H);
        let mut keep = self.keep;
        let mut st = start;
        let mut below = [0.0f32; H];
        for s in 0..samples {
            st = start;
            for t in 0..self.steps {
                let at = s * self.steps + t;
                let x = &self.x[at * self.n_in..(at + 1) * self.n_in];
                for l in 0..=A {
                    let (w, h) = match l {
                        0 => (&self.first, &mut st.h),
                        _ => (&self.above[l - 1], &mut st.above_h[l - 1]),
                    };
                    let input: &[f32] = if l == 0 { x } else { &below };
                    match &mut keep {
                        Some(kept) => {
                            let layer = &mut kept[l * per_layer..(l + 1) * per_layer];
                            let (gates, rest) = layer.split_at_mut(n * GRU_KEEP * H);
                            let (before, out) = rest.split_at_mut(n * H);
                            before[at * H..(at + 1) * H].copy_from_slice(h);
                            let slot = &mut gates[at * GRU_KEEP * H..(at + 1) * GRU_KEEP * H];
                            gru_step::<FMA, WIDE, H>(w, input, h, Some(slot));
                            out[at * H..(at + 1) * H].copy_from_slice(h);
                        }
                        None => gru_step::<FMA, WIDE, H>(w, input, h, None),
                    }
                    below = *h;
                }
                if !self.last && !self.y.is_empty() {
                    self.y[at * H..(at + 1) * H].copy_from_slice(&below);
                }
            }
            if self.last && !self.y.is_empty() {
                self.y[s * H..(s + 1) * H].copy_from_slice(&below);
            }
        }
        *self.state = st;
    }
}

/// Samples through a stacked LSTM, each from `state`, on the vector unit [`run`] picks.
pub(super) struct LstmStackRun<'a, const H: usize, const A: usize> {
    /// The first layer's weights and those of the `A` above it.
    pub first: LstmWeights<'a>,
    pub above: [LstmWeights<'a>; A],
    /// Input features per step.
    pub n_in: usize,
    /// `[samples, steps, n_in]`.
    pub x: &'a [f32],
    /// `[samples, steps, H]`, or `[samples, H]` with `last`: the top layer's output.
    pub y: &'a mut [f32],
    pub steps: usize,
    /// Whether the output is the last step's alone.
    pub last: bool,
    /// The state every sample starts from; left as the last sample's last.
    pub state: &'a mut LstmState<H, A>,
    /// For training: every layer's record, as [`kept_per_layer`] lays it out, layer by
    /// layer.
    pub keep: Option<&'a mut [f32]>,
}

impl<const H: usize, const A: usize> LstmStackRun<'_, H, A> {
    /// Runs the samples.
    pub fn go(self) {
        run(self)
    }
}

impl<const H: usize, const A: usize> Steps for LstmStackRun<'_, H, A> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        let start = *self.state;
        let samples = self.x.len() / (self.steps * self.n_in).max(1);
        let n = samples * self.steps;
        let per_layer = kept_per_layer(n, LSTM_KEEP, H);
        let mut keep = self.keep;
        let mut st = start;
        let mut below = [0.0f32; H];
        for s in 0..samples {
            st = start;
            for t in 0..self.steps {
                let at = s * self.steps + t;
                let x = &self.x[at * self.n_in..(at + 1) * self.n_in];
                for l in 0..=A {
                    let (w, h, c) = match l {
                        0 => (&self.first, &mut st.h, &mut st.c),
                        _ => (
                            &self.above[l - 1],
                            &mut st.above_h[l - 1],
                            &mut st.above_c[l - 1],
                        ),
                    };
                    let input: &[f32] = if l == 0 { x } else { &below };
                    match &mut keep {
                        Some(kept) => {
                            let layer = &mut kept[l * per_layer..(l + 1) * per_layer];
                            let (gates, rest) = layer.split_at_mut(n * LSTM_KEEP * H);
                            let (before, out) = rest.split_at_mut(n * H);
                            before[at * H..(at + 1) * H].copy_from_slice(h);
                            let slot = &mut gates[at * LSTM_KEEP * H..(at + 1) * LSTM_KEEP * H];
                            lstm_step::<FMA, WIDE, H>(w, input, h, c, Some(slot));
                            out[at * H..(at + 1) * H].copy_from_slice(h);
                        }
                        None => lstm_step::<FMA, WIDE, H>(w, input, h, c, None),
                    }
                    below = *h;
                }
                if !self.last && !self.y.is_empty() {
                    self.y[at * H..(at + 1) * H].copy_from_slice(&below);
                }
            }
            if self.last && !self.y.is_empty() {
                self.y[s * H..(s + 1) * H].copy_from_slice(&below);
            }
        }
        *self.state = st;
    }
}
