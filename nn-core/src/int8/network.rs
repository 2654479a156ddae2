//! [`Quantized<N>`]: the int8 form of a trained network `N`, its own type.

use alloc::vec;
use alloc::vec::Vec;
use core::marker::PhantomData;

use super::quantize::{plan, run_f32, state_of, AddStep, Dense, QuantizeError, Step};
use super::{
    add, avg_pool2d, clamp, conv2d, depthwise_conv2d, max_pool2d, Activation, AddParams, Output,
    Quant, Requant, Weights,
};
use crate::kernels::int8::{linear_batch, scale_channels_batch, BatchScratch, PackedLinear};
use crate::Layer;

/// An int8 `Linear` or `Conv2d`: weights, biases, scales and what is prepared from them.
#[derive(Clone, Debug)]
pub(crate) struct DenseInt8 {
    pub layer: Dense,
    pub weight: Vec<i8>,
    pub bias: Vec<i32>,
    pub weight_scale: Vec<f32>,
    pub input: Quant,
    pub output: Quant,
    pub requant: Vec<Requant>,
    /// Each `Linear` row's weight sum, prepared for the inner product.
    pub row_sums: Vec<i32>,
    /// A `Linear`'s weight packed for the batched kernels.
    pub packed: PackedLinear,
}

impl DenseInt8 {
    /// Prepares the multipliers once the scales are known.
    pub(crate) fn prepare(&mut self) {
        self.requant = self
            .weight_scale
            .iter()
            .map(|&s| Requant::product(self.input.scale, s, self.output.scale))
            .collect();
        self.row_sums = match self.layer.conv {
            None => self
                .weight
                .chunks_exact(self.layer.inputs.max(1))
                .map(|row| row.iter().map(|&w| w as i32).sum())
                .collect(),
            Some(_) => Vec::new(),
        };
        self.packed = match self.layer.conv {
            None => PackedLinear::new(&self.weight, self.layer.inputs, self.layer.outputs),
            Some(_) => PackedLinear::default(),
        };
    }

    fn out(&self) -> Output {
        Output::new(
            self.output.scale,
            self.output.zero_point,
            self.layer.activation,
        )
    }
}

/// A residual add in int8: TFLite's ADD of the value at hand and a slot's.
#[derive(Clone, Debug)]
pub(crate) struct AddInt8 {
    pub step: AddStep,
    pub output: Quant,
    pub params: AddParams,
}

