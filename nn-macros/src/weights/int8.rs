//! `#[weights("model_int8.safetensors", dtype = int8)]`: the declaration's int8 form, baked.
//!
//! The network's layers are read as `nn::int8::Quantized` reads them (a `BatchNorm` right
//! after a layer and a `ReLU`/`ReLU6` right after one are folded into it; a batch norm after
//! an activation is a per-channel step of its own), every tensor of the int8 file checked
//! against them here (dtype, shape, one scale per output channel, zero points in int8's
//! range), and the struct emitted holds `nn::int8::baked` layers whose multipliers, shifts and
//! zero-point sums the compiler prepares. Its `forward` takes `[i8; IN]` and gives
//! `[i8; OUT]` through a scratch of `SCRATCH_BYTES` on the stack: two activations at a time,
//! one at each end, so that the scratch is the widest pair of consecutive activations.

use nn_safetensors::{Dtype, File, Tensor};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::literal;
use crate::ast::Input;
use crate::attr::Attr;
use crate::ctxt::Ctxt;
use crate::size::Size;

use crate::valid::{self, ImageKind, Keeps, Kind, Net, Padding, Resolved};

/// The fused activation of an int8 layer, as `nn::int8::Activation` names it.
#[derive(Clone, Copy, PartialEq)]
enum Act {
    None,
    Relu,
    Relu6,
}

impl Act {
    fn tokens(self) -> TokenStream {
        match self {
            Act::None => quote!(::nn::int8::Activation::None),
            Act::Relu => quote!(::nn::int8::Activation::Relu),
            Act::Relu6 => quote!(::nn::int8::Activation::Relu6),
        }
    }
}

/// What an int8 layer with weights computes.
enum Dense {
    Linear {
        inputs: usize,
        outputs: usize,
    },
    Conv {
        input: [usize; 3],
        cout: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        /// Rows above and columns left; `None` for `padding = same` (TensorFlow's).
        pad: Option<[usize; 2]>,
        dilation: [usize; 2],
        /// `groups` equal to the input channels: weight `[cout, 1, kH, kW]`.
        depthwise: bool,
    },
    /// A batch norm after an activation: a per-channel scale on `[C, H, W]`.
    Depthwise {
        image: [usize; 3],
    },
}

impl Dense {
    fn outputs(&self) -> usize {
        match self {
            Dense::Linear { outputs, .. } => *outputs,
            Dense::Conv { cout, .. } => *cout,
            Dense::Depthwise { image } => image[0],
        }
    }

    /// The weight's shape in the file: the f32 layer's (`[C]` for a batch norm).
    fn weight_shape(&self) -> Vec<usize> {
        match self {
            Dense::Linear { inputs, outputs } => vec![*outputs, *inputs],
            Dense::Conv {
                input,
                cout,
                kernel,
                depthwise,
                ..
            } => {
                let per = if *depthwise { 1 } else { input[0] };
                vec![*cout, per, kernel[0], kernel[1]]
            }
            Dense::Depthwise { image } => vec![image[0]],
        }
    }

    /// The output's image, or its width.
    fn out_len(&self) -> usize {
        match self {
            Dense::Linear { outputs, .. } => *outputs,
            Dense::Conv { .. } => {
                let [c, h, w] = self.out_image();
                c * h * w
            }
            Dense::Depthwise { image } => image.iter().product(),
        }
    }

    fn out_image(&self) -> [usize; 3] {
        match self {
            Dense::Linear { outputs, .. } => [*outputs, 1, 1],
            Dense::Conv { cout, .. } => {
                let ([oh, ow], _) = self.geometry();
                [*cout, oh, ow]
            }
            Dense::Depthwise { image } => *image,
        }
    }
}

impl Dense {
    /// A convolution's output rows and columns and its padding above and left, as
    /// `nn::int8::Conv2dShape` holds them.
    fn geometry(&self) -> ([usize; 2], [usize; 2]) {
        let Dense::Conv {
            input,
            kernel,
            stride,
            pad,
            dilation,
            ..
        } = self
        else {
            return ([1, 1], [0, 0]);
        };
        let axis = |i: usize| {
            let (n, s) = (input[i + 1], stride[i]);
            let extent = (kernel[i] - 1) * dilation[i] + 1;
            match pad {
                None => {
                    let out = n.div_ceil(s);
                    let needed = (out - 1) * s + extent;
                    (out, needed.saturating_sub(n) / 2)
                }
                Some(p) => ((n + 2 * p[i] - extent) / s + 1, p[i]),
            }
        };
        let ((oh, ph), (ow, pw)) = (axis(0), axis(1));
        ([oh, ow], [ph, pw])
    }
}

