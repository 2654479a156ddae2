//! PyTorch's keyword arguments where a built-in takes them, after its sizes: `stride = S`,
//! `padding = P` (a size, a pair `(H, W)`, or `same`), `output_padding = OP`,
//! `dilation = D`, `groups = G` and `bias = false`, each only on the layers whose PyTorch
//! counterpart has it (`Conv2d`, `ConvTranspose2d`, `Linear`, the pools).

use syn::{Expr, GenericArgument, Lit, Type};

use super::kind::edits_at_most_one;
use crate::size::{size_arg, size_pair, Pair, Size};

/// A convolution's or pool's padding.
#[derive(Clone)]
pub enum Padding {
    /// Rows above and below, columns left and right.
    Pad(Pair),
    /// `padding = same`: the output as large as the input divided by the stride (rounded
    /// up), the odd row or column of padding at the end, as TensorFlow pads.
    Same,
    /// `padding = causal` (a `Conv1d`, as Keras's `Conv1D`): `(K − 1)·D` zeros before the
    /// sequence and none after, so that output `t` reads inputs up to `t` only.
    Causal,
}

/// A built-in's angle-bracketed arguments, split: the sizes by position, then the keywords.
pub struct Args {
    pub sizes: Vec<Size>,
    /// The kernel as written, a pair where the layer takes one (`Conv2d`, the pools).
    pub kernel: Option<Pair>,
    pub stride: Option<Pair>,
    pub padding: Option<Padding>,
    pub output_padding: Option<Size>,
    /// A pair where the layer takes one (`Conv2d`).
    pub dilation: Option<Pair>,
    pub groups: Option<Size>,
    /// `false` for `bias = false`, PyTorch's `bias=False`.
    pub bias: bool,
}

impl Args {
    /// Whether any keyword was given.
    pub fn any_keyword(&self) -> bool {
        self.stride.is_some()
            || self.padding.is_some()
            || self.output_padding.is_some()
            || self.dilation.is_some()
            || self.groups.is_some()
            || !self.bias
    }
}

/// The position of the size that may be a pair (the kernel) in layer `name`'s arguments.
fn kernel_at(name: &str) -> Option<usize> {
    match name {
        "Conv2d" => Some(2),
        "MaxPool2d" | "AvgPool2d" | "AdaptiveAvgPool2d" => Some(0),
        _ => None,
    }
}

/// The keywords layer `name` takes, as written in an example.
fn keywords(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "Conv2d" => &[
            ("stride", "S"),
            ("padding", "P"),
            ("dilation", "D"),
            ("groups", "G"),
            ("bias", "false"),
        ],
        "MaxPool2d" | "AvgPool2d" | "MaxPool1d" | "AvgPool1d" => {
            &[("stride", "S"), ("padding", "P")]
        }
        "Conv1d" => &[
            ("stride", "S"),
            ("padding", "P"),
            ("dilation", "D"),
            ("groups", "G"),
            ("bias", "false"),
        ],
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
        kernel: None,
        stride: None,
        padding: None,
        output_padding: None,
        dilation: None,
        groups: None,
        bias: true,
    };
    // Pairs where the layer takes them: `ConvTranspose2d` keeps square ones.
    let pairs = kernel_at(name).is_some();
    for arg in list {
        let (key, value) = match arg {
            GenericArgument::AssocConst(a) => (a.ident.to_string(), Value::Expr(&a.value)),
            GenericArgument::AssocType(a) => (a.ident.to_string(), Value::Type(&a.ty)),
            _ if kernel_at(name) == Some(args.sizes.len()) => {
                let k = size_pair(arg)?;
                args.sizes.push(k.h.clone());
                args.kernel = Some(k);
                continue;
            }
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
            "padding" if word(&value, "same") => {
                if name != "Conv2d" && name != "Conv1d" {
                    return Err(syn::Error::new_spanned(
                        arg,
                        format!("`{name}` takes no `padding = same`; give its padding as a size"),
                    ));
                }
                args.padding = Some(Padding::Same);
            }
            "padding" if word(&value, "causal") => {
                if name != "Conv1d" {
                    return Err(syn::Error::new_spanned(
                        arg,
                        format!(
                            "`{name}` takes no `padding = causal`; only `Conv1d` pads causally"
                        ),
                    ));
                }
                args.padding = Some(Padding::Causal);
            }
            "padding" if word(&value, "valid") => {
                args.padding = Some(Padding::Pad(Pair::square(Size::Lit(0))));
            }
            size => {
                let generic = match value {
                    Value::Expr(e) => GenericArgument::Const(e.clone()),
                    Value::Type(t) => GenericArgument::Type(t.clone()),
                };
                let pair = || {
                    if pairs {
                        size_pair(&generic)
                    } else {
                        size_arg(&generic).map(Pair::square)
                    }
                };
                match size {
                    "stride" => args.stride = Some(pair()?),
                    "padding" => args.padding = Some(Padding::Pad(pair()?)),
                    "dilation" => args.dilation = Some(pair()?),
                    "groups" => args.groups = Some(size_arg(&generic)?),
                    _ => args.output_padding = Some(size_arg(&generic)?),
                }
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

/// Whether a keyword's value is the bare word `w` (`padding = same`).
fn word(value: &Value<'_>, w: &str) -> bool {
    match value {
        Value::Type(Type::Path(p)) => p.qself.is_none() && p.path.is_ident(w),
        _ => false,
    }
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
