//! The int8 chain of a declaration: its layers read as `nn::int8::Quantized` reads them,
//! batch norms and activations folded into the layer before them.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::ast::Input;
use crate::ctxt::Ctxt;
use crate::size::Size;

use crate::valid::{self, Conv, ImageKind, Keeps, Kind, Padding, Pool, Resolved};

/// The fused activation of an int8 layer, as `nn::int8::Activation` names it.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Act {
    None,
    Relu,
    Relu6,
}

impl Act {
    pub(super) fn tokens(self) -> TokenStream {
        match self {
            Act::None => quote!(::nn::int8::Activation::None),
            Act::Relu => quote!(::nn::int8::Activation::Relu),
            Act::Relu6 => quote!(::nn::int8::Activation::Relu6),
        }
    }
}

/// What an int8 layer with weights computes.
pub(super) enum Dense {
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
    pub(super) fn outputs(&self) -> usize {
        match self {
            Dense::Linear { outputs, .. } => *outputs,
            Dense::Conv { cout, .. } => *cout,
            Dense::Depthwise { image } => image[0],
        }
    }

    /// The weight's shape in the file: the f32 layer's (`[C]` for a batch norm).
    pub(super) fn weight_shape(&self) -> Vec<usize> {
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
    pub(super) fn out_len(&self) -> usize {
        match self {
            Dense::Linear { outputs, .. } => *outputs,
            Dense::Conv { .. } => {
                let [c, h, w] = self.out_image();
                c * h * w
            }
            Dense::Depthwise { image } => image.iter().product(),
        }
    }

    pub(super) fn out_image(&self) -> [usize; 3] {
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
    pub(super) fn geometry(&self) -> ([usize; 2], [usize; 2]) {
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
pub(super) enum Step<'a> {
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
pub(super) struct Quant {
    pub(super) scale: f32,
    pub(super) zero_point: i32,
}

impl Quant {
    pub(super) fn tokens(self) -> TokenStream {
        let (scale, zp) = (float(self.scale), self.zero_point);
        quote!(::nn::int8::Quant { scale: #scale, zero_point: #zp })
    }
}

/// A scale (positive and finite, as checked) as a literal that reads back to it exactly.
pub(super) fn float(v: f32) -> syn::LitFloat {
    syn::LitFloat::new(&format!("{v:?}f32"), Span::call_site())
}

/// A size the macro must know as a number.
pub(super) fn lit(size: &Size, layer: &Resolved<'_>) -> syn::Result<usize> {
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

/// What `layer` has no int8 form, said at it.
pub(super) fn no_form(layer: &Resolved<'_>) -> syn::Error {
    let shown = valid::show(&layer.kind, &layer.decl.ty);
    syn::Error::new_spanned(
        &layer.decl.ty,
        format!(
            "`{shown}` has no int8 form: an int8 network is made of `Linear`, `Conv2d`, \
             `BatchNorm`/`BatchNorm2d`, `ReLU`/`ReLU6`, `MaxPool2d`/`AvgPool2d` (an \
             average pool without padding), `AdaptiveAvgPool2d<1>`, `Flatten`, `Dropout` \
             and `Identity`; bake this network as float32 (remove `dtype = int8`)"
        ),
    )
}

/// A convolution on `image` (`None` where what reaches it is not an image).
pub(super) fn conv_dense(
    layer: &Resolved<'_>,
    conv: &Conv,
    image: Option<[usize; 3]>,
) -> syn::Result<Dense> {
    let shown = valid::show(&layer.kind, &layer.decl.ty);
    let refuse_conv = || {
        syn::Error::new_spanned(
            &layer.decl.ty,
            format!(
                "`{shown}` has no int8 form here: an int8 `Conv2d` has `groups` 1 or its input \
                 channels (depthwise), padding as numbers or `same`, on an image of \
                 `#[input(C, H, W)]`"
            ),
        )
    };
    let input = image.ok_or_else(refuse_conv)?;
    let pad = match &conv.padding {
        Padding::Pad(p) => Some([lit(&p.h, layer)?, lit(&p.w, layer)?]),
        Padding::Same => None,
        Padding::Causal => return Err(refuse_conv()),
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
    ];
    let mut n = [0usize; 8];
    for (v, s) in n.iter_mut().zip(sizes) {
        *v = lit(s, layer)?;
    }
    let [cout, kh, kw, sh, sw, dh, dw, groups] = n;
    let depthwise = groups != 1;
    if depthwise && (groups != input[0] || cout % groups != 0) {
        return Err(refuse_conv());
    }
    Ok(Dense::Conv {
        input,
        cout,
        kernel: [kh, kw],
        stride: [sh, sw],
        pad,
        dilation: [dh, dw],
        depthwise,
    })
}

/// A max or average pool on `image`, and the image it makes.
pub(super) fn pool_step<'a>(
    layer: &Resolved<'_>,
    pool: &Pool,
    image: Option<[usize; 3]>,
) -> syn::Result<(Step<'a>, [usize; 3])> {
    let average = matches!(layer.kind, Kind::Image(ImageKind::AvgPool(_)));
    let input = image
        .filter(|_| !average || pool.p.is(0))
        .ok_or_else(|| no_form(layer))?;
    let sizes = [
        &pool.k.h, &pool.k.w, &pool.s.h, &pool.s.w, &pool.p.h, &pool.p.w,
    ];
    let mut n = [0usize; 6];
    for (v, s) in n.iter_mut().zip(sizes) {
        *v = lit(s, layer)?;
    }
    let [kh, kw, sh, sw, ph, pw] = n;
    let side = |n: usize, k: usize, s: usize, p: usize| (n + 2 * p - k) / s + 1;
    Ok((
        Step::Pool {
            average,
            input,
            window: [kh, kw],
            stride: [sh, sw],
            pad: [ph, pw],
        },
        [
            input[0],
            side(input[1], kh, sh, ph),
            side(input[2], kw, sw, pw),
        ],
    ))
}

/// The int8 chain of the declared layers, in `Quantized`'s reading of them.
pub(super) fn plan<'a>(input: &Input, layers: &'a [Resolved<'a>]) -> syn::Result<Vec<Step<'a>>> {
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
        let no_form = || no_form(layer);
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
            Kind::Image(ImageKind::Conv(conv)) => match conv_dense(layer, conv, image) {
                Ok(dense) => {
                    image = Some(dense.out_image());
                    steps.push(Step::Dense {
                        layer,
                        dense,
                        act: Act::None,
                    });
                }
                Err(e) => errors.push(e),
            },
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
                match pool_step(layer, pool, image) {
                    Ok((step, out)) => {
                        steps.push(step);
                        image = Some(out);
                    }
                    Err(e) => errors.push(e),
                }
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
