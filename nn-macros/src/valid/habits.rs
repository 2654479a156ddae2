//! Layers written as a PyTorch user writes them, answered in `network!`'s terms: `Flatten`
//! first on inputs that are already flat, and PyTorch's global average pool.

use quote::ToTokens;
use syn::Type;

use super::{kind, ImageKind, Kind, Produced, Upstream};
use crate::ast::LayerDecl;
use crate::size::pretty;

/// The input of a network without `#[input]` that starts with `Flatten` (PyTorch's
/// Quickstart: `Flatten` then `Linear(28 * 28, 512)`): flat features, as many as the layer
/// after `Flatten` states it takes, which `Flatten` passes through unchanged. `None` when
/// the list does not start so, or the layer after does not state its input width.
pub(super) fn flat_flatten_input(layers: &[LayerDecl]) -> Option<Produced> {
    let [first, rest @ ..] = layers else {
        return None;
    };
    let is_flatten = first.pytorch.is_none()
        && first.inline.is_none()
        && matches!(
            kind::classify(&first.ty),
            Ok(Kind::Image(ImageKind::Flatten))
        );
    if !is_flatten {
        return None;
    }
    let (Some(size), _) = kind::stated_widths(rest) else {
        return None;
    };
    Some(Produced {
        size,
        source: String::new(),
        image: None,
        detail: None,
    })
}

/// The answer to `AdaptiveAvgPool2d<1>`, PyTorch's global average pool, which `network!`
/// does not have: the fixed pool that does the same on the image before it, where its sides
/// are known and equal.
pub(super) fn adaptive_pool(ty: &Type, up: &Upstream) -> Option<String> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() || p.path.segments.len() != 1 {
        return None;
    }
    if p.path.segments[0].ident != "AdaptiveAvgPool2d" {
        return None;
    }
    let written = pretty(&ty.to_token_stream());
    let image = up.produced.as_ref().and_then(|f| f.image.as_ref());
    Some(match image {
        Some(shape) if shape.h.show() == shape.w.show() => format!(
            "`network!` has no `AdaptiveAvgPool2d`; `AvgPool2d<{side}>` averages each channel of \
             the {} image that `{}` produces to 1 × 1, as `AdaptiveAvgPool2d(1)` does: write \
             `AvgPool2d<{side}>`",
            shape.show(),
            up.shown,
            side = shape.h.show(),
        ),
        Some(shape) => format!(
            "`network!` has no `AdaptiveAvgPool2d`, and `AvgPool2d` takes square windows, \
             which the {} image that `{}` produces does not fit; make the image square first",
            shape.show(),
            up.shown,
        ),
        None => format!(
            "`{written}` is not a layer of `network!`: `AdaptiveAvgPool2d` is PyTorch's, and \
             here `AvgPool2d<K>`, with `K` the image's side, averages each channel to 1 × 1; \
             it needs an image, declared with `#[input(CHANNELS, HEIGHT, WIDTH)]`"
        ),
    })
}