/// One step of the int8 chain.
enum Step<'a> {
    Dense {
        layer: &'a Resolved<'a>,
        dense: Dense,
        act: Act,
    },
    Pool {
        average: bool,
        input: [usize; 3],
        window: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
    },
    Clamp(Act),
}

/// A tensor's quantisation, as read from the file.
#[derive(Clone, Copy)]
struct Quant {
    scale: f32,
    zero_point: i32,
}

impl Quant {
    fn tokens(self) -> TokenStream {
        let (scale, zp) = (float(self.scale), self.zero_point);
        quote!(::nn::int8::Quant { scale: #scale, zero_point: #zp })
    }
}

/// A scale (positive and finite, as checked) as a literal that reads back to it exactly.
fn float(v: f32) -> syn::LitFloat {
    syn::LitFloat::new(&format!("{v:?}f32"), Span::call_site())
}

/// A size the macro must know as a number.
fn lit(size: &Size, layer: &Resolved<'_>) -> syn::Result<usize> {
    match size {
        Size::Lit(n) => Ok(*n as usize),
        Size::Expr(_) => Err(syn::Error::new_spanned(
            &layer.decl.ty,
            format!(
                "an int8 network is baked with its sizes as numbers: write `{}` with literal \
                 sizes",
                valid::show(&layer.kind, &layer.decl.ty)
            ),
        )),
    }
}

/// The int8 chain of the declared layers, in `Quantized`'s reading of them.
fn plan<'a>(input: &Input, layers: &'a [Resolved<'a>]) -> syn::Result<Vec<Step<'a>>> {
    let mut image: Option<[usize; 3]> = match &input.input {
        Some(s) => {
            let side = |s: &Size| match s {
                Size::Lit(n) => Ok(*n as usize),
                Size::Expr(_) => Err(syn::Error::new(
                    Span::call_site(),
                    "an int8 network is baked with `#[input(C, H, W)]` as numbers",
                )),
            };
            Some([side(&s.c)?, side(&s.h)?, side(&s.w)?])
        }
        None => None,
    };
    let mut steps: Vec<Step<'a>> = Vec::new();
    let mut errors = Ctxt::default();
    for layer in layers {
        let shown = valid::show(&layer.kind, &layer.decl.ty);
        let refuse = |why: String| syn::Error::new_spanned(&layer.decl.ty, why);
        let no_form = || {
            refuse(format!(
                "`{shown}` has no int8 form: an int8 network is made of `Linear`, `Conv2d`, \
                 `BatchNorm`/`BatchNorm2d`, `ReLU`/`ReLU6`, `MaxPool2d`/`AvgPool2d` (an \
                 average pool without padding), `AdaptiveAvgPool2d<1>`, `Flatten`, `Dropout` \
                 and `Identity`; bake this network as float32 (remove `dtype = int8`)"
            ))
        };
        match &layer.kind {
            Kind::Linear {
                inputs, outputs, ..
            } => {
                let (inputs, outputs) = match (lit(inputs, layer), lit(outputs, layer)) {
                    (Ok(i), Ok(o)) => (i, o),
                    (Err(e), _) | (_, Err(e)) => {
                        errors.push(e);
                        continue;
                    }
                };
                steps.push(Step::Dense {
                    layer,
                    dense: Dense::Linear { inputs, outputs },
                    act: Act::None,
                });
                image = None;
            }
            Kind::Image(ImageKind::Conv(conv)) => {
                let refuse_conv = || {
                    refuse(format!(
                        "`{shown}` has no int8 form here: an int8 `Conv2d` has `groups` 1 or \
                         its input channels (depthwise), padding as numbers or `same`, on an \
                         image of `#[input(C, H, W)]`"
                    ))
                };
                let Some(input) = image else {
                    errors.push(refuse_conv());
                    continue;
                };
                let pad = match &conv.padding {
                    Padding::Pad(p) => match (lit(&p.h, layer), lit(&p.w, layer)) {
                        (Ok(h), Ok(w)) => Some([h, w]),
                        (Err(e), _) | (_, Err(e)) => {
                            errors.push(e);
                            continue;
                        }
                    },
                    Padding::Same => None,
                    Padding::Causal => {
                        errors.push(refuse_conv());
                        continue;
                    }
                };
                let sizes = [
                    &conv.cout,
                    &conv.kernel.h,
                    &conv.kernel.w,
                    &conv.stride.h,
                    &conv.stride.w,
                    &conv.dilation.h,
                    &conv.dilation.w,
                    &conv.groups,
                ]
                .map(|s| lit(s, layer));
                let [cout, kh, kw, sh, sw, dh, dw, groups] = match sizes {
                    [Ok(a), Ok(b), Ok(c), Ok(d), Ok(e), Ok(f), Ok(g), Ok(h)] => {
                        [a, b, c, d, e, f, g, h]
                    }
                    sizes => {
                        if let Some(e) = sizes.into_iter().find_map(Result::err) {
                            errors.push(e);
                        }
                        continue;
                    }
                };
                let depthwise = groups != 1;
                if depthwise && (groups != input[0] || cout % groups != 0) {
                    errors.push(refuse_conv());
                    continue;
                }
                let dense = Dense::Conv {
                    input,
                    cout,
                    kernel: [kh, kw],
                    stride: [sh, sw],
                    pad,
                    dilation: [dh, dw],
                    depthwise,
                };
                image = Some(dense.out_image());
                steps.push(Step::Dense {
                    layer,
                    dense,
                    act: Act::None,
                });
            }
            Kind::BatchNorm { width } | Kind::Image(ImageKind::BatchNorm2d(width)) => {
                if matches!(steps.last(), Some(Step::Dense { act: Act::None, .. })) {
                    // Folded into the layer before it: no tensors of its own in the file.
                    continue;
                }
                let n = match lit(width, layer) {
                    Ok(n) => n,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                steps.push(Step::Dense {
                    layer,
                    dense: Dense::Depthwise {
                        image: image.unwrap_or([n, 1, 1]),
                    },
                    act: Act::None,
                });
            }
            Kind::Activation(Keeps {
                alias, width: None, ..
            }) if *alias == "ReLU" || *alias == "ReLU6" => {
                let a = if *alias == "ReLU" {
                    Act::Relu
                } else {
                    Act::Relu6
                };
                if let Some(Step::Dense { act, .. }) = steps.last_mut() {
                    if *act == Act::None {
                        *act = a;
                        continue;
                    }
                }
                if !steps.iter().any(|s| matches!(s, Step::Dense { .. })) {
                    if !errors.is_empty() {
                        // A layer before it was refused: that error is the news.
                        continue;
                    }
                    errors.push(refuse(format!(
                        "`{shown}` before any layer with weights has no int8 form: the int8 \
                         input is quantised as the first such layer takes it; clamp the input \
                         before quantising it"
                    )));
                    continue;
                }
                steps.push(Step::Clamp(a));
            }
            Kind::Activation(Keeps {
                alias, width: None, ..
            }) if *alias == "Dropout" || *alias == "Identity" => {}
            Kind::Image(ImageKind::AdaptiveAvgPool) => {
                let Some(input) = image else {
                    errors.push(no_form());
                    continue;
                };
                // The global average pool: one window over the whole image.
                let window = [input[1], input[2]];
                steps.push(Step::Pool {
                    average: true,
                    input,
                    window,
                    stride: window,
                    pad: [0, 0],
                });
                image = Some([input[0], 1, 1]);
            }
            Kind::Image(ImageKind::MaxPool(pool) | ImageKind::AvgPool(pool)) => {
                let average = matches!(layer.kind, Kind::Image(ImageKind::AvgPool(_)));
                let Some(input) = image.filter(|_| !average || pool.p.is(0)) else {
                    errors.push(no_form());
                    continue;
                };
                let sizes = [
                    &pool.k.h, &pool.k.w, &pool.s.h, &pool.s.w, &pool.p.h, &pool.p.w,
                ]
                .map(|s| lit(s, layer));
                let [kh, kw, sh, sw, ph, pw] = match sizes {
                    [Ok(a), Ok(b), Ok(c), Ok(d), Ok(e), Ok(f)] => [a, b, c, d, e, f],
                    sizes => {
                        if let Some(e) = sizes.into_iter().find_map(Result::err) {
                            errors.push(e);
                        }
                        continue;
                    }
                };
                let side = |n: usize, k: usize, s: usize, p: usize| (n + 2 * p - k) / s + 1;
                steps.push(Step::Pool {
                    average,
                    input,
                    window: [kh, kw],
                    stride: [sh, sw],
                    pad: [ph, pw],
                });
                image = Some([
                    input[0],
                    side(input[1], kh, sh, ph),
                    side(input[2], kw, sw, pw),
                ]);
            }
            Kind::Image(ImageKind::Flatten) => image = None,
            _ => errors.push(no_form()),
        }
    }
    errors.finish()?;
    if !steps.iter().any(|s| matches!(s, Step::Dense { .. })) {
        return Err(syn::Error::new(
            Span::call_site(),
            "an int8 network needs a layer with weights (`Linear` or `Conv2d`)",
        ));
    }
    Ok(steps)
}

/// The tensors of one int8 layer, checked.
struct Tensors {
    weight: Vec<u8>,
    weight_scale: Vec<f32>,
    bias: Vec<i32>,
    input: Quant,
    output: Quant,
}

fn f32s(t: &Tensor<'_>) -> Vec<f32> {
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn i32s(t: &Tensor<'_>) -> Vec<i32> {
    t.data()
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn show_shape(s: &[usize]) -> String {
    let dims: Vec<String> = s.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// The int8 tensors of layer `layer`, every mistake pushed to `errors`.
fn read_layer(
    file: &File<'_>,
    layer: &Resolved<'_>,
    dense: &Dense,
    path: &str,
    errors: &mut Ctxt,
) -> Option<Tensors> {
    let name = &layer.name;
    let shown = valid::show(&layer.kind, &layer.decl.ty);
    let out = dense.outputs();
    let err = |msg: String| syn::Error::new_spanned(&layer.decl.ty, format!("`{path}`: {msg}"));
    let writers = "`nn::int8::Quantized::save` and `tools/tflite_to_int8.py` write every tensor \
                   of the int8 format (README: \"int8\")";
    // The weight first: an f32 file is told as such, once.
    let weight_key = format!("{name}.weight");
    match file.tensor(&weight_key) {
        Some(t) if t.dtype() == Dtype::F32 => {
            errors.push(err(format!(
                "tensor `{weight_key}` is F32: this is a float32 file, and `dtype = int8` bakes \
                 an int8 one; quantise the network first \
                 (`nn::int8::Quantized::<Net>::quantize(&net, &calibration)?.save(..)`) and \
                 bake that file, or bake this one as float32 by removing `dtype = int8`"
            )));
            return None;
        }
        _ => {}
    }
    let mut ok = true;
    let mut get = |key: String, dtype: Dtype, shape: Vec<usize>, what: &str| {
        let Some(t) = file.tensor(&key) else {
            errors.push(err(format!(
                "tensor `{key}` is missing: an int8 `{shown}` needs it ({what}), {dtype} of \
                 shape {}; {writers}",
                show_shape(&shape)
            )));
            ok = false;
            return None;
        };
        if t.dtype() != dtype {
            errors.push(err(format!(
                "tensor `{key}` has type {}, but an int8 `{shown}` needs {dtype} there ({what})",
                t.dtype(),
            )));
            ok = false;
            return None;
        }
        if t.shape() != shape.as_slice() {
            let msg = if key.ends_with(".weight_scale") && t.shape().len() == 1 {
                format!(
                    "tensor `{key}` holds {} scales, but `{shown}` has {out} output channels: \
                     an int8 layer has one weight scale per output channel (TFLite's \
                     per-channel quantisation; a per-tensor scale is written {out} times)",
                    t.shape()[0]
                )
            } else {
                format!(
                    "tensor `{key}` has shape {}, but an int8 `{shown}` needs {}",
                    show_shape(t.shape()),
                    show_shape(&shape)
                )
            };
            errors.push(err(msg));
            ok = false;
            return None;
        }
        Some(t)
    };
    let weight = get(
        weight_key,
        Dtype::I8,
        dense.weight_shape(),
        "the int8 weights",
    )
    .map(|t| t.data().to_vec());
    // The rest of the layer's tensors follow its weight: one error says it.
    weight.as_ref()?;
    let weight_scale = get(
        format!("{name}.weight_scale"),
        Dtype::F32,
        vec![out],
        "one scale per output channel",
    )
    .map(|t| f32s(t));
    let bias = get(
        format!("{name}.bias"),
        Dtype::I32,
        vec![out],
        "the biases, at the scale input_scale · weight_scale",
    )
    .map(|t| i32s(t));
    let mut quant = |side: &str| {
        let scale = get(
            format!("{name}.{side}_scale"),
            Dtype::F32,
            vec![1],
            "the activation's scale",
        )
        .map(|t| f32s(t)[0]);
        let zero_point = get(
            format!("{name}.{side}_zero_point"),
            Dtype::I32,
            vec![1],
            "the activation's zero point",
        )
        .map(|t| i32s(t)[0]);
        (side.to_string(), scale, zero_point)
    };
    let sides = [quant("input"), quant("output")];
    if !ok {
        return None;
    }
    let bad_scale = |key: String, v: f32| {
        err(format!(
            "tensor `{key}` holds {v}, but a scale is a positive, finite number; the file \
             is damaged, or not an int8 file"
        ))
    };
    let mut quants = Vec::new();
    for (side, scale, zero_point) in sides {
        let (scale, zero_point) = (scale?, zero_point?);
        if !(scale.is_finite() && scale > 0.0) {
            errors.push(bad_scale(format!("{name}.{side}_scale"), scale));
            ok = false;
        }
        if !(-128..=127).contains(&zero_point) {
            let hint = if (0..=255).contains(&zero_point) {
                "; a zero point of 128 or more is a uint8 model's: quantise it to int8 \
                 (TFLite's `inference_input_type = tf.int8`)"
            } else {
                ""
            };
            errors.push(err(format!(
                "tensor `{name}.{side}_zero_point` is {zero_point}, outside int8's range: an \
                 int8 activation's zero point is in -128..=127{hint}"
            )));
            ok = false;
        }
        quants.push(Quant { scale, zero_point });
    }
    let weight_scale = weight_scale?;
    if let Some(s) = weight_scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        errors.push(bad_scale(format!("{name}.weight_scale"), *s));
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(Tensors {
        weight: weight?,
        weight_scale,
        bias: bias?,
        input: quants[0],
        output: quants[1],
    })
}

/// What an int8 step computes, for `LAYERS`: the declared layer with the activation folded
/// into it, and its multiply-adds (torchinfo's count: none for pools and clamps).
fn describe(step: &Step<'_>) -> (String, u64) {
    match step {
        Step::Dense { layer, dense, act } => {
            let shown = valid::show(&layer.kind, &layer.decl.ty);
            let act = match act {
                Act::None => "",
                Act::Relu => " + ReLU",
                Act::Relu6 => " + ReLU6",
            };
            let per = match dense {
                Dense::Linear { inputs, .. } => *inputs,
                Dense::Conv {
                    input,
                    kernel: [kh, kw],
                    depthwise,
                    ..
                } => kh * kw * if *depthwise { 1 } else { input[0] },
                Dense::Depthwise { .. } => 1,
            };
            (format!("{shown}{act}"), (dense.out_len() * per) as u64)
        }
        Step::Pool {
            average,
            window: [kh, kw],
            ..
        } => {
            let kind = if *average { "AvgPool2d" } else { "MaxPool2d" };
            (format!("{kind} {kh}x{kw}"), 0)
        }
        Step::Clamp(Act::Relu6) => ("ReLU6".into(), 0),
        Step::Clamp(_) => ("ReLU".into(), 0),
    }
}

/// The baked int8 struct, or the errors that stop it.
pub fn bake(
    input: &Input,
    net: &Net<'_>,
    attr: &Attr,
    file_path: &std::path::Path,
    bytes: &[u8],
) -> syn::Result<TokenStream> {
    let path = attr.path.value();
    if !input.generics.params.is_empty() || input.forward.is_some() {
        return Err(syn::Error::new_spanned(
            &attr.attr,
            "`dtype = int8` bakes a chain of layers with sizes as numbers: a generic network \
             or a forward written as code has no int8 form yet",
        ));
    }
    let steps = plan(input, &net.layers)?;
    let file = File::parse(bytes)
        .map_err(|e| syn::Error::new_spanned(&attr.attr, format!("`{path}`: {e}")))?;

    let mut errors = Ctxt::default();
    let mut read = Vec::new();
    for step in &steps {
        if let Step::Dense { layer, dense, .. } = step {
            let weight = file.tensor(&format!("{}.weight", layer.name));
            let float_file = weight.is_some_and(|t| t.dtype() == Dtype::F32);
            read.push(read_layer(&file, layer, dense, &path, &mut errors));
            if float_file {
                // Said once, at the first layer: the rest of a float32 file is no news.
                return Err(errors.finish().expect_err("a float32 weight is an error"));
            }
        }
    }
    // Tensors no step reads: another network's file.
    let names: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Dense { layer, .. } => Some(layer.name.as_str()),
            _ => None,
        })
        .collect();
    let extra: Vec<&str> = file
        .names()
        .filter(|k| {
            !names
                .iter()
                .any(|n| k.strip_prefix(n).is_some_and(|r| r.starts_with('.')))
        })
        .collect();
    if !extra.is_empty() {
        errors.push(syn::Error::new_spanned(
            &attr.attr,
            format!(
                "`{path}`: unexpected tensors {}: the int8 layers of `{}` are {}; the file \
                 is for another network",
                super::check::listing(extra.iter().copied()),
                input.ident,
                super::check::listing(names.iter().copied())
            ),
        ));
    }
    errors.finish()?;
    let tensors: Vec<Tensors> = read.into_iter().map(|t| t.expect("checked")).collect();

    // The values, the step types and each writing step's output length.
    let ident = &input.ident;
    let first_in = tensors[0].input;
    let mut quant = first_in;
    let mut fields = Vec::new();
    let mut types = Vec::new();
    let mut values = Vec::new();
    // (field, output length, whether it writes a new activation)
    let mut runs: Vec<(syn::Ident, usize, bool)> = Vec::new();
    let (mut names, mut macs) = (Vec::new(), Vec::new());
    let mut next = tensors.iter();
    for (i, step) in steps.iter().enumerate() {
        let field = syn::Ident::new(&format!("__{i}"), Span::call_site());
        let (name, n) = describe(step);
        names.push(name);
        macs.push(n);
        let (ty, value, len, writes) = match step {
            Step::Dense { layer, dense, act } => {
                let t = next.next().expect("one per dense step");
                let span = layer.decl.ty.span();
                let out = dense.outputs();
                let bytes = syn::LitByteStr::new(&t.weight, span);
                let bias = &t.bias;
                let scales = literal::nest(&t.weight_scale, &[out], span)
                    .map_err(|e| syn::Error::new(span, e))?;
                let (qi, qo) = (t.input.tokens(), t.output.tokens());
                let a = act.tokens();
                quant = t.output;
                match dense {
                    Dense::Linear { inputs, outputs } => (
                        quote!(::nn::int8::baked::Linear<#inputs, #outputs>),
                        quote_spanned! {span=>
                            ::nn::int8::baked::Linear::new(
                                ::nn::int8::baked::rows(#bytes), [#(#bias),*], &#scales, #qi, #qo, #a)
                        },
                        dense.out_len(),
                        true,
                    ),
                    Dense::Conv {
                        input,
                        cout,
                        kernel: [kh, kw],
                        stride: [sh, sw],
                        dilation: [dh, dw],
                        depthwise,
                        ..
                    } => {
                        let [cin, h, w] = *input;
                        let ([oh, ow], [ph, pw]) = dense.geometry();
                        let shape = quote! {
                            ::nn::int8::Conv2dShape {
                                in_channels: #cin, input: [#h, #w], out_channels: #cout,
                                output: [#oh, #ow], kernel: [#kh, #kw],
                                stride: [#sh, #sw], dilation: [#dh, #dw],
                                pad: [#ph, #pw],
                            }
                        };
                        let (ty, ctor) = if *depthwise {
                            let taps = kh * kw;
                            (
                                quote!(::nn::int8::baked::DepthwiseConv2d<#taps, #cout>),
                                quote!(::nn::int8::baked::DepthwiseConv2d::new),
                            )
                        } else {
                            let per = cin * kh * kw;
                            (
                                quote!(::nn::int8::baked::Conv2d<#per, #cout>),
                                quote!(::nn::int8::baked::Conv2d::new),
                            )
                        };
                        (
                            ty,
                            quote_spanned! {span=>
                                #ctor(
                                    #shape,
                                    ::nn::int8::baked::rows(#bytes), [#(#bias),*], &#scales,
                                    #qi, #qo, #a)
                            },
                            dense.out_len(),
                            true,
                        )
                    }
                    Dense::Depthwise { image } => {
                        let [c, h, w] = *image;
                        (
                            quote!(::nn::int8::baked::Depthwise<#c>),
                            quote_spanned! {span=>
                                ::nn::int8::baked::Depthwise::new(
                                    [#h, #w], ::nn::int8::baked::rows(#bytes), [#(#bias),*],
                                    &#scales, #qi, #qo)
                            },
                            dense.out_len(),
                            true,
                        )
                    }
                }
            }
            Step::Pool {
                average,
                input,
                window: [kh, kw],
                stride: [sh, sw],
                pad: [ph, pw],
            } => {
                let [c, h, w] = *input;
                let side = |n: usize, k: usize, s: usize, p: usize| (n + 2 * p - k) / s + 1;
                let (oh, ow) = (side(h, *kh, *sh, *ph), side(w, *kw, *sw, *pw));
                let q = quant.tokens();
                (
                    quote!(::nn::int8::baked::Pool2d),
                    quote! {
                        ::nn::int8::baked::Pool2d::new(
                            ::nn::int8::Pool2dShape {
                                channels: #c, input: [#h, #w], output: [#oh, #ow],
                                window: [#kh, #kw], stride: [#sh, #sw], pad: [#ph, #pw],
                            },
                            #average, #q)
                    },
                    c * oh * ow,
                    true,
                )
            }
            Step::Clamp(a) => {
                let (a, q) = (a.tokens(), quant.tokens());
                (
                    quote!(::nn::int8::baked::Clamp),
                    quote!(::nn::int8::baked::Clamp::new(#a, #q)),
                    0,
                    false,
                )
            }
        };
        fields.push(field.clone());
        types.push(ty);
        values.push(value);
        runs.push((field, len, writes));
    }

    // The writing steps' lengths; the last writes the result, the others alternate
    // between the scratch's two ends.
    let writes: Vec<usize> = runs.iter().filter(|r| r.2).map(|r| r.1).collect();
    let m = writes.len();
    let inner = &writes[..m - 1];
    let scratch = inner
        .windows(2)
        .map(|p| p[0] + p[1])
        .chain(inner.last().copied())
        .max()
        .unwrap_or(0);
    let n_in = match &steps[0] {
        Step::Dense { dense, .. } => match dense {
            Dense::Linear { inputs, .. } => *inputs,
            Dense::Conv { input, .. } => input.iter().product(),
            Dense::Depthwise { image } => image.iter().product(),
        },
        Step::Pool { input, .. } => input.iter().product(),
        Step::Clamp(_) => unreachable!("refused by plan"),
    };
    let n_out = writes[m - 1];

    // Where write `k` (of `m`) puts its output and finds its input.
    let region = |k: usize, len: usize| -> TokenStream {
        if k + 1 == m {
            quote!(&mut y[..])
        } else if k.is_multiple_of(2) {
            quote!(&mut scratch[..#len])
        } else {
            quote!(&mut scratch[#scratch - #len..])
        }
    };
    let mut body = Vec::new();
    let mut k = 0usize;
    for (step, (field, len, write)) in runs.iter().enumerate() {
        if !*write {
            // A clamp in place, on the last write's output.
            let at = region(k - 1, writes[k - 1]);
            body.push(quote!(self.#field.forward(#at); after(#step);));
            continue;
        }
        let out = *len;
        let code = if k == 0 {
            let o = region(0, out);
            quote!(self.#field.forward(&x[..], #o);)
        } else {
            let a = writes[k - 1];
            let from_start = (k - 1).is_multiple_of(2);
            if k + 1 == m {
                let i = if from_start {
                    quote!(&scratch[..#a])
                } else {
                    quote!(&scratch[#scratch - #a..])
                };
                quote!(self.#field.forward(#i, &mut y[..]);)
            } else if from_start {
                quote! {{
                    let (i, o) = scratch.split_at_mut(#a);
                    let n = o.len();
                    self.#field.forward(i, &mut o[n - #out..]);
                }}
            } else {
                quote! {{
                    let (o, i) = scratch.split_at_mut(#out);
                    let n = i.len();
                    self.#field.forward(&i[n - #a..], o);
                }}
            }
        };
        body.push(quote!(#code after(#step);));
        k += 1;
    }
    let n_steps = runs.len();

    let out_q = quant.tokens();
    let in_q = first_in.tokens();
    let (attrs, vis) = (&input.attrs, &input.vis);
    let include = file_path.to_str().ok_or_else(|| {
        syn::Error::new_spanned(
            &attr.attr,
            format!("`{path}`: the path is not valid UTF-8, which `include_bytes!` needs"),
        )
    })?;
    let weights_doc = format!(
        " The int8 network of `{path}`, baked in at compile time: `static MODEL: {ident} = \
         {ident}::WEIGHTS;` keeps it in read-only memory (flash on a microcontroller), its \
         multipliers, shifts and zero-point sums prepared by the compiler."
    );
    let unused = if scratch == 0 {
        quote!(let _ = scratch;)
    } else {
        quote!()
    };
    Ok(quote! {
        #(#attrs)*
        #vis struct #ident {
            #(#fields: #types,)*
        }

        // Makes cargo rebuild the crate when the weights file changes.
        const _: &[u8] = ::core::include_bytes!(#include);

        #[allow(dead_code)]
        impl #ident {
            #[doc = #weights_doc]
            pub const WEIGHTS: Self = #ident { #(#fields: #values,)* };
            /// Input values of one sample.
            pub const IN: usize = #n_in;
            /// Output values (logits) of one sample.
            pub const OUT: usize = #n_out;
            /// The bytes of activations one inference keeps, on the stack in
            /// [`Self::forward`] or the caller's in [`Self::forward_in`]: the widest pair of
            /// consecutive layers' outputs (the input and the result are the caller's).
            pub const SCRATCH_BYTES: usize = #scratch;
            /// The input's quantisation: `x_i8 = clamp(round(x / scale) + zero_point)`.
            pub const INPUT: ::nn::int8::Quant = #in_q;
            /// The output's quantisation: `y = scale · (y_i8 − zero_point)`.
            pub const OUTPUT: ::nn::int8::Quant = #out_q;
            /// The layers as the int8 forward runs them, each with its multiply-adds: a
            /// `BatchNorm` right after a layer and a `ReLU`/`ReLU6` after one are folded into
            /// it. [`Self::forward_layers`] reports each as it finishes.
            pub const LAYERS: [(&'static str, u64); #n_steps] = [#((#names, #macs)),*];

            /// One sample in int8, integer arithmetic only, no heap: `x` quantised as
            /// [`Self::INPUT`], the result as [`Self::OUTPUT`].
            pub fn forward(&self, x: &[i8; #n_in]) -> [i8; #n_out] {
                let mut scratch = [0i8; #scratch];
                self.forward_in(x, &mut scratch)
            }

            /// [`Self::forward`] with the activations in `scratch`, the caller's.
            pub fn forward_in(&self, x: &[i8; #n_in], scratch: &mut [i8; #scratch]) -> [i8; #n_out] {
                self.forward_layers(x, scratch, |_| {})
            }

            /// [`Self::forward_in`], calling `after(k)` as soon as layer `k` of
            /// [`Self::LAYERS`] has written its output: to time or inspect the layers one at
            /// a time.
            pub fn forward_layers(
                &self,
                x: &[i8; #n_in],
                scratch: &mut [i8; #scratch],
                mut after: impl FnMut(usize),
            ) -> [i8; #n_out] {
                #unused
                let mut y = [0i8; #n_out];
                #(#body)*
                y
            }

            /// `x` quantised as [`Self::INPUT`] (floating point, for the host).
            pub fn quantize(x: &[f32; #n_in]) -> [i8; #n_in] {
                x.map(|v| Self::INPUT.quantize(v))
            }

            /// The logits dequantised: `x` quantised, run in int8, the result as reals.
            pub fn logits(&self, x: &[f32; #n_in]) -> [f32; #n_out] {
                self.forward(&Self::quantize(x)).map(|v| Self::OUTPUT.dequantize(v))
            }
        }
    })
}
