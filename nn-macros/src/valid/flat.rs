//! The step for a layer on flat features: `Linear`, `BatchNorm`, a width-keeping built-in
//! (an activation, `LayerNorm`, `Dropout`, ...), or a type of the user's, a network among
//! them. It compares the width flowing in with the layer's input and says how to fix a
//! mismatch.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Type;

use super::kind::linear_shown;
use super::{
    Hidden, ImageCheck, Keeps, Kind, ListedLayer, Mismatch, Produced, Resolved, Upstream, Walk,
};
use crate::size::Size;

/// A layer on flat features: `Linear`, a norm, a width-keeping built-in, or a type of
/// the user's.
pub(super) fn step_flat<'a>(
    cx: &mut Walk,
    entry: &ListedLayer<'a>,
    kind: Kind,
    shown: String,
    up: &mut Upstream,
) -> Option<Resolved<'a>> {
    let ty = &entry.decl.ty;
    let given = up.produced.as_ref().and_then(|f| f.image.clone());
    // Flat layers after an image need it flattened first; a layer of the user's takes
    // the image's `C·H·W` features as they are.
    if let Some(Produced {
        image: Some(shape), ..
    }) = &up.produced
    {
        if !matches!(
            kind,
            Kind::User | Kind::Activation(Keeps { width: None, .. })
        ) {
            let msg = match &kind {
                // PyTorch's `x.transpose(1, 2)` between a `Conv1d` and a recurrent layer.
                Kind::Sequence(s) if shape.seq && !s.takes_indices() => format!(
                    "`{shown}` reads steps of features, but `{}` before it produces a sequence \
                     of {} (channels × length); put `Transpose` before it, PyTorch's \
                     `x.transpose(1, 2)`, to read it as {} steps of {} features",
                    up.shown,
                    shape.show(),
                    shape.w.show(),
                    shape.c.show()
                ),
                _ => format!(
                    "`{shown}` takes flat features, but `{}` before it produces {} of {}; \
                     put `Flatten` before it",
                    up.shown,
                    shape.what(),
                    shape.show()
                ),
            };
            cx.errors.push(syn::Error::new_spanned(ty, msg));
            up.lose(shown);
            return None;
        }
    }
    // An embedding looks up indices, which only the network's input holds.
    if let (Kind::Sequence(seq), Some(_)) = (&kind, &up.produced) {
        if seq.takes_indices() {
            cx.errors.push(syn::Error::new_spanned(
                ty,
                format!(
                    "`{shown}` looks up indices, but `{}` before it produces features; an \
                     embedding reads the network's input, so put it first",
                    up.shown
                ),
            ));
            up.lose(shown);
            return None;
        }
    }
    let (input_size, output_size) = sizes(cx, entry, &kind, &shown, up)?;
    if !check_sizes(
        cx,
        ty,
        &kind,
        &shown,
        [&input_size, &Some(output_size.clone())],
    ) {
        up.lose(shown);
        return None;
    }
    let mut bn_mismatch = false;
    if let (Some(f), Some(want)) = (&up.produced, &input_size) {
        match compare_input(cx, ty, &kind, &shown, f, want, &up.shown) {
            Compared::Fits => {}
            Compared::Reported => {
                // After a batch norm of the wrong width, which of the two widths is meant
                // is unknown.
                bn_mismatch = matches!(
                    kind,
                    Kind::BatchNorm { .. } | Kind::Activation(Keeps { width: Some(_), .. })
                );
            }
            Compared::Lost => {
                up.lose(shown);
                return None;
            }
        }
    }
    let field_ty = field_ty(ty, &kind, &output_size);
    let stateful = match &kind {
        Kind::Linear { .. } | Kind::BatchNorm { .. } | Kind::Sequence(_) => Some(true),
        Kind::Activation(k) => Some(k.width.is_some()),
        Kind::User | Kind::Image(_) => None,
    };
    entry.check_name(cx, stateful, &shown, &field_ty);
    let keeps_source = matches!(kind, Kind::Activation(_) | Kind::BatchNorm { .. });
    let source = match (&up.produced, keeps_source) {
        (Some(f), true) => f.source.clone(),
        _ => shown.clone(),
    };
    // After a batch norm of the wrong width, which of the two widths is meant is
    // unknown: compare the next layer with neither, so that one mistake gives one error.
    up.produced = if bn_mismatch {
        None
    } else {
        // A width-keeping layer on an image keeps the image.
        let image = match (&kind, &up.produced) {
            (Kind::Activation(Keeps { width: None, .. }), Some(f)) => f.image.clone(),
            _ => None,
        };
        Some(Produced {
            size: output_size,
            source,
            image,
            detail: None,
        })
    };
    // A layer of the user's given an image may produce one: an image layer after it asks.
    if let (Kind::User, Some(given), true) = (&kind, given, cx.generics.is_empty()) {
        up.hidden = Some(Hidden {
            ty: ty.clone(),
            shown: shown.clone(),
            given,
        });
    }
    up.shown = shown;
    Some(entry.resolved(kind, field_ty, up))
}

