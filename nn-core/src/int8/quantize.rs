//! Post-training quantisation of a trained network into TFLite's int8 scheme.
//!
//! The network is read from its [`Layer::LAYERS`], its forward written as code where it has
//! one ([`Layer::FORWARD`], followed by `graph`: nested networks, residual adds) and its
//! state dict: each
//! `Linear` or `Conv2d` becomes an int8 layer with one symmetric weight scale per output
//! channel and int32 biases at `s_in · s_w`; a `BatchNorm`/`BatchNorm2d` is folded into the
//! layer before it (or, after a ReLU, into the `Linear` after it, which is exact there); a
//! `ReLU` or `ReLU6` right after a layer becomes its output clamp; pools and `Flatten` keep
//! their input's quantisation. Activations are asymmetric int8, their ranges the minimum and
//! maximum seen on the calibration inputs (which always include 0).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use super::{Activation, Conv2dShape, Pool2dShape, Quant};
use crate::{Buffer, Layer, LayerInfo, Path};
use args::{pair, top_level, ConvArgs};

/// Why a network could not be quantised.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantizeError {
    /// A layer the int8 path does not have, or a layer where it cannot go.
    Unsupported {
        /// The layer's name in the network.
        layer: String,
        /// The layer as declared.
        kind: String,
        /// What is missing.
        why: String,
    },
    /// The calibration inputs are not whole rows of the network's input.
    Calibration {
        /// The values passed.
        len: usize,
        /// The network's input width.
        width: usize,
    },
}

impl fmt::Display for QuantizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantizeError::Unsupported { layer, kind, why } => {
                write!(f, "layer `{layer}` (`{kind}`) cannot be quantised: {why}")
            }
            QuantizeError::Calibration { len, width } => write!(
                f,
                "calibration data of {len} values is not a whole number of inputs of {width}; \
                 pass at least one input, its rows side by side"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for QuantizeError {}

impl Quant {
    /// Each of `x` quantised into `q` (the shorter's length), in the widest vector unit the
    /// host has.
    pub(crate) fn quantize_slice(self, x: &[f32], q: &mut [i8]) {
        struct Run<'a> {
            quant: Quant,
            x: &'a [f32],
            q: &'a mut [i8],
        }
        impl crate::kernels::simd::Kernel for Run<'_> {
            #[inline(always)]
            fn run(self) {
                for (q, &x) in self.q.iter_mut().zip(self.x) {
                    *q = self.quant.quantize(x);
                }
            }
        }
        crate::kernels::simd::vectorized(Run { quant: self, x, q });
    }
}

/// A `Linear` or `Conv2d` of the chain, in floats (folded) or in int8.
#[derive(Clone, Debug)]
pub(crate) struct Dense {
    /// The layer's name: its tensors are `NAME.weight`, `NAME.bias`, ... (read by the
    /// int8 file, which needs `std`).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub name: String,
    /// `Some` for a convolution, `None` for a linear layer.
    pub conv: Option<Conv2dShape>,
    /// A depthwise convolution, weight `[C · M, 1, kH, kW]`.
    pub depthwise: bool,
    /// A batch norm of its own (a depthwise 1×1 whose f32 weight is `[C]`; read by the int8
    /// file).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub affine: bool,
    pub outputs: usize,
    pub inputs: usize,
    pub activation: Activation,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// One step of the chain.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    Dense(Dense),
    MaxPool(Pool2dShape),
    AvgPool(Pool2dShape),
    Clamp(Activation),
    /// Keeps the value at hand in slot `k`, for a step that reads it later.
    Save(usize),
    /// The value in slot `k` becomes the one at hand.
    Load(usize),
    /// The value at hand plus the one in slot `slot`, TFLite's ADD.
    Add(AddStep),
}

/// A residual add: `activation(x + slot)`, `x` the value at hand.
#[derive(Clone, Debug)]
pub(crate) struct AddStep {
    /// Its name in the int8 file: `add`, `add_1`, ... in each forward, as PyTorch's FX
    /// names the operations it traces (`stack1.add`).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub name: String,
    pub slot: usize,
    pub activation: Activation,
}

