//! The int8 layers of a network baked at compile time by
//! `#[weights("model_int8.safetensors", dtype = int8)]`: each holds its weights as arrays
//! (flash on a microcontroller) and what is prepared from the scales, computed by `const fn`s
//! when the crate is compiled: the multipliers and shifts ([`Requant`]), the output ranges
//! ([`Output`]), and each channel's bias with the input zero point's share of it folded in
//! (`bias − zp_in · Σ w`, the weights' sums), so that the kernels run with an input zero point
//! of 0. A convolution with padding keeps its zero point: a padded tap adds nothing, where
//! the folded sum would count it.
//!
//! One sample runs through the kernels of [`crate::int8`] with integer arithmetic only, no
//! heap, no floating point; the outputs are those of `Quantized::load` of the same file, bit
//! for bit (`tests/int8_bake.rs`).
//!
//! ```
//! use nn::int8::baked::{rows, Linear};
//! use nn::int8::{Activation, Quant};
//! // Two inputs to two outputs, weight scales 1/64 and 1/32, input and output zero point 3.
//! const Q: Quant = Quant { scale: 0.5, zero_point: 3 };
//! const FC: Linear<2, 2> =
//!     Linear::new(rows(b"\x40\x20\xe0\x10"), [0, 8], &[1.0 / 64.0, 1.0 / 32.0], Q, Q, Activation::None);
//! let mut y = [0i8; 2];
//! FC.forward(&[5, 1], &mut y);
//! // Real inputs 1 and −1: 1 · 1 + 0.5 · (−1) = 0.5, one step of 0.5 above the zero point 3;
//! // −1 · 1 + 0.5 · (−1) + 8/64 = −1.375, −2.75 steps, rounded to −3, plus 3.
//! assert_eq!(y, [4, 0]);
//! ```

use crate::kernels::int8::Rescale;

use super::{
    add, avg_pool2d, clamp, conv2d, depthwise_conv2d, linear, max_pool2d, Activation, AddParams,
    Conv2dShape, Output, Pool2dShape, Quant, Requant, Weights,
};

/// `R` rows of `C` int8 values from the little-endian data of an I8 tensor, row-major.
///
/// # Panics
/// At compile time, if `bytes` does not hold `R · C` values.
pub const fn rows<const C: usize, const R: usize>(bytes: &[u8]) -> [[i8; C]; R] {
    assert!(bytes.len() == R * C, "the tensor's data is not R · C bytes");
    let mut out = [[0i8; C]; R];
    let mut i = 0;
    while i < R * C {
        out[i / C][i % C] = bytes[i] as i8;
        i += 1;
    }
    out
}

/// Each channel's multiplier `s_in · s_w[c] / s_out`.
const fn requants<const OUT: usize>(
    weight_scale: &[f32; OUT],
    input: Quant,
    output: Quant,
) -> [Requant; OUT] {
    let mut out = [Requant {
        multiplier: 0,
        shift: 0,
    }; OUT];
    let mut c = 0;
    while c < OUT {
        out[c] = Requant::product(input.scale, weight_scale[c], output.scale);
        c += 1;
    }
    out
}

/// `bias[c] − zero_point · Σ weight[c]`: the input zero point's share of each accumulator.
const fn folded<const PER: usize, const OUT: usize>(
    weight: &[[i8; PER]; OUT],
    bias: [i32; OUT],
    zero_point: i32,
) -> [i32; OUT] {
    let mut out = bias;
    let mut c = 0;
    while c < OUT {
        let mut sum = 0i32;
        let mut i = 0;
        while i < PER {
            sum += weight[c][i] as i32;
            i += 1;
        }
        out[c] -= zero_point * sum;
        c += 1;
    }
    out
}

/// A baked int8 `Linear`: `OUT` rows of `IN` weights, TFLite Micro's `FullyConnected`.
#[derive(Clone, Copy, Debug)]
pub struct Linear<const IN: usize, const OUT: usize> {
    /// Row-major, or on the Cortex-M4/M7 laid out for its kernel where that runs the layer.
    weight: [[i8; IN]; OUT],
    bias: [i32; OUT],
    requant: [Requant; OUT],
    /// Each row's rescaling, fused or not, chosen here rather than at each inference.
    #[cfg(nn_arm_dsp)]
    rescale: crate::kernels::int8::Rescales<OUT>,
    out: Output,
}