impl AddInt8 {
    /// The add of `input` (the value at hand) and `slot` (the value kept) into `output`.
    pub(crate) fn new(step: AddStep, input: Quant, slot: Quant, output: Quant) -> AddInt8 {
        let params = AddParams::new(
            (input.scale, input.zero_point),
            (slot.scale, slot.zero_point),
            (output.scale, output.zero_point),
            step.activation,
        );
        AddInt8 {
            step,
            output,
            params,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum StepInt8 {
    Dense(DenseInt8),
    Add(AddInt8),
    /// A step that keeps its input's quantisation (a pool, a clamp, a slot's save or load).
    Float(Step),
}

/// The int8 form of a trained network `N`: TFLite's int8 scheme, computed by
/// [`crate::int8`]'s kernels with TFLite Micro's arithmetic. A different type from `N`,
/// whose input and output widths are `N`'s, checked when a call is compiled.
///
/// Made by [`Quantized::quantize`] from `N` and calibration inputs (post-training
/// quantisation), or read from an int8 safetensors file by `Quantized::load`.
///
/// ```
/// nn::network! { struct Net<Linear<4, 8>, ReLU, Linear<8, 2>> }
/// use nn::int8::Quantized;
/// let net = Net::new(0);
/// let calibration: Vec<f32> = (0..64).map(|i| ((i * 7) % 13) as f32 / 6.0 - 1.0).collect();
/// let q = Quantized::<Net>::quantize(&net, &calibration).unwrap();
/// let x = [0.5, -0.25, 1.0, 0.0];
/// let (want, got): ([f32; 2], [f32; 2]) = (net.forward(&x), q.forward(&x));
/// assert!((want[0] - got[0]).abs() < 0.05 && (want[1] - got[1]).abs() < 0.05);
/// ```
pub struct Quantized<N> {
    pub(crate) steps: Vec<StepInt8>,
    pub(crate) input: Quant,
    pub(crate) output: Quant,
    net: PhantomData<fn() -> N>,
}

impl<N> Clone for Quantized<N> {
    fn clone(&self) -> Self {
        Quantized {
            steps: self.steps.clone(),
            input: self.input,
            output: self.output,
            net: PhantomData,
        }
    }
}

impl<N: Layer> Quantized<N> {
    /// Post-training quantisation of `net`, calibrated on `calibration`: inputs of `N::IN`
    /// values each, side by side. Weights get one symmetric scale per output channel
    /// (`max |w| / 127`), biases the scale `s_in · s_w`, every activation the asymmetric
    /// range seen on the calibration inputs.
    pub fn quantize(net: &N, calibration: &[f32]) -> Result<Quantized<N>, QuantizeError> {
        if calibration.is_empty() || !calibration.len().is_multiple_of(N::IN) {
            return Err(QuantizeError::Calibration {
                len: calibration.len(),
                width: N::IN,
            });
        }
        let state = state_of(net);
        let steps = plan::<N>(Some(&state))?;
        // The range of the input and of every step's output.
        let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); steps.len() + 1];
        let widen = |r: &mut (f32, f32), v: &[f32]| {
            for &x in v {
                r.0 = r.0.min(x);
                r.1 = r.1.max(x);
            }
        };
        for x in calibration.chunks_exact(N::IN) {
            widen(&mut ranges[0], x);
            run_f32(&steps, x, |i, y| widen(&mut ranges[i + 1], y));
        }
        let mut quant = Quant::of_range(ranges[0].0, ranges[0].1);
        let input = quant;
        let mut out = Vec::with_capacity(steps.len());
        let mut slots = Vec::new();
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                Step::Dense(layer) => {
                    let output = Quant::of_range(ranges[i + 1].0, ranges[i + 1].1);
                    out.push(StepInt8::Dense(quantize_dense(layer, quant, output)));
                    quant = output;
                }
                Step::Add(a) => {
                    let output = Quant::of_range(ranges[i + 1].0, ranges[i + 1].1);
                    let kept = slots[a.slot];
                    out.push(StepInt8::Add(AddInt8::new(a, quant, kept, output)));
                    quant = output;
                }
                Step::Save(k) => {
                    if slots.len() <= k {
                        slots.resize(k + 1, quant);
                    }
                    slots[k] = quant;
                    out.push(StepInt8::Float(step));
                }
                Step::Load(k) => {
                    quant = slots[k];
                    out.push(StepInt8::Float(step));
                }
                // Pools and clamps keep their input's quantisation, as TFLite's.
                other => out.push(StepInt8::Float(other)),
            }
        }
        Ok(Quantized {
            steps: out,
            input,
            output: quant,
            net: PhantomData,
        })
    }

    /// The input's quantisation.
    pub fn input_quant(&self) -> Quant {
        self.input
    }

    /// The output's quantisation (the logits').
    pub fn output_quant(&self) -> Quant {
        self.output
    }

    /// One sample in int8, integer arithmetic only: `x` quantised by
    /// [`Quantized::input_quant`], the logits by [`Quantized::output_quant`].
    pub fn forward_int8<const I: usize, const O: usize>(&self, x: &[i8; I]) -> [i8; O] {
        const {
            assert!(I == N::IN, "the input is not the network's input width");
            assert!(O == N::OUT, "the output is not the network's output width");
        }
        let y = self.run(x);
        let mut out = [0i8; O];
        out.copy_from_slice(&y);
        out
    }

    /// One sample: `x` quantised, run in int8, the logits dequantised.
    pub fn forward<const I: usize, const O: usize>(&self, x: &[f32; I]) -> [f32; O] {
        let mut q = [0i8; I];
        self.input.quantize_slice(x, &mut q);
        let y: [i8; O] = self.forward_int8(&q);
        y.map(|v| self.output.dequantize(v))
    }

    /// The class of one sample: the index of the largest int8 logit (the first of equals).
    pub fn predict(&self, x: &[f32]) -> usize {
        assert_eq!(x.len(), N::IN, "input width");
        let q: Vec<i8> = x.iter().map(|&v| self.input.quantize(v)).collect();
        let y = self.run(&q);
        let mut best = 0;
        for (i, &v) in y.iter().enumerate() {
            if v > y[best] {
                best = i;
            }
        }
        best
    }

    /// Inference on a batch: `x` `[batch, N::IN]` quantised by [`Quantized::input_quant`],
    /// each sample run in int8, the logits dequantised into `y` `[batch, N::OUT]`. The
    /// workspace is reused from call to call (no allocation once it has grown).
    ///
    /// # Panics
    /// If `x` and `y` do not hold the same number of samples.
    ///
    /// ```
    /// nn::network! { struct Net<Linear<3, 4>, ReLU, Linear<4, 2>> }
    /// use nn::int8::{Quantized, Workspace};
    /// let net = Net::new(1);
    /// let calibration: Vec<f32> = (0..48).map(|i| (i % 7) as f32 / 3.0 - 1.0).collect();
    /// let q = Quantized::<Net>::quantize(&net, &calibration).unwrap();
    /// let (x, mut y, mut ws) = ([0.5, -0.5, 1.0, 0.0, 0.25, -1.0], [0.0; 4], Workspace::default());
    /// q.forward_batch(&x, &mut y, &mut ws);
    /// // The same as one sample at a time.
    /// let first: [f32; 2] = q.forward(&[0.5, -0.5, 1.0]);
    /// assert_eq!(y[..2], first);
    /// ```
    pub fn forward_batch(&self, x: &[f32], y: &mut [f32], ws: &mut Workspace) {
        assert!(
            x.len().is_multiple_of(N::IN)
                && y.len().is_multiple_of(N::OUT)
                && x.len() / N::IN == y.len() / N::OUT,
            "{} inputs and {} outputs are not the same batch of {}-in, {}-out samples",
            x.len(),
            y.len(),
            N::IN,
            N::OUT
        );
        let mut input = core::mem::take(&mut ws.input);
        for (x, y) in x.chunks(CHUNK * N::IN).zip(y.chunks_mut(CHUNK * N::OUT)) {
            input.resize(x.len(), 0);
            self.input.quantize_slice(x, &mut input);
            self.run_into(&input, x.len() / N::IN, ws);
            for (y, &q) in y.iter_mut().zip(&ws.a) {
                *y = self.output.dequantize(q);
            }
        }
        ws.input = input;
    }

    /// [`Quantized::forward_batch`] in int8 end to end: `x` `[batch, N::IN]` quantised,
    /// the int8 logits into `y` `[batch, N::OUT]`.
    ///
    /// # Panics
    /// If `x` and `y` do not hold the same number of samples.
    pub fn forward_batch_int8(&self, x: &[i8], y: &mut [i8], ws: &mut Workspace) {
        assert!(
            x.len().is_multiple_of(N::IN)
                && y.len().is_multiple_of(N::OUT)
                && x.len() / N::IN == y.len() / N::OUT,
            "{} inputs and {} outputs are not the same batch of {}-in, {}-out samples",
            x.len(),
            y.len(),
            N::IN,
            N::OUT
        );
        for (x, y) in x.chunks(CHUNK * N::IN).zip(y.chunks_mut(CHUNK * N::OUT)) {
            self.run_into(x, x.len() / N::IN, ws);
            y.copy_from_slice(&ws.a);
        }
    }

    /// Bytes of weights, biases and prepared parameters (what a baked build keeps in flash).
    pub fn weight_bytes(&self) -> usize {
        self.dense()
            .map(|d| d.weight.len() + 4 * d.bias.len() + 8 * d.requant.len())
            .sum()
    }

    #[cfg(feature = "std")]
    pub(crate) fn adds(&self) -> impl Iterator<Item = &AddInt8> {
        self.steps.iter().filter_map(|s| match s {
            StepInt8::Add(a) => Some(a),
            _ => None,
        })
    }

    pub(crate) fn dense(&self) -> impl Iterator<Item = &DenseInt8> {
        self.steps.iter().filter_map(|s| match s {
            StepInt8::Dense(d) => Some(d),
            StepInt8::Add(_) | StepInt8::Float(_) => None,
        })
    }

    #[cfg(feature = "std")]
    pub(crate) fn from_steps(steps: Vec<StepInt8>, input: Quant, output: Quant) -> Self {
        Quantized {
            steps,
            input,
            output,
            net: PhantomData,
        }
    }

    fn run(&self, x: &[i8]) -> Vec<i8> {
        let mut ws = Workspace::default();
        self.run_into(x, 1, &mut ws);
        core::mem::take(&mut ws.a)
    }

    /// Runs the steps on `batch` int8 samples side by side, each step's output in one of the
    /// workspace's two buffers (grown once, then reused); the result is left in `ws.a`.
    /// A `Linear` reads its weights once for several samples ([`linear_batch`]); the other
    /// steps run sample by sample, or on the whole buffer where they are elementwise.
    fn run_into(&self, x: &[i8], batch: usize, ws: &mut Workspace) {
        ws.a.clear();
        ws.a.extend_from_slice(x);
        let mut quant = self.input;
        for step in &self.steps {
            let (x, y) = (&mut ws.a, &mut ws.b);
            match step {
                StepInt8::Dense(d) => {
                    let w = Weights {
                        weight: &d.weight,
                        bias: Some(&d.bias),
                        requant: &d.requant,
                    };
                    let zp = d.input.zero_point;
                    quant = d.output;
                    match &d.layer.conv {
                        None => {
                            y.resize(batch * d.layer.outputs, 0);
                            let (p, sums) = (&d.packed, &d.row_sums);
                            linear_batch(x, zp, w, p, sums, d.out(), y, &mut ws.scratch);
                        }
                        // A folded batch norm on features: the batch at once.
                        Some(s) if batch > 1 && d.layer.depthwise && is_channel_scale(s) => {
                            y.resize(x.len(), 0);
                            scale_channels_batch(x, zp, w, d.out(), y, &mut ws.scratch);
                        }
                        Some(s) => {
                            let n = s.output_len();
                            y.resize(batch * n, 0);
                            for (x, y) in x.chunks_exact(x.len() / batch).zip(y.chunks_exact_mut(n))
                            {
                                if d.layer.depthwise {
                                    depthwise_conv2d(s, x, zp, w, d.out(), y);
                                } else {
                                    conv2d(s, x, zp, w, d.out(), y);
                                }
                            }
                        }
                    }
                }
                StepInt8::Float(Step::MaxPool(s)) | StepInt8::Float(Step::AvgPool(s)) => {
                    let n = s.channels * s.output[0] * s.output[1];
                    y.resize(batch * n, 0);
                    let keep = Output::new(quant.scale, quant.zero_point, Activation::None);
                    for (x, y) in x.chunks_exact(x.len() / batch).zip(y.chunks_exact_mut(n)) {
                        if matches!(step, StepInt8::Float(Step::MaxPool(_))) {
                            max_pool2d(s, x, keep, y);
                        } else {
                            avg_pool2d(s, x, keep, y);
                        }
                    }
                }
                StepInt8::Float(Step::Clamp(act)) => {
                    clamp(x, Output::new(quant.scale, quant.zero_point, *act));
                    continue;
                }
                StepInt8::Float(Step::Save(k)) => {
                    if ws.slots.len() <= *k {
                        ws.slots.resize(k + 1, (Vec::new(), quant));
                    }
                    ws.slots[*k].0.clone_from(x);
                    ws.slots[*k].1 = quant;
                    continue;
                }
                StepInt8::Float(Step::Load(k)) => {
                    let (saved, q) = &ws.slots[*k];
                    x.clone_from(saved);
                    quant = *q;
                    continue;
                }
                StepInt8::Add(a) => {
                    y.resize(x.len(), 0);
                    add(x, &ws.slots[a.step.slot].0, &a.params, y);
                    quant = a.output;
                }
                StepInt8::Float(Step::Dense(_) | Step::Add(_)) => {
                    unreachable!("dense steps and adds are quantised")
                }
            }
            core::mem::swap(&mut ws.a, &mut ws.b);
        }
    }
}

