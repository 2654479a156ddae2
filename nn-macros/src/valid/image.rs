//! The image layers (`Conv2d`, `ConvTranspose2d`, `MaxPool2d`, `AvgPool2d`, `BatchNorm2d`,
//! `Upsample`, `Flatten`) and the shape arithmetic behind them. A network of images declares
//! its input with `#[input(C, H, W)]`; from there this module follows the shape `C × H × W`
//! through every layer, computing each output size. Sizes written as numbers are computed and checked
//! here, with the formula in the message; sizes given as const items become constant
//! expressions in the generated types (`{ (H + 2 * P - K) / S + 1 }`), which stable Rust
//! evaluates because the network's types are concrete.
//!
//! That is why no `typenum` is needed here: stable Rust cannot compute a size from const
//! generic parameters in a *type* inside generic code (dfdx needs nightly
//! `generic_const_exprs` for that), but the layers only compute their sizes in associated
//! constants (`Conv2d::OUT`), which is stable, and the macro writes every computed size into
//! a concrete type. `typenum`/`generic-array` would be needed for a network that is itself
//! generic over a size; `network!` declares concrete networks.
//!
//! The shape itself ([`Shape`]) is in `crate::size`, as the parser reads it from
//! `#[input(C, H, W)]`; this module holds the image layers' step in the list walk,
//! `step_image`, and `parse` reads their arguments.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{Hidden, Kind, ListedLayer, Produced, Resolved, Upstream, Walk};
use crate::size::{mul, Shape, Size};

mod general;
mod parse;
mod seq;
pub use parse::{classify, Conv, Pool};

/// An image layer as declared.
pub enum ImageKind {
    Conv(Box<Conv>),
    /// A transposed convolution, with its output padding.
    ConvTranspose(Box<Conv>, Size),
    MaxPool(Pool),
    AvgPool(Pool),
    /// PyTorch's `AdaptiveAvgPool2d(1)`, the global average pool.
    AdaptiveAvgPool,
    BatchNorm2d(Size),
    /// `BatchNorm1d<C>` (or `BatchNorm<C>`) on a sequence of `C × L`: PyTorch's
    /// `nn.BatchNorm1d(C)` on `(N, C, L)`, each channel's statistics over the batch and the
    /// length, as `BatchNorm2d` over an image of one row.
    BatchNorm1d(Size),
    /// Nearest-neighbour upsampling by an integer scale.
    Upsample(Size),
    Flatten,
    /// The 1-D layers, on a sequence (`#[input(C, L)]`): `Conv1d`, its pools, PyTorch's
    /// `AdaptiveAvgPool1d(1)`, and `Transpose` (channels × length to steps of channels).
    Conv1d(Box<Conv>),
    MaxPool1d(Pool),
    AvgPool1d(Pool),
    AdaptiveAvgPool1d,
    Transpose,
}