impl<const IN: usize, const OUT: usize> Linear<IN, OUT> {
    /// The layer from its int8 file's tensors: the weight, the int32 bias, one weight scale
    /// per output, the input's and output's quantisation and the fused activation.
    pub const fn new(
        weight: [[i8; IN]; OUT],
        bias: [i32; OUT],
        weight_scale: &[f32; OUT],
        input: Quant,
        output: Quant,
        activation: Activation,
    ) -> Self {
        let requant = requants(weight_scale, input, output);
        Linear {
            bias: folded(&weight, bias, input.zero_point),
            #[cfg(nn_arm_dsp)]
            weight: crate::kernels::int8::interleave(weight),
            #[cfg(not(nn_arm_dsp))]
            weight,
            #[cfg(nn_arm_dsp)]
            rescale: crate::kernels::int8::Rescales::new(&requant),
            requant,
            out: Output::new(output.scale, output.zero_point, activation),
        }
    }

    /// One sample: `input` of `IN` values into `output` of `OUT`.
    #[inline]
    pub fn forward(&self, input: &[i8], output: &mut [i8]) {
        #[cfg(nn_arm_dsp)]
        if crate::kernels::int8::packs(IN) {
            return crate::kernels::int8::linear_packed(
                input,
                self.weight.as_flattened(),
                &self.bias,
                &self.rescale,
                self.out,
                output,
            );
        }
        let weights = Weights {
            weight: self.weight.as_flattened(),
            bias: Some(&self.bias),
            requant: &self.requant,
        };
        linear(input, 0, weights, self.out, output);
    }
}

/// What a baked convolution holds, plain or depthwise: `OUT` filters of `PER` weights each,
/// prepared at compile time.
#[derive(Clone, Copy, Debug)]
struct Filters<const PER: usize, const OUT: usize> {
    weight: [[i8; PER]; OUT],
    bias: [i32; OUT],
    requant: [Requant; OUT],
    shape: Conv2dShape,
    input_zero_point: i32,
    out: Output,
}

impl<const PER: usize, const OUT: usize> Filters<PER, OUT> {
    const fn new(
        shape: Conv2dShape,
        weight: [[i8; PER]; OUT],
        bias: [i32; OUT],
        weight_scale: &[f32; OUT],
        input: Quant,
        output: Quant,
        activation: Activation,
    ) -> Self {
        // Padding reads the zero point where the image ends: only a convolution without it
        // takes the zero point into its biases.
        let fold = !reads_padding(&shape);
        let zero_point = if fold { input.zero_point } else { 0 };
        Filters {
            bias: folded(&weight, bias, zero_point),
            weight,
            requant: requants(weight_scale, input, output),
            shape,
            input_zero_point: input.zero_point - zero_point,
            out: Output::new(output.scale, output.zero_point, activation),
        }
    }

    #[inline]
    fn weights(&self) -> Weights<'_> {
        Weights {
            weight: self.weight.as_flattened(),
            bias: Some(&self.bias),
            requant: &self.requant,
        }
    }
}

/// A baked int8 `Conv2d`: `OUT` filters of `PER` (`in · kH · kW`) weights.
#[derive(Clone, Copy, Debug)]
pub struct Conv2d<const PER: usize, const OUT: usize>(Filters<PER, OUT>);

impl<const PER: usize, const OUT: usize> Conv2d<PER, OUT> {
    /// The layer from its int8 file's tensors (see [`Linear::new`]) and its geometry.
    pub const fn new(
        shape: Conv2dShape,
        weight: [[i8; PER]; OUT],
        bias: [i32; OUT],
        weight_scale: &[f32; OUT],
        input: Quant,
        output: Quant,
        activation: Activation,
    ) -> Self {
        Conv2d(Filters::new(
            shape,
            weight,
            bias,
            weight_scale,
            input,
            output,
            activation,
        ))
    }

    /// One sample: an image `[in, H, W]` into `[OUT, H', W']`.
    #[inline]
    pub fn forward(&self, input: &[i8], output: &mut [i8]) {
        let f = &self.0;
        conv2d(
            &f.shape,
            input,
            f.input_zero_point,
            f.weights(),
            f.out,
            output,
        );
    }
}