/// The steps of `N` (a chain, a forward written as code, networks nested in either), its
/// BatchNorms and ReLUs folded, in floats. With `state` `None`, the structure alone (weights
/// zero), for reading an int8 file into.
pub(crate) fn plan<N: Layer>(
    state: Option<&BTreeMap<String, Vec<f32>>>,
) -> Result<Vec<Step>, QuantizeError> {
    graph::plan(N::LAYERS, N::FORWARD, N::IN_IMAGE, state)
}

/// One declared layer `info`, named `name` in the state dict, appended to `steps`; `image`
/// is the image it reads (`None` for features), updated to the one it makes.
pub(super) fn layer(
    steps: &mut Vec<Step>,
    info: &LayerInfo,
    name: String,
    image: &mut Option<[usize; 3]>,
    state: Option<&BTreeMap<String, Vec<f32>>>,
) -> Result<(), QuantizeError> {
    {
        let kind = info.kind().to_string();
        let unsupported = |why: &str| QuantizeError::Unsupported {
            layer: name.clone(),
            kind: kind.clone(),
            why: why.to_string(),
        };
        let head = kind.split('<').next().unwrap_or("");
        let args: Vec<&str> = kind
            .split_once('<')
            .map(|(_, a)| top_level(a.strip_suffix('>').unwrap_or(a)))
            .unwrap_or_default();
        let tensor = |t: &str, len: usize| -> Vec<f32> {
            match state {
                Some(s) => s.get(&format!("{name}.{t}")).cloned().unwrap_or_default(),
                None => vec![0.0; len],
            }
        };
        match head {
            "Linear" => {
                let (i, o) = (info.inputs, info.outputs);
                let weight = tensor("weight", o * i);
                let bias = match state {
                    Some(s) => s
                        .get(&format!("{name}.bias"))
                        .cloned()
                        .unwrap_or(vec![0.0; o]),
                    None => vec![0.0; o],
                };
                steps.push(Step::Dense(Dense {
                    name,
                    conv: None,
                    depthwise: false,
                    affine: false,
                    outputs: o,
                    inputs: i,
                    activation: Activation::None,
                    weight,
                    bias,
                }));
                *image = None;
            }
            "Conv2d" => {
                let (Some(inp), Some(out)) = (*image, info.image) else {
                    return Err(unsupported("its input image is not known"));
                };
                let conv = ConvArgs::parse(&args).map_err(|why| unsupported(&why))?;
                let shape = conv.shape(inp, out[0]);
                if [shape.out_channels, shape.output[0], shape.output[1]] != out {
                    return Err(unsupported("its output is not the int8 geometry's"));
                }
                let depthwise = match conv.groups {
                    1 => false,
                    g if g == inp[0] && out[0].is_multiple_of(g) => true,
                    _ => {
                        return Err(unsupported(
                            "grouped convolutions other than depthwise have no int8 layer",
                        ))
                    }
                };
                let taps = conv.kernel[0] * conv.kernel[1];
                let per = if depthwise { taps } else { inp[0] * taps };
                let weight = tensor("weight", out[0] * per);
                let bias = match state {
                    Some(s) => s
                        .get(&format!("{name}.bias"))
                        .cloned()
                        .unwrap_or(vec![0.0; out[0]]),
                    None => vec![0.0; out[0]],
                };
                steps.push(Step::Dense(Dense {
                    name,
                    conv: Some(shape),
                    depthwise,
                    affine: false,
                    outputs: out[0],
                    inputs: per,
                    activation: Activation::None,
                    weight,
                    bias,
                }));
                *image = Some(out);
            }
            "BatchNorm" | "BatchNorm2d" => {
                let n: usize = args.first().and_then(|n| n.parse().ok()).unwrap_or(0);
                let (w, b, m, v) = (
                    tensor("weight", n),
                    tensor("bias", n),
                    tensor("running_mean", n),
                    tensor("running_var", n),
                );
                let a: Vec<f32> = w
                    .iter()
                    .zip(&v)
                    .map(|(w, v)| w / libm::sqrtf(v + 1e-5))
                    .collect();
                let shift: Vec<f32> = b
                    .iter()
                    .zip(&m)
                    .zip(&a)
                    .map(|((b, m), a)| b - m * a)
                    .collect();
                match steps.last_mut() {
                    Some(Step::Dense(d)) if d.activation == Activation::None => {
                        let per = d.inputs;
                        for (o, (row, bias)) in
                            d.weight.chunks_exact_mut(per).zip(&mut d.bias).enumerate()
                        {
                            row.iter_mut().for_each(|w| *w *= a[o]);
                            *bias = *bias * a[o] + shift[o];
                        }
                    }
                    // After an activation: its own per-channel affine step, a depthwise 1×1
                    // convolution in int8 (one weight scale per channel keeps each exact).
                    _ => {
                        let [c, h, w] = image.unwrap_or([n, 1, 1]);
                        steps.push(Step::Dense(Dense {
                            name,
                            conv: Some(Conv2dShape::tflite(
                                [c, h, w],
                                c,
                                [1, 1],
                                [1, 1],
                                [1, 1],
                                super::Padding::Valid,
                            )),
                            depthwise: true,
                            affine: true,
                            outputs: c,
                            inputs: 1,
                            activation: Activation::None,
                            weight: a,
                            bias: shift,
                        }));
                    }
                }
            }
            "ReLU" | "ReLU6" => {
                let act = if head == "ReLU" {
                    Activation::Relu
                } else {
                    Activation::Relu6
                };
                match steps.last_mut() {
                    Some(Step::Dense(d)) if d.activation == Activation::None => d.activation = act,
                    Some(Step::Add(a)) if a.activation == Activation::None => a.activation = act,
                    _ => steps.push(Step::Clamp(act)),
                }
            }
            "MaxPool2d" | "AvgPool2d" | "AdaptiveAvgPool2d" => {
                let (Some(inp), Some(out)) = (*image, info.image) else {
                    return Err(unsupported("its input image is not known"));
                };
                let shape = if head == "AdaptiveAvgPool2d" {
                    // The global average pool: one window over the whole image.
                    Pool2dShape::tflite(
                        inp,
                        [inp[1], inp[2]],
                        [inp[1], inp[2]],
                        super::Padding::Valid,
                    )
                } else {
                    let window = pair(args.first().copied().unwrap_or(""))
                        .ok_or_else(|| unsupported("a window that is not read"))?;
                    let mut stride = window;
                    let mut pad = [0, 0];
                    for a in args.iter().skip(1) {
                        match a.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                            Some(("stride", v)) => {
                                stride = pair(v).ok_or_else(|| unsupported("a stride"))?
                            }
                            Some(("padding", v)) => {
                                pad = pair(v).ok_or_else(|| unsupported("a padding"))?
                            }
                            _ => return Err(unsupported("an argument that is not read")),
                        }
                    }
                    if head == "AvgPool2d" && pad != [0, 0] {
                        // PyTorch counts the padding in the average, TFLite does not.
                        return Err(unsupported(
                            "an average pool with padding has no int8 layer (TFLite's \
                             average leaves the padding out, PyTorch's counts it)",
                        ));
                    }
                    Pool2dShape {
                        channels: inp[0],
                        input: [inp[1], inp[2]],
                        output: [out[1], out[2]],
                        window,
                        stride,
                        pad,
                    }
                };
                if [shape.channels, shape.output[0], shape.output[1]] != out {
                    return Err(unsupported("its output is not the int8 geometry's"));
                }
                steps.push(if head == "MaxPool2d" {
                    Step::MaxPool(shape)
                } else {
                    Step::AvgPool(shape)
                });
                *image = Some(out);
            }
            "Flatten" => *image = None,
            "Dropout" | "Identity" => {}
            _ => return Err(unsupported("no int8 layer of this kind")),
        }
    }
    Ok(())
}