/// The output length of a window `k` sliding by `s` over `n` padded by `p`, or why it
/// does not fit.
fn slide(n: &Size, k: &Size, s: &Size, p: &Size) -> Result<Size, u64> {
    match (n, k, s, p) {
        (Size::Lit(n), Size::Lit(k), Size::Lit(s), Size::Lit(p)) => {
            // Saturating: an absurd size is the compiler's to refuse, never a panic here.
            let padded = n.saturating_add(p.saturating_mul(2));
            if *k > padded || *s == 0 {
                Err(padded)
            } else {
                Ok(Size::Lit(((padded - k) / s).saturating_add(1)))
            }
        }
        _ => {
            let (n, k, s, p) = (n.expr(), k.expr(), s.expr(), p.expr());
            Ok(Size::Expr(quote!(((#n) + 2 * (#p) - (#k)) / (#s) + 1)))
        }
    }
}

impl ImageKind {
    /// Whether the layer has parameters or buffers (and so needs a name in a named
    /// network).
    pub fn has_state(&self) -> bool {
        matches!(
            self,
            ImageKind::Conv(_)
                | ImageKind::ConvTranspose(..)
                | ImageKind::BatchNorm2d(_)
                | ImageKind::BatchNorm1d(_)
                | ImageKind::Conv1d(_)
        )
    }

    /// The layer as declared, tidied: `Conv2d<1, 8, 3>`.
    pub fn show(&self) -> String {
        match self {
            ImageKind::Conv(conv) => conv.show("Conv2d", None),
            ImageKind::ConvTranspose(conv, op) => conv.show("ConvTranspose2d", Some(op)),
            ImageKind::MaxPool(pool) => pool.show("MaxPool2d"),
            ImageKind::AvgPool(pool) => pool.show("AvgPool2d"),
            ImageKind::AdaptiveAvgPool => "AdaptiveAvgPool2d<1>".to_string(),
            ImageKind::BatchNorm2d(c) => format!("BatchNorm2d<{}>", c.show()),
            ImageKind::BatchNorm1d(c) => format!("BatchNorm1d<{}>", c.show()),
            ImageKind::Upsample(s) => format!("Upsample<{}>", s.show()),
            ImageKind::Flatten => "Flatten".to_string(),
            ImageKind::Conv1d(conv) => conv.show("Conv1d", None),
            ImageKind::MaxPool1d(pool) => pool.show("MaxPool1d"),
            ImageKind::AvgPool1d(pool) => pool.show("AvgPool1d"),
            ImageKind::AdaptiveAvgPool1d => "AdaptiveAvgPool1d<1>".to_string(),
            ImageKind::Transpose => "Transpose".to_string(),
        }
    }

    /// Whether the layer takes a sequence (a 1-D layer) rather than an image; `None` for
    /// `Flatten`, which takes either.
    fn takes_sequence(&self) -> Option<bool> {
        match self {
            ImageKind::Flatten => None,
            ImageKind::Conv1d(_)
            | ImageKind::MaxPool1d(_)
            | ImageKind::AvgPool1d(_)
            | ImageKind::AdaptiveAvgPool1d
            | ImageKind::BatchNorm1d(_)
            | ImageKind::Transpose => Some(true),
            _ => Some(false),
        }
    }
}

/// What one image layer does to the shape before it.
pub struct Step {
    /// The field's type, every size filled in.
    pub field_ty: TokenStream,
    /// The shape after it; `None` after `Flatten`.
    pub out: Option<Shape>,
    /// Size pairs the compiler must compare (channels given as const items).
    pub checks: Vec<(Size, Size)>,
}

/// Applies `kind` to `input`, the shape the layer before produces (`None`: flat features,
/// `flat` of them). `prev` names the layer before in messages.
pub fn step(
    kind: &ImageKind,
    shown: &str,
    input: Option<&Shape>,
    flat: Option<&Size>,
    prev: &str,
) -> Result<Step, String> {
    let Some(x) = input else {
        return flat_input(kind, shown, flat, prev);
    };
    match kind.takes_sequence() {
        Some(true) if !x.seq => {
            return Err(format!(
                "`{shown}` takes a sequence, but `{prev}` before it produces an image of {}; \
                 the 1-D layers follow `#[input(CHANNELS, LENGTH)]` or another 1-D layer",
                x.show()
            ))
        }
        Some(false) if x.seq => {
            let fix = match kind {
                ImageKind::Conv(_) => "; use `Conv1d`",
                ImageKind::MaxPool(_) => "; use `MaxPool1d`",
                ImageKind::AvgPool(_) => "; use `AvgPool1d`",
                ImageKind::AdaptiveAvgPool => "; use `AdaptiveAvgPool1d<1>`",
                ImageKind::BatchNorm2d(_) => {
                    "; use `BatchNorm1d`, which normalises each \
                                              channel over the batch and the length"
                }
                _ => "",
            };
            return Err(format!(
                "`{shown}` takes an image, but `{prev}` before it produces a sequence of {} \
                 (channels × length){fix}",
                x.show()
            ));
        }
        _ => {}
    }
    let (c, h, w) = (x.c.expr(), x.h.expr(), x.w.expr());
    let mut checks = Vec::new();
    let mut channels =
        |declared: &Size, what: &str, fix: &dyn Fn(u64) -> String| -> Result<(), String> {
            match (&x.c, declared) {
                (Size::Lit(have), Size::Lit(want)) if have != want => Err(format!(
                    "`{shown}` expects {want} {what}, but `{prev}` before it produces {have} \
                 ({} of {}); change it to `{}`",
                    x.what(),
                    x.show(),
                    fix(*have)
                )),
                (Size::Lit(_), Size::Lit(_)) => Ok(()),
                (have, want) => {
                    checks.push((have.clone(), want.clone()));
                    Ok(())
                }
            }
        };
    match kind {
        ImageKind::Conv1d(conv) => {
            channels(&conv.cin, "input channels", &|have| {
                let (c, g) = (conv.cin.show(), conv.groups.show());
                let fixed = shown.replacen(&format!("Conv1d<{c}"), &format!("Conv1d<{have}"), 1);
                if g == c {
                    // Depthwise: its groups follow its input channels.
                    return fixed.replacen(
                        &format!("groups = {c}"),
                        &format!("groups = {have}"),
                        1,
                    );
                }
                fixed
            })?;
            seq::step(kind, shown, x, prev, checks)
        }
        ImageKind::MaxPool1d(_)
        | ImageKind::AvgPool1d(_)
        | ImageKind::AdaptiveAvgPool1d
        | ImageKind::Transpose => seq::step(kind, shown, x, prev, checks),
        ImageKind::Conv(conv) => {
            let Conv {
                cin, cout, k, s, p, ..
            } = &**conv;
            channels(cin, "input channels", &|have| {
                let (c, g) = (cin.show(), conv.groups.show());
                if g != c {
                    return shown.replacen(&format!("Conv2d<{c}"), &format!("Conv2d<{have}"), 1);
                }
                // A depthwise layer: its groups follow its input channels, and so do its
                // output channels where they equal them.
                let head = if conv.cout.show() == c {
                    (format!("Conv2d<{c}, {c}"), format!("Conv2d<{have}, {have}"))
                } else {
                    (format!("Conv2d<{c}"), format!("Conv2d<{have}"))
                };
                shown.replacen(&head.0, &head.1, 1).replacen(
                    &format!("groups = {c}"),
                    &format!("groups = {have}"),
                    1,
                )
            })?;
            if !conv.is_plain() {
                return general::conv(conv, shown, x, prev, checks);
            }
            let fits = |n: &Size, side: &str| {
                slide(n, k, s, p).map_err(|padded| {
                    format!(
                        "`{shown}` slides a {k} × {k} kernel, but `{prev}` before it produces an image of {} \
                         ({side} {padded} with padding); use a kernel of at most {padded}, or more padding",
                        x.show(),
                        k = k.show(),
                    )
                })
            };
            let (oh, ow) = (fits(&x.h, "height")?, fits(&x.w, "width")?);
            let (cin_e, cout_e, k_e, s_e, p_e) =
                (cin.expr(), cout.expr(), k.expr(), s.expr(), p.expr());
            let bias = conv.bias_arg();
            Ok(Step {
                field_ty: quote!(::nn::Conv2d<#cin_e, #cout_e, #k_e, #s_e, #p_e, #h, #w #bias>),
                out: Some(Shape {
                    c: cout.clone(),
                    h: oh,
                    w: ow,
                    seq: false,
                }),
                checks,
            })
        }
        ImageKind::ConvTranspose(conv, op) => {
            let Conv {
                cin, cout, k, s, p, ..
            } = &**conv;
            channels(cin, "input channels", &|have| {
                shown.replacen(
                    &format!("ConvTranspose2d<{}", cin.show()),
                    &format!("ConvTranspose2d<{have}"),
                    1,
                )
            })?;
            let grows = |n: &Size, side: &str| {
                unslide(n, conv, op).map_err(|(arithmetic, most)| {
                    format!(
                        "`{shown}` pads its whole output away: on the image of {} that `{prev}` \
                         before it produces, its {side} would be {arithmetic}; use a padding of \
                         at most {most}",
                        x.show(),
                    )
                })
            };
            let (oh, ow) = (grows(&x.h, "height")?, grows(&x.w, "width")?);
            let (cin_e, cout_e, k_e, s_e, p_e, op_e) = (
                cin.expr(),
                cout.expr(),
                k.expr(),
                s.expr(),
                p.expr(),
                op.expr(),
            );
            let bias = conv.bias_arg();
            Ok(Step {
                field_ty: quote!(
                    ::nn::ConvTranspose2d<#cin_e, #cout_e, #k_e, #s_e, #p_e, #op_e, #h, #w #bias>
                ),
                out: Some(Shape {
                    c: cout.clone(),
                    h: oh,
                    w: ow,
                    seq: false,
                }),
                checks,
            })
        }
        ImageKind::MaxPool(pool) | ImageKind::AvgPool(pool) => {
            let max = matches!(kind, ImageKind::MaxPool(_));
            general::pool(pool, max, shown, x, prev)
        }
        ImageKind::AdaptiveAvgPool => Ok(Step {
            field_ty: quote!(::nn::AdaptiveAvgPool2d<#c, #h, #w>),
            out: Some(Shape {
                c: x.c.clone(),
                h: Size::Lit(1),
                w: Size::Lit(1),
                seq: false,
            }),
            checks: Vec::new(),
        }),
        ImageKind::BatchNorm1d(n) => {
            channels(n, "channels", &|have| format!("BatchNorm1d<{have}>"))?;
            Ok(Step {
                field_ty: quote!(::nn::BatchNorm2d<#c, 1, #w>),
                out: Some(x.clone()),
                checks,
            })
        }
        ImageKind::BatchNorm2d(n) => {
            channels(n, "channels", &|have| format!("BatchNorm2d<{have}>"))?;
            Ok(Step {
                field_ty: quote!(::nn::BatchNorm2d<#c, #h, #w>),
                out: Some(x.clone()),
                checks,
            })
        }
        ImageKind::Upsample(scale) => {
            let s = scale.expr();
            Ok(Step {
                field_ty: quote!(::nn::Upsample<#c, #s, #h, #w>),
                out: Some(Shape {
                    c: x.c.clone(),
                    h: mul(&x.h, scale),
                    w: mul(&x.w, scale),
                    seq: false,
                }),
                checks: Vec::new(),
            })
        }
        ImageKind::Flatten => {
            let n = x.size().expr();
            Ok(Step {
                field_ty: quote!(::nn::Flatten<#n>),
                out: None,
                checks: Vec::new(),
            })
        }
    }
}

/// The output length of a transposed convolution `conv` with output padding `op` over `n`,
/// `(n − 1)·S − 2P + K + OP`, or, where it is below 1, its arithmetic and the most padding
/// that leaves a side of 1.
fn unslide(n: &Size, conv: &Conv, op: &Size) -> Result<Size, (String, u64)> {
    match (n, &conv.k, &conv.s, &conv.p, op) {
        (Size::Lit(n), Size::Lit(k), Size::Lit(s), Size::Lit(p), Size::Lit(op)) => {
            // Saturating: an absurd size is the compiler's to refuse, never a panic here.
            let grown = n
                .saturating_sub(1)
                .saturating_mul(*s)
                .saturating_add(*k)
                .saturating_add(*op);
            let cut = p.saturating_mul(2);
            if grown > cut {
                return Ok(Size::Lit(grown - cut));
            }
            let value = match cut - grown {
                0 => "0".to_string(),
                below => format!("−{below}"),
            };
            Err((
                format!("({n} − 1) × {s} − 2 × {p} + {k} + {op} = {value}"),
                grown.saturating_sub(1) / 2,
            ))
        }
        _ => {
            let (n, k, s, p, op) = (
                n.expr(),
                conv.k.expr(),
                conv.s.expr(),
                conv.p.expr(),
                op.expr(),
            );
            Ok(Size::Expr(
                quote!(((#n) - 1) * (#s) + (#k) + (#op) - 2 * (#p)),
            ))
        }
    }
}

/// `kind` on flat features (`flat` of them, `None` when nothing was declared): only
/// `Flatten` takes them.
fn flat_input(
    kind: &ImageKind,
    shown: &str,
    flat: Option<&Size>,
    prev: &str,
) -> Result<Step, String> {
    match (kind, flat) {
        // Flattening flat features changes nothing, as in PyTorch.
        (ImageKind::Flatten, Some(n)) => {
            let n = n.expr();
            Ok(Step {
                field_ty: quote!(::nn::Flatten<#n>),
                out: None,
                checks: Vec::new(),
            })
        }
        (k, flat) if k.takes_sequence() == Some(true) => Err(match flat {
            Some(n) => format!(
                "`{shown}` needs a sequence, but `{prev}` before it produces {} flat features; \
                 the 1-D layers follow `#[input(CHANNELS, LENGTH)]` or another 1-D layer",
                n.show()
            ),
            None => format!(
                "`{shown}` needs a sequence, but the network's input shape is not declared; \
                 declare it with `#[input(CHANNELS, LENGTH)]` on the network, for example \
                 `#[input(1, 16000)]`"
            ),
        }),
        _ => Err(match flat {
            Some(n) => format!(
                "`{shown}` needs an image, but `{prev}` before it produces {} flat features; \
                 image layers come before `Flatten`",
                n.show()
            ),
            None => format!(
                "`{shown}` needs an image, but the network's input shape is not declared; \
                 declare it with `#[input(CHANNELS, HEIGHT, WIDTH)]` on the network, \
                 for example `#[input(1, 28, 28)]`"
            ),
        }),
    }
}

/// Before an image layer that follows a layer of the user's given an image: the image that
/// layer produces, as its `Layer::OUT_IMAGE` says, checked by the compiler to be declared
/// and to hold as many values as the layer's output. Until the compiler has checked, the
/// shape is the image the layer was given, so that one mistake gives one error.
pub(super) fn reveal(cx: &mut Walk, shown: &str, h: Hidden, up: &mut Upstream) {
    if up.produced.is_none() {
        return;
    }
    let t = &h.ty;
    let out_image = quote!(<#t as ::nn::Layer>::OUT_IMAGE);
    let shape = hidden_shape(&h);
    let declared = format!(
        "`{}` does not say what image it produces, and `{shown}` after it takes an image; \
         declare `const OUT_IMAGE: Option<[usize; 3]> = Some([C, H, W]);` in its `impl Layer` \
         (a network declared with `#[input]` says it)",
        h.shown
    );
    let holds = format!(
        "`{}` declares an `OUT_IMAGE` of another size than its `OUT`; the image's \
         channels × height × width must be its output's features",
        h.shown
    );
    let span = h.ty.span();
    let size = shape.size().expr();
    cx.asserts.push(quote_spanned! {span=>
        const _: () = ::core::assert!(#out_image.is_some(), "{}", #declared);
        const _: () = ::core::assert!(
            #out_image.is_none() || #size == <#t as ::nn::Layer>::OUT,
            "{}",
            #holds
        );
    });
    if let Some(f) = up.produced.as_mut() {
        f.image = Some(shape);
    }
}

/// Before a layer of the user's that follows another given an image: the image the first
/// produces, unchecked, so that the second is compared with it as an image where it takes
/// one, and may pass it on to an image layer after it.
pub(super) fn pass_on(h: Hidden, up: &mut Upstream) {
    if let Some(f) = up.produced.as_mut() {
        f.image = Some(hidden_shape(&h));
    }
}

/// The image a layer of the user's produces, as its `Layer::OUT_IMAGE` says, or the one it
/// was given where it says none.
fn hidden_shape(h: &Hidden) -> Shape {
    let t = &h.ty;
    let dim = |i: usize, given: &Size| {
        let g = given.expr();
        Size::Expr(quote!({
            ::nn::__private::image_dim(<#t as ::nn::Layer>::OUT_IMAGE, #i, #g)
        }))
    };
    Shape {
        c: dim(0, &h.given.c),
        h: dim(1, &h.given.h),
        w: dim(2, &h.given.w),
        seq: h.given.seq,
    }
}

/// An image layer, stepped with the shape arithmetic above.
pub(super) fn step_image<'a>(
    cx: &mut Walk,
    entry: &ListedLayer<'a>,
    image_kind: ImageKind,
    shown: String,
    up: &mut Upstream,
) -> Option<Resolved<'a>> {
    let ty = &entry.decl.ty;
    let (before, flat) = match &up.produced {
        Some(f) => (f.image.clone(), Some(f.size.clone())),
        None => (None, None),
    };
    if up.produced.is_none() && entry.index > 0 {
        return None; // the layer before it was already reported
    }
    let result = match step(
        &image_kind,
        &shown,
        before.as_ref(),
        flat.as_ref(),
        &up.shown,
    ) {
        Err(msg) => {
            cx.errors.push(syn::Error::new_spanned(ty, msg));
            up.lose(shown);
            return None;
        }
        Ok(step) => step,
    };
    for (have, want) in &result.checks {
        let _ = cx.compare(ty, have, want);
    }
    if let (ImageKind::Transpose, Some(x)) = (&image_kind, &before) {
        up.steps = Some((x.w.clone(), x.c.clone()));
    }
    up.produced = Some(match (result.out, before) {
        (Some(shape), _) => Produced {
            size: shape.size(),
            source: shown.clone(),
            image: Some(shape),
            detail: None,
        },
        (None, Some(shape)) => Produced {
            size: shape.size(),
            source: shown.clone(),
            image: None,
            detail: Some(match image_kind {
                ImageKind::Transpose => seq::steps_detail(&shape),
                _ => shape.product(),
            }),
        },
        (None, None) => Produced {
            size: flat.unwrap_or(Size::Lit(0)),
            source: shown.clone(),
            image: None,
            detail: None,
        },
    });
    entry.check_name(cx, Some(image_kind.has_state()), &shown, &result.field_ty);
    up.shown = shown;
    Some(entry.resolved(Kind::Image(image_kind), result.field_ty, up))
}