/// Whether a window of `s` reaches past the image on any side (TensorFlow's `SAME` at a
/// stride of 2 pads after the image only).
const fn reads_padding(s: &Conv2dShape) -> bool {
    let mut axis = 0;
    while axis < 2 {
        let extent = (s.kernel[axis] - 1) * s.dilation[axis] + 1;
        let end = s.output[axis].saturating_sub(1) * s.stride[axis] + extent;
        if s.pad[axis] > 0 || end > s.input[axis] + s.pad[axis] {
            return true;
        }
        axis += 1;
    }
    false
}

/// A baked int8 depthwise `Conv2d` (`groups` equal to its input channels): `OUT` filters of
/// `TAPS` (`kH · kW`) weights, output channel `c` reading input channel `c / (OUT / in)`.
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseConv2d<const TAPS: usize, const OUT: usize>(Filters<TAPS, OUT>);

impl<const TAPS: usize, const OUT: usize> DepthwiseConv2d<TAPS, OUT> {
    /// The layer from its int8 file's tensors (see [`Linear::new`]) and its geometry.
    pub const fn new(
        shape: Conv2dShape,
        weight: [[i8; TAPS]; OUT],
        bias: [i32; OUT],
        weight_scale: &[f32; OUT],
        input: Quant,
        output: Quant,
        activation: Activation,
    ) -> Self {
        DepthwiseConv2d(Filters::new(
            shape,
            weight,
            bias,
            weight_scale,
            input,
            output,
            activation,
        ))
    }

    /// One sample: an image `[in, H, W]` into `[OUT, H', W']`.
    #[inline]
    pub fn forward(&self, input: &[i8], output: &mut [i8]) {
        let f = &self.0;
        depthwise_conv2d(
            &f.shape,
            input,
            f.input_zero_point,
            f.weights(),
            f.out,
            output,
        );
    }
}

/// A baked per-channel scale and shift (a batch norm after an activation): a depthwise
/// 1×1 convolution of `C` channels.
#[derive(Clone, Copy, Debug)]
pub struct Depthwise<const C: usize> {
    weight: [[i8; 1]; C],
    bias: [i32; C],
    /// Each channel's rescaling, fused or not, chosen here rather than at each inference.
    rescale: [Rescale; C],
    shape: Conv2dShape,
    out: Output,
}

impl<const C: usize> Depthwise<C> {
    /// The layer from its int8 file's tensors (see [`Linear::new`]) on `C` channels of
    /// `H × W` values (1 × 1 after a `Linear`).
    pub const fn new(
        image: [usize; 2],
        weight: [[i8; 1]; C],
        bias: [i32; C],
        weight_scale: &[f32; C],
        input: Quant,
        output: Quant,
    ) -> Self {
        let requant = requants(weight_scale, input, output);
        let mut rescale = [Rescale::new(0, 0); C];
        let mut c = 0;
        while c < C {
            rescale[c] = Rescale::new(requant[c].multiplier, requant[c].shift);
            c += 1;
        }
        Depthwise {
            bias: folded(&weight, bias, input.zero_point),
            weight,
            rescale,
            shape: Conv2dShape {
                in_channels: C,
                input: image,
                out_channels: C,
                output: image,
                kernel: [1, 1],
                stride: [1, 1],
                dilation: [1, 1],
                pad: [0, 0],
            },
            out: Output::new(output.scale, output.zero_point, Activation::None),
        }
    }

    /// One sample: `[C, H, W]` into `[C, H, W]`.
    ///
    /// # Panics
    /// If a slice is not `C · H · W` values.
    #[inline]
    pub fn forward(&self, input: &[i8], output: &mut [i8]) {
        // Each channel's plane scaled and shifted as a 1×1 depthwise convolution with its
        // zero point folded into the bias (the same bits as `depthwise_conv2d`, without its
        // windows).
        let hw = self.shape.input[0] * self.shape.input[1];
        assert!(
            input.len() == C * hw && output.len() == C * hw,
            "{} inputs and {} outputs for {C} channels of {hw} values",
            input.len(),
            output.len()
        );
        let planes = input
            .chunks_exact(hw.max(1))
            .zip(output.chunks_exact_mut(hw.max(1)));
        let channels = self.weight.iter().zip(&self.bias).zip(&self.rescale);
        for ((x, y), ((w, b), scale)) in planes.zip(channels) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                *y = self
                    .out
                    .write(scale.apply(b.wrapping_add(w[0] as i32 * *x as i32)));
            }
        }
    }
}

