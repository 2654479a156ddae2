//! A layer's `bias` on one side only: PyTorch's layer was built without bias
//! (`bias=False`) and the network's declares one, or the reverse. A strict load says so,
//! with the declaration that fits the file, rather than only that a tensor is missing or
//! unexpected.

use std::format;
use std::string::{String, ToString};

use crate::{LayerInfo, Network};

/// The layers that take `bias = false` in `network!`, as their `describe` begins.
const TAKE_BIAS: [&str; 3] = ["Linear<", "Conv2d<", "ConvTranspose2d<"];

/// Where the layer description says it was declared without bias.
const NO_BIAS: &str = ", bias = false>";

/// The layer at module path `module` (`enc.0`) of the layers `layers`, at any depth.
fn layer_at(layers: &'static [LayerInfo], module: &str) -> Option<&'static LayerInfo> {
    let (head, rest) = match module.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (module, None),
    };
    let info = layers
        .iter()
        .find(|l| !l.name.is_empty() && l.name == head)?;
    match rest {
        Some(rest) => layer_at(info.children, rest),
        None => Some(info),
    }
}

/// The bias `key` (`conv1.bias`) of a built-in layer of `N` that takes `bias = false`,
/// as that layer is declared, when its weight `weight_there` says is on the other side.
fn bias_layer<N: Network>(key: &str, weight_there: impl Fn(&str) -> bool) -> Option<String> {
    let module = key.strip_suffix(".bias")?;
    if !weight_there(&format!("{module}.weight")) {
        return None;
    }
    let shown = layer_at(N::LAYERS, module)?.kind().to_string();
    TAKE_BIAS
        .iter()
        .any(|t| shown.starts_with(t))
        .then_some(shown)
}

/// When the missing key `key` is the bias of a layer of `N` whose weight the file has
/// (`in_file`), that layer as declared: PyTorch's was built without bias.
pub(super) fn missing<N: Network>(key: &str, in_file: impl Fn(&str) -> bool) -> Option<String> {
    let shown = bias_layer::<N>(key, in_file)?;
    (!shown.ends_with(NO_BIAS)).then_some(shown)
}

/// When the unexpected key `key` (the prefix stripped) is the bias of a layer of `N`
/// declared without one, whose weight the network has (`in_network`), that layer as
/// declared: PyTorch's was built with a bias.
pub(super) fn unexpected<N: Network>(
    key: &str,
    in_network: impl Fn(&str) -> bool,
) -> Option<String> {
    let shown = bias_layer::<N>(key, in_network)?;
    shown.ends_with(NO_BIAS).then_some(shown)
}

/// Layer `shown` as declared the other way: with `bias = false` added, or taken away.
pub(super) fn redeclared(shown: &str) -> String {
    match shown.strip_suffix(NO_BIAS) {
        Some(rest) => format!("{rest}>"),
        None => format!("{}{NO_BIAS}", shown.strip_suffix('>').unwrap_or(shown)),
    }
}
