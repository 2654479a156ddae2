//! The int8 safetensors file of a [`Quantized`] network, under the f32 network's names.
//!
//! For each int8 layer `NAME` (a `Linear`, a `Conv2d` with the batch norm after it folded in,
//! or a batch norm after an activation, a per-channel scale of its own):
//!
//! | tensor | dtype | shape |
//! |---|---|---|
//! | `NAME.weight` | I8 | the f32 layer's weight shape (`[C]` for a batch norm) |
//! | `NAME.weight_scale` | F32 | `[out]`: one scale per output channel |
//! | `NAME.bias` | I32 | `[out]`, at the scale `input_scale · weight_scale` |
//! | `NAME.input_scale`, `NAME.output_scale` | F32 | `[1]` |
//! | `NAME.input_zero_point`, `NAME.output_zero_point` | I32 | `[1]`, in `-128..=127` |
//!
//! A residual add (`x + y` in a forward written as code, named `add`, `add_1`, ... in each
//! forward as PyTorch's FX names them, under the network's name: `stack1.add`) keeps its
//! output's quantisation, `NAME.output_scale` and `NAME.output_zero_point`; its inputs' are
//! the values added.

use std::format;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use nn_safetensors::{Dtype, File};
use safetensors::tensor::TensorView;

use super::network::{AddInt8, DenseInt8, StepInt8};
use super::quantize::{plan, Dense, Step};
use super::{Quant, Quantized};
use crate::Layer;

/// Why an int8 weights file could not be read or written.
#[derive(Debug)]
pub enum Int8FileError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error from the operating system.
        source: std::io::Error,
    },
    /// Not a safetensors file.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The network cannot be in int8 (see [`super::QuantizeError`]).
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A tensor the network needs is not in the file.
    Missing {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
    },
    /// A tensor has another element type: an f32 file where int8 is needed, for example.
    Dtype {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The network's type.
        expected: &'static str,
        /// The file's.
        found: &'static str,
    },
    /// A tensor has another shape than the network's (a scale count that is not the layer's
    /// output channels, for example).
    Shape {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The network's shape.
        expected: Vec<usize>,
        /// The file's.
        found: Vec<usize>,
    },
    /// A layer's input quantisation is not the one of the value it reads: the output
    /// quantisation of the layer (or add) that makes it.
    Quantization {
        /// The file.
        path: PathBuf,
        /// The layer's tensor (`fc.input_zero_point`).
        tensor: String,
        /// Its value, as text.
        found: String,
        /// The tensor of the layer that makes the value read (`stack3.add.output_zero_point`).
        source: String,
        /// That tensor's value, as text.
        expected: String,
    },
    /// A zero point outside int8, or a scale that is not a positive finite number.
    Value {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The value, as text.
        value: String,
    },
}

impl core::fmt::Display for Int8FileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use Int8FileError::*;
        match self {
            Io { path, source } => write!(f, "{}: {source}", path.display()),
            Format { path, reason } => {
                write!(f, "{}: not a safetensors file: {reason}", path.display())
            }
            Unsupported { path, reason } => write!(f, "{}: {reason}", path.display()),
            Missing { path, tensor } => {
                write!(f, "{}: tensor `{tensor}` is missing", path.display())
            }
            Dtype {
                path,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "{}: tensor `{tensor}` has type {found}, but the int8 network's is {expected}",
                path.display()
            ),
            Shape {
                path,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "{}: tensor `{tensor}` has shape {found:?}, but the int8 network's is {expected:?}",
                path.display()
            ),
            Quantization {
                path,
                tensor,
                found,
                source,
                expected,
            } => write!(
                f,
                "{}: tensor `{tensor}` holds {found}, but the value the layer reads is \
                 quantised by `{source}`, which holds {expected}; a layer's input quantisation \
                 is the output quantisation of the layer before it: write both the same",
                path.display()
            ),
            Value {
                path,
                tensor,
                value,
            } => write!(
                f,
                "{}: tensor `{tensor}` holds {value}, which is not a valid {}",
                path.display(),
                if tensor.ends_with("zero_point") {
                    "int8 zero point (-128..=127)"
                } else {
                    "scale"
                }
            ),
        }
    }
}

impl std::error::Error for Int8FileError {}

/// The f32 layer's weight shape of an int8 layer.
fn weight_shape(d: &DenseInt8) -> Vec<usize> {
    dense_weight_shape(&d.layer)
}