/// A baked pool, max or average, keeping its input's quantisation (as TFLite's).
#[derive(Clone, Copy, Debug)]
pub struct Pool2d {
    shape: Pool2dShape,
    average: bool,
    out: Output,
}

impl Pool2d {
    /// A max pool (`average` false) or an average pool of `shape`, on values quantised as
    /// `quant`.
    pub const fn new(shape: Pool2dShape, average: bool, quant: Quant) -> Self {
        Pool2d {
            shape,
            average,
            out: Output::new(quant.scale, quant.zero_point, Activation::None),
        }
    }

    /// One sample: `[C, H, W]` into `[C, H', W']`.
    #[inline]
    pub fn forward(&self, input: &[i8], output: &mut [i8]) {
        if self.average {
            avg_pool2d(&self.shape, input, self.out, output);
        } else {
            max_pool2d(&self.shape, input, self.out, output);
        }
    }
}

/// A baked `ReLU` or `ReLU6` that no layer before it could take: a clamp in place.
#[derive(Clone, Copy, Debug)]
pub struct Clamp {
    out: Output,
}

impl Clamp {
    /// The clamp of `activation` on values quantised as `quant`.
    pub const fn new(activation: Activation, quant: Quant) -> Self {
        Clamp {
            out: Output::new(quant.scale, quant.zero_point, activation),
        }
    }

    /// One sample, in place.
    #[inline]
    pub fn forward(&self, values: &mut [i8]) {
        clamp(values, self.out);
    }
}

/// A baked residual add, TFLite Micro's int8 `ADD`: both inputs rescaled to the output's
/// quantisation, the fused activation clamped; its multipliers prepared by the compiler.
#[derive(Clone, Copy, Debug)]
pub struct Add {
    params: AddParams,
}

impl Add {
    /// The add of values quantised as `a` and `b` into values quantised as `output`.
    pub const fn new(a: Quant, b: Quant, output: Quant, activation: Activation) -> Self {
        Add {
            params: AddParams::new(
                (a.scale, a.zero_point),
                (b.scale, b.zero_point),
                (output.scale, output.zero_point),
                activation,
            ),
        }
    }

    /// One sample: `a + b` into `output`, all of one length.
    #[inline]
    pub fn forward(&self, a: &[i8], b: &[i8], output: &mut [i8]) {
        add(a, b, &self.params, output);
    }
}

/// The `N` parts of `scratch` at `(offset, length)`, which do not overlap, in the order
/// given: the values one step of a baked network reads and writes.
///
/// ```
/// let mut scratch = [0i8; 10];
/// let [b, a] = nn::int8::baked::regions(&mut scratch, [(6, 4), (0, 2)]);
/// b.fill(1);
/// a.fill(2);
/// assert_eq!(scratch, [2, 2, 0, 0, 0, 0, 1, 1, 1, 1]);
/// ```
///
/// # Panics
/// If two parts overlap or one ends past `scratch`.
pub fn regions<'a, const N: usize>(
    scratch: &'a mut [i8],
    parts: [(usize, usize); N],
) -> [&'a mut [i8]; N] {
    // The parts by offset, cut off the front of what is left in that order.
    let mut order = [0usize; N];
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    order.sort_unstable_by_key(|&i| parts[i].0);
    let mut out: [Option<&'a mut [i8]>; N] = [const { None }; N];
    let (mut rest, mut at) = (scratch, 0usize);
    for &i in &order {
        let (offset, len) = parts[i];
        assert!(
            offset >= at,
            "the parts of a baked network's scratch overlap"
        );
        let (_, tail) = rest.split_at_mut(offset - at);
        let (part, tail) = tail.split_at_mut(len);
        out[i] = Some(part);
        rest = tail;
        at = offset + len;
    }
    out.map(|p| p.expect("every part is cut"))
}
