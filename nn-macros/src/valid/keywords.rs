//! PyTorch's keyword arguments where a built-in takes them, after its sizes: `stride = S`,
//! `padding = P` and `output_padding = OP` (sizes) and `bias = false`, each only on the
//! layers whose PyTorch counterpart has it (`Conv2d`, `ConvTranspose2d`, `Linear`).

use syn::{Expr, GenericArgument, Lit, Type};

use super::kind::edits_at_most_one;
use crate::size::{size_arg, Size};

/// A built-in's angle-bracketed arguments, split: the sizes by position, then the keywords.
pub struct Args {
    pub sizes: Vec<Size>,
    pub stride: Option<Size>,
    pub padding: Option<Size>,
    pub output_padding: Option<Size>,
    /// `false` for `bias = false`, PyTorch's `bias=False`.
    pub bias: bool,
}

impl Args {
    /// Whether any keyword was given.
    pub fn any_keyword(&self) -> bool {
        self.stride.is_some()
            || self.padding.is_some()
            || self.output_padding.is_some()
            || !self.bias
    }
}

/// The keywords layer `name` takes, as written in an example.
fn keywords(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "Conv2d" => &[("stride", "S"), ("padding", "P"), ("bias", "false")],
        "ConvTranspose2d" => &[
            ("stride", "S"),
            ("padding", "P"),
            ("output_padding", "OP"),
            ("bias", "false"),
        ],
        "Linear" => &[("bias", "false")],
        _ => &[],
    }
}

/// The keywords of `name` as the end of a sentence: "optionally with `stride = S`,
/// `padding = P` and `bias = false`"; empty for a layer that takes none.
fn optional(name: &str) -> String {
    let shown: Vec<String> = keywords(name)
        .iter()
        .map(|(k, v)| format!("`{k} = {v}`"))
        .collect();
    match shown.split_last() {
        None => String::new(),
        Some((last, [])) => format!(", optionally with {last}"),
        Some((last, rest)) => format!(", optionally with {} and {last}", rest.join(", ")),
    }
}

/// Splits the arguments `list` of layer `name` (written `usage`) into its sizes and the
/// keywords it takes, refusing any other keyword and a `bias` that is not `true` or `false`.
pub fn split(name: &str, usage: &str, list: &[&GenericArgument]) -> syn::Result<Args> {
    let mut args = Args {
        sizes: Vec::new(),
        stride: None,
        padding: None,
        output_padding: None,
        bias: true,
    };
    for arg in list {
        let (key, value) = match arg {
            GenericArgument::AssocConst(a) => (a.ident.to_string(), Value::Expr(&a.value)),
            GenericArgument::AssocType(a) => (a.ident.to_string(), Value::Type(&a.ty)),
            _ => {
                args.sizes.push(size_arg(arg)?);
                continue;
            }
        };
        let takes = keywords(name).iter().any(|(k, _)| *k == key);
        if !takes {
            return Err(unknown(arg, name, usage, &key));
        }
        match key.as_str() {
            "bias" => args.bias = flag(arg, &value)?,
            size => {
                let value = match value {
                    Value::Expr(e) => size_arg(&GenericArgument::Const(e.clone()))?,
                    Value::Type(t) => size_arg(&GenericArgument::Type(t.clone()))?,
                };
                let slot = match size {
                    "stride" => &mut args.stride,
                    "padding" => &mut args.padding,
                    _ => &mut args.output_padding,
                };
                *slot = Some(value);
            }
        }
    }
    Ok(args)
}

/// A keyword's value as written: an expression (`2`, `false`) or a type (a const item).
enum Value<'a> {
    Expr(&'a Expr),
    Type(&'a Type),
}

/// The value of `bias = ...`: `true` or `false`, written out.
fn flag(arg: &GenericArgument, value: &Value<'_>) -> syn::Result<bool> {
    if let Value::Expr(Expr::Lit(lit)) = value {
        if let Lit::Bool(b) = &lit.lit {
            return Ok(b.value);
        }
    }
    let written = match value {
        Value::Expr(e) => crate::size::pretty(&quote::ToTokens::to_token_stream(e)),
        Value::Type(t) => crate::size::pretty(&quote::ToTokens::to_token_stream(t)),
    };
    let msg = match written.as_str() {
        "False" | "True" => format!(
            "`bias` takes `true` or `false`; PyTorch's `bias={written}` is written `bias = {}`",
            written.to_lowercase()
        ),
        _ => format!(
            "`bias` takes `true` or `false`, not `{written}`; write `bias = false` for a layer \
             without bias (PyTorch's `bias=False`)"
        ),
    };
    Err(syn::Error::new_spanned(arg, msg))
}

/// The error for keyword `key`, which layer `name` does not take: a likely misspelling of one
/// it does take is answered with that one.
fn unknown(arg: &GenericArgument, name: &str, usage: &str, key: &str) -> syn::Error {
    let near = keywords(name)
        .iter()
        .find(|(k, _)| edits_at_most_one(&key.to_lowercase(), k));
    let msg = match near {
        Some((k, v)) => format!("`{name}` takes no `{key}`; did you mean `{k} = {v}`?"),
        None => format!(
            "`{name}` takes no `{key}`; write `{usage}`{}",
            optional(name)
        ),
    };
    syn::Error::new_spanned(arg, msg)
}
