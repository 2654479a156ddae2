//! The weights file checked against the network before anything is emitted: every tensor
//! a layer needs, present with the right type and shape, and no tensor that no layer has.
//! Each mistake is an error at the layer it concerns (or at the attribute), naming the
//! file, the tensor and both shapes.

use std::collections::BTreeMap;

use nn_safetensors::{Dtype, File, Tensor};

use super::is_under;
use super::wanted::{linear_weight, ExpectedTensor};
use crate::ast::Input;
use crate::attr::Attr;
use crate::ctxt::Ctxt;
use crate::size::Size;
use crate::valid::{self, ImageKind, Kind, Resolved};

/// The tensors `wants` asks for, every one checked, and no tensor left over that the
/// layers do not fill themselves (`nested`): all mistakes at once.
pub fn all<'f, 'a>(
    tensors: &'f File<'a>,
    wants: &[ExpectedTensor<'_>],
    nested: &[&Resolved<'_>],
    layers: &[Resolved<'_>],
    input: &Input,
    attr: &Attr,
    path: &str,
) -> syn::Result<Vec<&'f Tensor<'a>>> {
    let mut errors = Ctxt::default();
    let mut values = Vec::with_capacity(wants.len());
    for w in wants {
        match check(tensors, w, path) {
            Ok(view) => values.push(view),
            Err(e) => errors.push(e),
        }
    }
    // Sorted, as `names` gives them.
    // The extra tensors, grouped in one pass by the layer name they start with: one error
    // per layer of the network that they name, and one for every name no layer has.
    let mut extra: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for key in tensors
        .names()
        .filter(|n| !wants.iter().any(|w| w.key == *n))
        .filter(|n| !nested.iter().any(|l| is_under(l, n)))
    {
        let prefix = key.split_once('.').map_or(key, |(p, _)| p);
        extra.entry(prefix).or_default().push(key);
    }
    let mut strangers: (Vec<&str>, Vec<&str>) = Default::default();
    for (prefix, keys) in extra {
        match layers.iter().find(|l| l.name == prefix) {
            Some(layer) => errors.push(unexpected_in(layer, &keys, wants, path)),
            None => {
                strangers.0.push(prefix);
                strangers.1.extend(keys);
            }
        }
    }
    if !strangers.0.is_empty() {
        errors.push(unexpected_layers(
            &strangers.0,
            &strangers.1,
            layers,
            input,
            attr,
            path,
        ));
    }
    errors.finish()?;
    Ok(values)
}

/// `names` in backticks, at most five of them: "`a`, `b`, `c`, `d`, 3 more".
pub fn listing<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 5;
    let total = names.len();
    if total == 0 {
        return "no tensors".to_string();
    }
    let shown = if total > SHOWN { SHOWN - 1 } else { total };
    let mut listed: Vec<String> = names.take(shown).map(|n| format!("`{n}`")).collect();
    if total > shown {
        listed.push(format!("{} more", total - shown));
    }
    listed.join(", ")
}

/// Writes a shape as PyTorch prints sizes: `[128, 784]`, `[]` for a scalar.
fn show_shape<T>(dims: &[T], show: impl Fn(&T) -> String) -> String {
    let dims: Vec<String> = dims.iter().map(show).collect();
    format!("[{}]", dims.join(", "))
}

/// The tensor `w` asks for, if the file has it with the right type and shape. Dimensions
/// given as const items are left to the compiler.
fn check<'f, 'a>(
    file: &'f File<'a>,
    w: &ExpectedTensor<'_>,
    path: &str,
) -> syn::Result<&'f Tensor<'a>> {
    let (key, shown) = (&w.key, &w.shown);
    let want_shape = show_shape(&w.shape, Size::show);
    let err = |msg: String| syn::Error::new_spanned(&w.layer.decl.ty, format!("`{path}`: {msg}"));
    let Some(view) = file.tensor(key) else {
        // A file of PyTorch's layer built with `bias=False` has the weight alone.
        let weight = format!("{}.weight", w.layer.name);
        let takes = matches!(
            w.layer.kind,
            Kind::Linear { .. } | Kind::Image(ImageKind::Conv(_) | ImageKind::ConvTranspose(..))
        );
        let fix = if takes && w.name == "bias" && file.tensor(&weight).is_some() {
            let declared = shown.strip_suffix('>').unwrap_or(shown);
            format!(
                "; the file has `{weight}` without it: PyTorch's layer was built without \
                 bias (`bias=False`); declare it `{declared}, bias = false>`"
            )
        } else {
            String::new()
        };
        return Err(err(format!(
            "tensor `{key}` is missing, but `{shown}` needs it, of shape {want_shape}{fix}"
        )));
    };
    if view.dtype() != w.dtype {
        let fix = match w.dtype {
            Dtype::F32 => "; save the model as float32 (`model.float()` in PyTorch)",
            _ => "; PyTorch saves this counter as int64",
        };
        return Err(err(format!(
            "tensor `{key}` has type {} but `{shown}` needs {}{fix}",
            view.dtype(),
            w.dtype
        )));
    }
    let fits = view.shape().len() == w.shape.len()
        && view
            .shape()
            .iter()
            .zip(&w.shape)
            .all(|(have, want)| match want {
                Size::Lit(n) => *have as u64 == *n,
                Size::Expr(_) => true,
            });
    if !fits {
        let found = show_shape(view.shape(), usize::to_string);
        let transposed = w.name == "weight"
            && w.shape.len() == 2
            && show_shape(&[&w.shape[1], &w.shape[0]], |s| s.show()) == found;
        let hint = if transposed {
            let layout = linear_weight("in", "out").join(", ");
            format!("; it is transposed: PyTorch stores a `Linear` weight as [{layout}]")
        } else {
            String::new()
        };
        return Err(err(format!(
            "tensor `{key}` has shape {found} but `{shown}` needs {want_shape}{hint}"
        )));
    }
    Ok(view)
}

/// "unexpected tensors `a`, `b`", listing at most a few.
fn unexpected_what(keys: &[&str], path: &str) -> String {
    let plural = if keys.len() == 1 { "" } else { "s" };
    format!(
        "`{path}`: unexpected tensor{plural} {}",
        listing(keys.iter().copied())
    )
}

/// The error for tensors in the file that layer `layer` does not have.
fn unexpected_in(
    layer: &Resolved<'_>,
    keys: &[&str],
    wants: &[ExpectedTensor<'_>],
    path: &str,
) -> syn::Error {
    let what = unexpected_what(keys, path);
    let own: Vec<String> = wants
        .iter()
        .filter(|w| std::ptr::eq(w.layer, layer))
        .map(|w| format!("`{}`", w.key))
        .collect();
    // An inline block is shown by its name.
    let shown = match layer.decl.inline {
        Some(_) => layer.name.clone(),
        None => valid::show(&layer.kind, &layer.decl.ty),
    };
    let has = if own.is_empty() {
        "has no tensors".to_string()
    } else {
        format!("has only {}", own.join(", "))
    };
    // A file of PyTorch's layer built with a bias, for a layer declared `bias = false`.
    if let (Some(declared), [key]) = (shown.strip_suffix(", bias = false>"), keys) {
        if *key == format!("{}.bias", layer.name) {
            return syn::Error::new_spanned(
                &layer.decl.ty,
                format!(
                    "{what}: `{shown}` {has}, but PyTorch's layer was built with a bias; \
                     declare it `{declared}>`"
                ),
            );
        }
    }
    syn::Error::new_spanned(
        &layer.decl.ty,
        format!("{what}: `{shown}` {has}; the file is for another network"),
    )
}

/// The one error, on the attribute, for tensors under names (`prefixes`) that no layer of
/// the network has.
fn unexpected_layers(
    prefixes: &[&str],
    keys: &[&str],
    layers: &[Resolved<'_>],
    input: &Input,
    attr: &Attr,
    path: &str,
) -> syn::Error {
    let what = unexpected_what(keys, path);
    let names: Vec<String> = layers.iter().map(|l| format!("`{}`", l.name)).collect();
    let missing = match prefixes {
        [one] => format!("no layer `{one}`"),
        many => format!("no layers {}", listing(many.iter().copied())),
    };
    syn::Error::new_spanned(
        &attr.attr,
        format!(
            "{what}: `{}` has {missing}, only {}; the file is for another network",
            input.ident,
            names.join(", ")
        ),
    )
}