/// Whether a depthwise convolution is a per-channel scale of a 1 × 1 image.
fn is_channel_scale(s: &crate::kernels::int8::Conv2dShape) -> bool {
    s.input == [1, 1]
        && s.kernel == [1, 1]
        && s.stride == [1, 1]
        && s.pad == [0, 0]
        && s.in_channels == s.out_channels
}

/// Samples a batch runs at a time: the most the workspace's buffers hold.
const CHUNK: usize = 64;

/// Buffers [`Quantized::forward_batch`] reuses from call to call: once they have grown to
/// the network's widest activation, a call allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    a: Vec<i8>,
    b: Vec<i8>,
    input: Vec<i8>,
    /// The batched `Linear` kernels' buffers.
    scratch: BatchScratch,
    /// The values a forward reads again later (a residual's input), with their quantisation.
    slots: Vec<(Vec<i8>, Quant)>,
}

/// Quantises one folded layer: per-output-channel symmetric weights, int32 biases.
fn quantize_dense(layer: Dense, input: Quant, output: Quant) -> DenseInt8 {
    let per = layer.inputs;
    let mut weight = Vec::with_capacity(layer.weight.len());
    let mut weight_scale = Vec::with_capacity(layer.outputs);
    let mut bias = Vec::with_capacity(layer.outputs);
    for (row, &b) in layer.weight.chunks_exact(per).zip(&layer.bias) {
        let max = row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let s = if max > 0.0 { max / 127.0 } else { 1.0 };
        weight.extend(
            row.iter()
                .map(|w| libm::roundf(w / s).clamp(-127.0, 127.0) as i8),
        );
        weight_scale.push(s);
        bias.push(libm::round(b as f64 / (input.scale as f64 * s as f64)) as i32);
    }
    let mut d = DenseInt8 {
        layer,
        weight,
        bias,
        weight_scale,
        input,
        output,
        requant: Vec::new(),
        row_sums: Vec::new(),
        packed: PackedLinear::default(),
    };
    d.prepare();
    d
}
