//! The steps for an inline block of layers: `Sequential<...>`, a network of its own
//! generated beside the one that uses it, and `Residual<...>`, whose output is added to its
//! input and so must keep the width it starts with.

use proc_macro2::Span;
use quote::{quote, quote_spanned, ToTokens};
use syn::Type;

use super::{
    check_list, classify, first_last, ImageCheck, InlineNet, Kind, ListedLayer, Mismatch, Produced,
    Resolved, TypeCheck, Upstream, Walk,
};
use crate::ast::Inline;
use crate::size::{pretty, Shape, Size};

/// `Sequential<...>` or `Residual<...>`: a network of its own, generated beside this one,
/// or a residual block around one layer of the user's or one network.
pub(super) fn step_block<'a>(
    cx: &mut Walk,
    owner: &str,
    entry: &ListedLayer<'a>,
    inline: &'a Inline,
    up: &mut Upstream,
) -> Option<Resolved<'a>> {
    let decl = entry.decl;
    let ty = &decl.ty;
    let shown = pretty(&ty.to_token_stream());
    if inline.residual {
        if let [only] = &inline.layers[..] {
            if only.inline.is_none() && matches!(classify(&only.ty), Ok(Kind::User)) {
                return step_residual_around(cx, entry, &only.ty, up, shown);
            }
        }
    }
    let place = match &decl.name {
        Some(n) => n.to_string(),
        None => entry.index.to_string(),
    };
    let ident = syn::Ident::new(&format!("__{owner}_{place}"), Span::call_site());
    let start = up.clone();
    let layers = check_list(cx, &ident.to_string(), &inline.layers, up, false);
    let tyg = cx.ty_generics.clone();
    entry.check_name(cx, None, &shown, &quote!(#ident #tyg));
    if layers.len() != inline.layers.len() {
        return None; // a layer inside was reported
    }
    let field_ty = if inline.residual {
        let (Some(have), Some(first)) = (&up.produced, layers.first()) else {
            return None;
        };
        // The width the block starts with: what flows into it, or its first layer's input.
        let want = match &start.produced {
            Some(f) => f.size.clone(),
            None => {
                let first = &first.field_ty;
                Size::Expr(quote!(<#first as ::nn::Layer>::IN))
            }
        };
        // An image block keeps its shape, not only its number of features: `16 × 32 × 32`
        // and `64 × 16 × 16` hold as many values, but do not add up.
        let literal = |s: &Shape| [&s.c, &s.h, &s.w].iter().all(|d| matches!(d, Size::Lit(_)));
        let start_image = start.produced.as_ref().and_then(|f| f.image.as_ref());
        if let (Some(from), Some(to)) = (start_image, &have.image) {
            if literal(from) && literal(to) && from.show() != to.show() {
                cx.errors.push(syn::Error::new_spanned(
                    ty,
                    format!(
                        "this residual block takes an image of {} but its last layer produces \
                         {}; its output is added to its input, so it must keep the shape it \
                         starts with (end it with a layer that produces {})",
                        from.show(),
                        to.show(),
                        from.show()
                    ),
                ));
                up.lose(shown);
                return None;
            }
        }
        if let Err(mismatch) = cx.compare(ty, &have.size, &want) {
            let have = match mismatch {
                Mismatch::Lit(h) => h.to_string(),
                Mismatch::Generic => format!(
                    "`{}`, which differ for some values of the network's generic parameters",
                    have.size.show()
                ),
            };
            let want = want.show();
            cx.errors.push(syn::Error::new_spanned(
                ty,
                format!(
                    "this residual block takes {want} features but its last layer produces {have}; \
                     its output is added to its input, so it must keep the width it starts with \
                     (end it with a layer of {want} outputs)"
                ),
            ));
            up.lose(shown);
            return None;
        }
        // After the block, the data is as it came in: the block's input width, checked
        // equal to its output above, and the image it may be.
        up.produced = up.produced.take().map(|f| Produced {
            size: want.clone(),
            image: start.produced.as_ref().and_then(|s| s.image.clone()),
            ..f
        });
        quote!(::nn::Residual<#ident #tyg>)
    } else {
        quote!(#ident #tyg)
    };
    up.shown = shown;
    let mut resolved = entry.resolved(Kind::User, field_ty, up);
    resolved.inline_net = Some(Box::new(InlineNet { ident, layers }));
    Some(resolved)
}

/// `Residual<T>` around a layer of the user's or a network: `T` must keep its width.
fn step_residual_around<'a>(
    cx: &mut Walk,
    entry: &ListedLayer<'a>,
    inner: &Type,
    up: &mut Upstream,
    shown: String,
) -> Option<Resolved<'a>> {
    let ty = &entry.decl.ty;
    let input = Size::Expr(quote!(<#inner as ::nn::Layer>::IN));
    let output = Size::Expr(quote!(<#inner as ::nn::Layer>::OUT));
    if let Some(f) = &up.produced {
        let _ = cx.compare(ty, &f.size, &input);
    }
    if input.mentions(&cx.generics) {
        let (i, o) = (input.expr(), output.expr());
        let msg = format!(
            "a residual block must keep its width: `{shown}` produces another width than it takes"
        );
        let (first, _) = first_last(ty);
        cx.generic_asserts
            .push(quote_spanned!(first=> ::core::assert!(#i == #o, "{}", #msg);));
    } else {
        cx.checks.push(TypeCheck {
            span: first_last(ty),
            keeps: true,
            prev: input.expr(),
            input: output.expr(),
            image: Some(ImageCheck::Keeps {
                layer: inner.to_token_stream(),
            }),
        });
    }
    let field_ty = quote!(::nn::Residual<#inner>);
    entry.check_name(cx, None, &shown, &field_ty);
    let image = up.produced.as_ref().and_then(|f| f.image.clone());
    // The block keeps the width flowing in (checked above).
    let size = up.produced.as_ref().map_or(output, |f| f.size.clone());
    up.produced = Some(Produced {
        size,
        source: shown.clone(),
        image,
        detail: None,
    });
    up.shown = shown;
    Some(entry.resolved(Kind::User, field_ty, up))
}