/// The layer's input size (`None` for one that takes whatever comes) and output size;
/// `None` when they are unknown, after a mistake.
fn sizes(
    cx: &mut Walk,
    entry: &ListedLayer<'_>,
    kind: &Kind,
    shown: &str,
    up: &Upstream,
) -> Option<(Option<Size>, Size)> {
    let ty = &entry.decl.ty;
    Some(match kind {
        Kind::Linear {
            inputs, outputs, ..
        } => (Some(inputs.clone()), outputs.clone()),
        Kind::Sequence(s) => (Some(s.inputs.clone()), s.outputs.clone()),
        Kind::BatchNorm { width } => (Some(width.clone()), width.clone()),
        Kind::Image(_) => return None, // handled by `step_image`
        Kind::User => (
            Some(Size::Expr(quote!(<#ty as ::nn::Layer>::IN))),
            Size::Expr(quote!(<#ty as ::nn::Layer>::OUT)),
        ),
        Kind::Activation(Keeps {
            width: Some(width), ..
        }) => (Some(width.clone()), width.clone()),
        Kind::Activation(_) => match &up.produced {
            Some(f) => (None, f.size.clone()),
            None if entry.index == 0 => {
                cx.errors.push(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{shown}` cannot come first: it keeps the width of the layer before it, \
                         so the network's input size would be unknown; \
                         put a sized layer such as `Linear<IN, OUT>` first"
                    ),
                ));
                return None;
            }
            None => return None, // the layer before it was already reported
        },
    })
}

/// Refuses a built-in's size computed from generic parameters, and a size of 0. `false`
/// when the layer is lost.
fn check_sizes(
    cx: &mut Walk,
    ty: &Type,
    kind: &Kind,
    shown: &str,
    [input_size, output_size]: [&Option<Size>; 2],
) -> bool {
    for (what, size) in [("inputs", input_size), ("outputs", output_size)] {
        let size = size.as_ref();
        if let Some(size) = size.filter(|s| s.mentions(&cx.generics) && s.bare().is_none()) {
            if !matches!(kind, Kind::User) {
                cx.errors.push(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{shown}` computes its {what} from the network's generic parameters \
                         (`{}`), which stable Rust cannot do inside a type; make the computed \
                         size a parameter of its own (`const H2: usize`) and use `H2`",
                        size.show()
                    ),
                ));
                return false;
            }
        }
        if let Some(Size::Lit(0)) = size {
            cx.errors.push(syn::Error::new_spanned(
                ty,
                format!("`{shown}` has 0 {what}; every layer size must be at least 1"),
            ));
        }
    }
    true
}

/// What comparing the width flowing in with a layer's input found.
enum Compared {
    /// They fit, or the compiler compares them.
    Fits,
    /// Two literals differ: reported, and the layer's output is still known.
    Reported,
    /// They differ for some generic sizes: reported, and the layer is lost.
    Lost,
}

/// Compares the width `f` flowing in with the layer's input `want`, reporting a mismatch
/// with the fix. `prev_shown` is the layer before, as shown.
fn compare_input(
    cx: &mut Walk,
    ty: &Type,
    kind: &Kind,
    shown: &str,
    f: &Produced,
    want: &Size,
    prev_shown: &str,
) -> Compared {
    let checks = cx.checks.len();
    let Err(mismatch) = cx.compare(ty, &f.size, want) else {
        // A layer of the user's or a network after an image: compared as an image where
        // it takes one.
        if let (Kind::User, Some(shape), Some(check)) = (kind, &f.image, cx.checks.get_mut(checks))
        {
            check.image = Some(ImageCheck::After {
                layer: ty.to_token_stream(),
                prev: [shape.c.expr(), shape.h.expr(), shape.w.expr()],
            });
        }
        return Compared::Fits;
    };
    let want = want.show();
    let from = if f.source == prev_shown || f.source.is_empty() {
        String::new()
    } else {
        format!(" (the output of `{}`)", f.source)
    };
    let Mismatch::Lit(have) = mismatch else {
        let have = f.size.show();
        let fix = match kind {
            Kind::Linear { outputs, bias, .. } => {
                format!(
                    "; change it to `{}`",
                    linear_shown(&have, &outputs.show(), *bias)
                )
            }
            Kind::BatchNorm { .. } => format!("; change it to `BatchNorm<{have}>`"),
            _ => String::new(),
        };
        cx.errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "`{shown}` expects {want} inputs, but `{prev_shown}` before it produces `{have}`{from}, \
                 which differs from {want} for some values of the network's generic parameters; \
                 a generic network must fit for every size{fix}"
            ),
        ));
        return Compared::Lost;
    };
    let have_text = f.detail.clone().unwrap_or_else(|| have.to_string());
    let msg = match kind {
        Kind::Linear { outputs, bias, .. } => format!(
            "`{shown}` expects {want} inputs, but `{prev_shown}` before it produces {have_text}{from}; \
             change it to `{}`",
            linear_shown(&have.to_string(), &outputs.show(), *bias)
        ),
        Kind::BatchNorm { .. } => format!(
            "`{shown}` normalises {want} features, but `{prev_shown}` before it produces {have}{from}; \
             change it to `BatchNorm<{have}>`"
        ),
        Kind::Activation(Keeps {
            alias, width: Some(_), ..
        }) => format!(
            "`{shown}` normalises {want} features, but `{prev_shown}` before it produces {have}{from}; \
             change it to `{alias}<{have}>`"
        ),
        Kind::Sequence(seq) => format!(
            "`{shown}` expects {want} inputs, but `{prev_shown}` before it produces {have_text}{from}{}",
            seq.fix(have).unwrap_or_default()
        ),
        _ => format!(
            "`{shown}` expects {want} inputs, but `{prev_shown}` before it produces {have_text}{from}"
        ),
    };
    cx.errors.push(syn::Error::new_spanned(ty, msg));
    Compared::Reported
}

/// The field's type: built-ins as absolute paths, from the sizes as computed, so that an
/// expression's braces (`{ 28 * 28 }`) never reach the generated type, and `BatchNorm1d`
/// is `BatchNorm`.
fn field_ty(ty: &Type, kind: &Kind, output_size: &Size) -> TokenStream {
    match kind {
        Kind::Linear {
            inputs,
            outputs,
            bias,
        } => {
            let (i, o) = (inputs.expr(), outputs.expr());
            let no_bias = if *bias { quote!() } else { quote!(, false) };
            quote_spanned!(ty.span()=> ::nn::Linear<#i, #o #no_bias>)
        }
        Kind::BatchNorm { width } => {
            let w = width.expr();
            quote_spanned!(ty.span()=> ::nn::BatchNorm<#w>)
        }
        Kind::Activation(Keeps {
            alias,
            width: Some(width),
            ..
        }) => {
            let (alias, w) = (syn::Ident::new(alias, ty.span()), width.expr());
            quote_spanned!(ty.span()=> ::nn::#alias<#w>)
        }
        Kind::Activation(k) => {
            let alias = syn::Ident::new(k.alias, ty.span());
            let width = output_size.expr();
            let args = &k.args;
            quote!(::nn::#alias<#width #(, #args)*>)
        }
        Kind::Sequence(s) => {
            let alias = syn::Ident::new(s.alias, ty.span());
            let args = &s.args;
            quote_spanned!(ty.span()=> ::nn::#alias<#(#args),*>)
        }
        Kind::User | Kind::Image(_) => quote!(#ty),
    }
}