/// The input rows (or columns) of pool window `o` along `axis`, clipped to the image.
fn span(s: &Pool2dShape, axis: usize, o: usize) -> core::ops::Range<usize> {
    let start = (o * s.stride[axis]) as isize - s.pad[axis] as isize;
    let end = (start + s.window[axis] as isize).min(s.input[axis] as isize);
    start.max(0) as usize..end.max(0) as usize
}

/// The state dict of `net` by full name.
pub(crate) fn state_of<N: Layer>(net: &N) -> BTreeMap<String, Vec<f32>> {
    let mut state = BTreeMap::new();
    net.walk_state(
        &Path::ROOT,
        &mut |path: &Path<'_>, name: &str, _: &[usize], value: Buffer<'_>| {
            if let Buffer::F32(v) = value {
                let key = if path.is_root() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                state.insert(key, v.to_vec());
            }
        },
    );
    state
}

fn relu(x: f32, act: Activation) -> f32 {
    match act {
        Activation::None => x,
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => x.clamp(0.0, 6.0),
    }
}

/// The folded chain in floats on one input; `seen(i, values)` is called with each step's
/// output. Its results equal the network's own forward but for rounding.
pub(crate) fn run_f32(steps: &[Step], x: &[f32], mut seen: impl FnMut(usize, &[f32])) -> Vec<f32> {
    let mut x = x.to_vec();
    let mut slots: Vec<Vec<f32>> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        x = match step {
            Step::Save(k) => {
                if slots.len() <= *k {
                    slots.resize(k + 1, Vec::new());
                }
                slots[*k].clone_from(&x);
                x
            }
            Step::Load(k) => slots[*k].clone(),
            Step::Add(a) => x
                .iter()
                .zip(&slots[a.slot])
                .map(|(x, y)| relu(x + y, a.activation))
                .collect(),
            Step::Dense(d) => match &d.conv {
                None => d
                    .weight
                    .chunks_exact(d.inputs)
                    .zip(&d.bias)
                    .map(|(row, b)| {
                        relu(
                            b + row.iter().zip(&x).map(|(w, x)| w * x).sum::<f32>(),
                            d.activation,
                        )
                    })
                    .collect(),
                Some(s) => {
                    let [oh, ow] = s.output;
                    let [kh, kw] = s.kernel;
                    let [ih, iw] = s.input;
                    let mut y = vec![0.0; s.output_len()];
                    for oc in 0..s.out_channels {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let mut acc = d.bias[oc];
                                let channels = if d.depthwise {
                                    let m = s.out_channels / s.in_channels;
                                    oc / m..oc / m + 1
                                } else {
                                    0..s.in_channels
                                };
                                let (kys, y0) = s.taps(0, oy);
                                let (kxs, x0) = s.taps(1, ox);
                                let per = d.inputs / (kh * kw);
                                for (j, ic) in channels.enumerate() {
                                    let plane = &x[ic * ih * iw..][..ih * iw];
                                    let taps = &d.weight[(oc * per + j) * kh * kw..][..kh * kw];
                                    for (r, ky) in kys.clone().enumerate() {
                                        let row = &plane[(y0 + r * s.dilation[0]) * iw..][..iw];
                                        let wrow = &taps[ky * kw..][..kw];
                                        for (c, kx) in kxs.clone().enumerate() {
                                            acc += wrow[kx] * row[x0 + c * s.dilation[1]];
                                        }
                                    }
                                }
                                y[(oc * oh + oy) * ow + ox] = relu(acc, d.activation);
                            }
                        }
                    }
                    y
                }
            },
            Step::MaxPool(s) | Step::AvgPool(s) => {
                let [oh, ow] = s.output;
                let [ih, iw] = s.input;
                let mut y = vec![0.0; s.channels * oh * ow];
                for c in 0..s.channels {
                    for oy in 0..oh {
                        let rows = span(s, 0, oy);
                        for ox in 0..ow {
                            let cols = span(s, 1, ox);
                            let taps = rows
                                .clone()
                                .flat_map(|r| x[(c * ih + r) * iw..][cols.clone()].iter().copied());
                            y[(c * oh + oy) * ow + ox] = if matches!(step, Step::MaxPool(_)) {
                                taps.fold(f32::NEG_INFINITY, f32::max)
                            } else {
                                let n = rows.len() * cols.len();
                                taps.sum::<f32>() / n.max(1) as f32
                            };
                        }
                    }
                }
                y
            }
            Step::Clamp(act) => x.iter().map(|&v| relu(v, *act)).collect(),
        };
        seen(i, &x);
    }
    x
}

mod args;
mod graph;
#[cfg(test)]
mod tests;