fn dense_weight_shape(d: &Dense) -> Vec<usize> {
    match (&d.conv, d.depthwise) {
        (None, _) => vec![d.outputs, d.inputs],
        (Some(s), false) => vec![s.out_channels, s.in_channels, s.kernel[0], s.kernel[1]],
        (Some(s), true) if d.affine => vec![s.out_channels],
        (Some(s), true) => vec![s.out_channels, 1, s.kernel[0], s.kernel[1]],
    }
}

impl<N: Layer> Quantized<N> {
    /// Writes the int8 weights, scales and zero points (the format is in the README).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Int8FileError> {
        let path = path.as_ref();
        let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for a in self.adds() {
            let n = &a.step.name;
            tensors.push((
                format!("{n}.output_scale"),
                safetensors::Dtype::F32,
                vec![1],
                a.output.scale.to_le_bytes().to_vec(),
            ));
            tensors.push((
                format!("{n}.output_zero_point"),
                safetensors::Dtype::I32,
                vec![1],
                a.output.zero_point.to_le_bytes().to_vec(),
            ));
        }
        for d in self.dense() {
            let n = &d.layer.name;
            let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
            let i32s = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
            let out = d.layer.outputs;
            tensors.push((
                format!("{n}.weight"),
                safetensors::Dtype::I8,
                weight_shape(d),
                d.weight.iter().map(|&w| w as u8).collect(),
            ));
            tensors.push((
                format!("{n}.weight_scale"),
                safetensors::Dtype::F32,
                vec![out],
                f32s(&d.weight_scale),
            ));
            tensors.push((
                format!("{n}.bias"),
                safetensors::Dtype::I32,
                vec![out],
                i32s(&d.bias),
            ));
            for (side, q) in [("input", d.input), ("output", d.output)] {
                tensors.push((
                    format!("{n}.{side}_scale"),
                    safetensors::Dtype::F32,
                    vec![1],
                    f32s(&[q.scale]),
                ));
                tensors.push((
                    format!("{n}.{side}_zero_point"),
                    safetensors::Dtype::I32,
                    vec![1],
                    i32s(&[q.zero_point]),
                ));
            }
        }
        let format = |reason: String| Int8FileError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let mut views = Vec::with_capacity(tensors.len());
        for (name, dtype, shape, bytes) in &tensors {
            let view =
                TensorView::new(*dtype, shape.clone(), bytes).map_err(|e| format(e.to_string()))?;
            views.push((name.as_str(), view));
        }
        let bytes = safetensors::serialize(views, None).map_err(|e| format(e.to_string()))?;
        std::fs::write(path, bytes).map_err(|source| Int8FileError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a file [`Quantized::save`] wrote (or a converter from TFLite): every tensor's
    /// dtype and shape is checked against `N`, every scale count against its layer's output
    /// channels, every zero point against int8's range, every layer's input quantisation
    /// against the output quantisation of the layer that makes what it reads.
    pub fn load(path: impl AsRef<Path>) -> Result<Quantized<N>, Int8FileError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Int8FileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file = File::parse(&bytes).map_err(|e| Int8FileError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let steps = plan::<N>(None).map_err(|e| Int8FileError::Unsupported {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let get =
            |tensor: String, dtype: Dtype, shape: Vec<usize>| -> Result<&[u8], Int8FileError> {
                let t = file.tensor(&tensor).ok_or_else(|| Int8FileError::Missing {
                    path: path.to_path_buf(),
                    tensor: tensor.clone(),
                })?;
                if t.dtype() != dtype {
                    return Err(Int8FileError::Dtype {
                        path: path.to_path_buf(),
                        tensor,
                        expected: dtype.name(),
                        found: t.dtype().name(),
                    });
                }
                if t.shape() != shape.as_slice() {
                    return Err(Int8FileError::Shape {
                        path: path.to_path_buf(),
                        tensor,
                        expected: shape,
                        found: t.shape().to_vec(),
                    });
                }
                Ok(t.data())
            };
        let f32s = |b: &[u8]| {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<f32>>()
        };
        let i32s = |b: &[u8]| {
            b.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<i32>>()
        };
        let value = |tensor: String, value: String| Int8FileError::Value {
            path: path.to_path_buf(),
            tensor,
            value,
        };
        let quant = |n: &str, side: &str| -> Result<Quant, Int8FileError> {
            let scale = f32s(get(format!("{n}.{side}_scale"), Dtype::F32, vec![1])?)[0];
            if !(scale.is_finite() && scale > 0.0) {
                return Err(value(format!("{n}.{side}_scale"), scale.to_string()));
            }
            let zero_point = i32s(get(format!("{n}.{side}_zero_point"), Dtype::I32, vec![1])?)[0];
            if !(-128..=127).contains(&zero_point) {
                return Err(value(
                    format!("{n}.{side}_zero_point"),
                    zero_point.to_string(),
                ));
            }
            Ok(Quant { scale, zero_point })
        };
        let mut out = Vec::with_capacity(steps.len());
        // The network's input: the first layer with weights reads it. Its weight is read
        // first, so that an f32 file fails on its type.
        let Some(first) = steps.iter().find_map(|s| match s {
            Step::Dense(d) => Some(d),
            _ => None,
        }) else {
            return Err(Int8FileError::Unsupported {
                path: path.to_path_buf(),
                reason: "the network has no layer with weights".into(),
            });
        };
        get(
            format!("{}.weight", first.name),
            Dtype::I8,
            dense_weight_shape(first),
        )?;
        let input = quant(&first.name, "input")?;
        // The quantisation of the value at hand and of each kept one, with the name of the
        // layer that made it (none for the network's input).
        let mut last = input;
        let mut made_by: Option<String> = None;
        let mut slots: Vec<(Quant, Option<String>)> = Vec::new();
        for step in steps {
            let layer = match step {
                Step::Dense(layer) => layer,
                Step::Add(a) => {
                    let output = quant(&a.name, "output")?;
                    let kept = slots[a.slot].0;
                    made_by = Some(a.name.clone());
                    out.push(StepInt8::Add(AddInt8::new(a, last, kept, output)));
                    last = output;
                    continue;
                }
                Step::Save(k) => {
                    if slots.len() <= k {
                        slots.resize(k + 1, (last, None));
                    }
                    slots[k] = (last, made_by.clone());
                    out.push(StepInt8::Float(step));
                    continue;
                }
                Step::Load(k) => {
                    (last, made_by) = slots[k].clone();
                    out.push(StepInt8::Float(step));
                    continue;
                }
                other => {
                    out.push(StepInt8::Float(other));
                    continue;
                }
            };
            let n = layer.name.clone();
            let o = layer.outputs;
            let mut d = DenseInt8 {
                layer,
                weight: Vec::new(),
                bias: Vec::new(),
                weight_scale: Vec::new(),
                input: Quant {
                    scale: 1.0,
                    zero_point: 0,
                },
                output: Quant {
                    scale: 1.0,
                    zero_point: 0,
                },
                requant: Vec::new(),
                row_sums: Vec::new(),
                packed: Default::default(),
            };
            // The weight first: an f32 file fails here, on its type.
            d.weight = get(format!("{n}.weight"), Dtype::I8, weight_shape(&d))?
                .iter()
                .map(|&b| b as i8)
                .collect();
            d.input = quant(&n, "input")?;
            if let Some(source) = &made_by {
                let (a, b) = (d.input, last);
                let differs = if a.zero_point != b.zero_point {
                    Some((
                        "zero_point",
                        a.zero_point.to_string(),
                        b.zero_point.to_string(),
                    ))
                } else if a.scale.to_bits() != b.scale.to_bits() {
                    Some(("scale", format!("{:e}", a.scale), format!("{:e}", b.scale)))
                } else {
                    None
                };
                if let Some((what, found, expected)) = differs {
                    return Err(Int8FileError::Quantization {
                        path: path.to_path_buf(),
                        tensor: format!("{n}.input_{what}"),
                        found,
                        source: format!("{source}.output_{what}"),
                        expected,
                    });
                }
            }
            d.output = quant(&n, "output")?;
            made_by = Some(n.clone());
            d.weight_scale = f32s(get(format!("{n}.weight_scale"), Dtype::F32, vec![o])?);
            if let Some(s) = d
                .weight_scale
                .iter()
                .find(|s| !(s.is_finite() && **s > 0.0))
            {
                return Err(value(format!("{n}.weight_scale"), s.to_string()));
            }
            d.bias = i32s(get(format!("{n}.bias"), Dtype::I32, vec![o])?);
            d.prepare();
            last = d.output;
            out.push(StepInt8::Dense(d));
        }
        Ok(Quantized::from_steps(out, input, last))
    }
}
