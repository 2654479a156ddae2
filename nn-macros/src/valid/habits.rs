//! Layers written as a PyTorch user writes them, answered in `network!`'s terms: `Flatten`
//! first on inputs that are already flat.

use super::{kind, ImageKind, Kind, Produced};
use crate::ast::LayerDecl;

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
