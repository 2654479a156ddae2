//! What a layer is ([`Kind`]): a built-in read from its name and size arguments, or a
//! type of the user's; and how a layer is shown in messages. Validation and `#[weights]`
//! both ask here.

use quote::ToTokens;
use syn::{PathArguments, Type};

use super::{image, keeps, keywords, sequence, ImageKind, Keeps, Sequence};
use crate::ast::LayerDecl;
use crate::size::{pretty, size_arg, Size};

/// What a layer is.
pub enum Kind {
    Linear {
        inputs: Size,
        outputs: Size,
        /// `false` for `bias = false`, PyTorch's `bias=False`.
        bias: bool,
    },
    BatchNorm {
        width: Size,
    },
    /// Any other built-in layer: one that keeps its width (see [`Keeps`]).
    Activation(Keeps),
    /// An image layer: a convolution, a pool, `BatchNorm2d`, `Upsample`, `Flatten`.
    Image(ImageKind),
    /// A sequence layer: `GRU`, `LSTM`, `Embedding`.
    Sequence(Sequence),
    /// A type of the user's; its sizes come from its `Layer` impl.
    User,
}

impl Kind {
    /// The input width the layer states (`Linear<784, ..>`, `BatchNorm<N>`,
    /// `LayerNorm<N>`), if it states one.
    pub fn stated_input(&self) -> Option<&Size> {
        match self {
            Kind::Linear { inputs, .. } => Some(inputs),
            Kind::Sequence(s) => Some(&s.inputs),
            Kind::BatchNorm { width }
            | Kind::Activation(Keeps {
                width: Some(width), ..
            }) => Some(width),
            _ => None,
        }
    }

    /// The output width the layer states (`Linear<.., 10>`, `BatchNorm<N>`,
    /// `LayerNorm<N>`), if it states one.
    pub fn stated_output(&self) -> Option<&Size> {
        match self {
            Kind::Linear { outputs, .. } => Some(outputs),
            Kind::Sequence(s) => Some(&s.outputs),
            _ => self.stated_input(),
        }
    }
}

/// The input width of the first layer of `decls` and the output width of the last
/// sized one, where the declaration states them: all a stand-in for a refused network
/// knows of its widths. A layer written as PyTorch writes it, or an inline block, states
/// none.
pub fn stated_widths(decls: &[LayerDecl]) -> (Option<Size>, Option<Size>) {
    let plain = |l: &LayerDecl| {
        if l.pytorch.is_some() || l.inline.is_some() {
            None
        } else {
            classify(&l.ty).ok()
        }
    };
    let first = decls
        .first()
        .and_then(plain)
        .and_then(|k| k.stated_input().cloned());
    let mut last = None;
    for l in decls.iter().rev() {
        match plain(l) {
            // Keeps the width before it.
            Some(Kind::Activation(Keeps { width: None, .. })) => continue,
            Some(k) => last = k.stated_output().cloned(),
            None => {}
        }
        break;
    }
    (first, last)
}

/// What a layer is: a built-in, its size arguments read and checked, or a type of the
/// user's.
pub fn classify(ty: &Type) -> syn::Result<Kind> {
    let Type::Path(p) = ty else {
        return Ok(Kind::User);
    };
    if p.qself.is_some() || p.path.leading_colon.is_some() || p.path.segments.len() != 1 {
        return Ok(Kind::User);
    }
    let seg = &p.path.segments[0];
    let name = seg.ident.to_string();
    match name.as_str() {
        "Linear" => linear(ty, &seg.arguments),
        // PyTorch's name for it, accepted as written.
        "BatchNorm" | "BatchNorm1d" => {
            let s = sizes(ty, "BatchNorm", &seg.arguments, 1, "BatchNorm<N>")?;
            match s.into_iter().next() {
                Some(width) => Ok(Kind::BatchNorm { width }),
                None => Err(syn::Error::new_spanned(
                    ty,
                    "`BatchNorm` takes one size: `BatchNorm<N>`",
                )),
            }
        }
        "LayerNorm" => {
            let s = sizes(ty, "LayerNorm", &seg.arguments, 1, "LayerNorm<N>")?;
            match s.into_iter().next() {
                Some(width) => Ok(Kind::Activation(Keeps {
                    alias: "LayerNorm",
                    args: Vec::new(),
                    shown: format!("LayerNorm<{}>", width.show()),
                    width: Some(width),
                })),
                None => Err(syn::Error::new_spanned(
                    ty,
                    "`LayerNorm` takes one size: `LayerNorm<N>`",
                )),
            }
        }
        _ if sequence::classify(ty, &name, &seg.arguments).is_some() => {
            match sequence::classify(ty, &name, &seg.arguments) {
                Some(k) => k.map(Kind::Sequence),
                None => Ok(Kind::User),
            }
        }
        _ if image::classify(ty, &name, &seg.arguments).is_some() => {
            match image::classify(ty, &name, &seg.arguments) {
                Some(k) => k.map(Kind::Image),
                None => Ok(Kind::User),
            }
        }
        _ => match keeps::classify(ty, &name, &seg.arguments) {
            Some(k) => k.map(Kind::Activation),
            None => match nearest(&name) {
                Some(ours) => Err(syn::Error::new_spanned(
                    &seg.ident,
                    format!(
                        "`{name}` is not a layer of `nn`; did you mean `{ours}`? \
                         (a layer of your own named `{name}` is written `self::{name}`)"
                    ),
                )),
                None => Ok(Kind::User),
            },
        },
    }
}

/// `Linear<IN, OUT>`, optionally with `bias = false`.
fn linear(ty: &Type, args: &PathArguments) -> syn::Result<Kind> {
    let usage = "Linear<IN, OUT>";
    let PathArguments::AngleBracketed(a) = args else {
        // No sizes, or in parentheses: the general answer.
        sizes(ty, "Linear", args, 2, usage)?;
        return Err(syn::Error::new_spanned(
            ty,
            "`Linear` takes two sizes: `Linear<IN, OUT>`",
        ));
    };
    let list: Vec<_> = a.args.iter().collect();
    let args = keywords::split("Linear", usage, &list)?;
    let given = args.sizes.len();
    let mut s = args.sizes.into_iter();
    match (s.next(), s.next(), given) {
        (Some(inputs), Some(outputs), 2) => Ok(Kind::Linear {
            inputs,
            outputs,
            bias: args.bias,
        }),
        _ => Err(syn::Error::new_spanned(
            a,
            format!(
                "`Linear` takes 2 sizes, `{usage}`, but {given} {} given",
                if given == 1 { "was" } else { "were" }
            ),
        )),
    }
}

/// Every built-in layer's name, as `network!` reads it.
const BUILT_INS: [&str; 36] = [
    "Linear",
    "AdaptiveAvgPool2d",
    "BatchNorm",
    "LayerNorm",
    "Conv2d",
    "ConvTranspose2d",
    "MaxPool2d",
    "AvgPool2d",
    "BatchNorm2d",
    "Flatten",
    "Upsample",
    "GRU",
    "LSTM",
    "Embedding",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "SiLU",
    "ReLU6",
    "Hardsigmoid",
    "Hardswish",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softmax",
    "LogSoftmax",
    "Identity",
    "Dropout",
    "Sequential",
    "Residual",
    "BatchNorm1d",
    "Conv1d",
    "MaxPool1d",
    "AvgPool1d",
    "AdaptiveAvgPool1d",
    "Transpose",
];

/// The built-in layer that `name` misspells, if it surely does: the same letters in
/// another case (`Relu`, `Conv2D`), or, for names of six letters or more, one letter
/// added, dropped, changed or swapped with its neighbour (`Linaer`, `Sigmod`). Names that
/// differ in a digit (`Conv3d`, `MaxPool3d`) or short ones (`SELU`, `PReLU`, `GLU`) are other
/// PyTorch layers, which a user may well have written: they are left to the compiler.
fn nearest(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    BUILT_INS
        .iter()
        .copied()
        .find(|b| {
            let b_lower = b.to_lowercase();
            if b_lower == lower {
                return true;
            }
            name.chars().count() >= 6
                && b.len() >= 6
                && digits(b) == digits(name)
                && edits_at_most_one(&lower, &b_lower)
        })
        .map(|b| if b == "BatchNorm1d" { "BatchNorm" } else { b })
}

/// Whether `a` becomes `b` by one insertion, deletion, substitution or swap of neighbours.
pub(super) fn edits_at_most_one(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let start = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[start..], &b[start..]);
    let end = ra
        .iter()
        .rev()
        .zip(rb.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (
        &ra[..ra.len() - end.min(ra.len())],
        &rb[..rb.len() - end.min(rb.len())],
    );
    match (ma.len(), mb.len()) {
        (0, 0) | (1, 0) | (0, 1) | (1, 1) => true,
        (2, 2) => ma[0] == mb[1] && ma[1] == mb[0],
        _ => false,
    }
}

/// The size arguments of a built-in layer named `name`, which must number `want`.
fn sizes(
    ty: &Type,
    name: &str,
    args: &PathArguments,
    want: usize,
    usage: &str,
) -> syn::Result<Vec<Size>> {
    let example = format!(
        "`{}`",
        usage
            .replace("<IN, OUT>", "<784, 128>")
            .replace("<N>", "<128>")
    );
    match args {
        PathArguments::None => Err(syn::Error::new_spanned(
            ty,
            format!(
                "`{name}` needs its size{}: write `{usage}`, for example {example}",
                if want == 1 { "" } else { "s" }
            ),
        )),
        PathArguments::AngleBracketed(a) if a.args.len() == want => {
            a.args.iter().map(size_arg).collect()
        }
        PathArguments::AngleBracketed(a) => Err(syn::Error::new_spanned(
            a,
            format!(
                "`{name}` takes {} size{}, `{usage}`, but {} {} given",
                want,
                if want == 1 { "" } else { "s" },
                a.args.len(),
                if a.args.len() == 1 { "was" } else { "were" }
            ),
        )),
        PathArguments::Parenthesized(p) => Err(syn::Error::new_spanned(
            p,
            format!("`{name}` takes its sizes in angle brackets: `{usage}`"),
        )),
    }
}

/// `Linear<IN, OUT>` as declared, with `bias = false` where it was given.
pub fn linear_shown(inputs: &str, outputs: &str, bias: bool) -> String {
    let no_bias = if bias { "" } else { ", bias = false" };
    format!("Linear<{inputs}, {outputs}{no_bias}>")
}

/// How a layer is shown in messages: as declared, tidied.
pub fn show(kind: &Kind, ty: &Type) -> String {
    match kind {
        Kind::Linear {
            inputs,
            outputs,
            bias,
        } => linear_shown(&inputs.show(), &outputs.show(), *bias),
        Kind::BatchNorm { width } => format!("BatchNorm<{}>", width.show()),
        Kind::Activation(k) => k.shown.clone(),
        Kind::Image(k) => k.show(),
        Kind::Sequence(s) => s.shown.clone(),
        Kind::User => pretty(&ty.to_token_stream()),
    }
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn misspellings_of_built_ins_are_answered() {
        for (typo, ours) in [
            ("Linaer", "Linear"),
            ("Relu", "ReLU"),
            ("RELU", "ReLU"),
            ("Conv2D", "Conv2d"),
            ("Sigmod", "Sigmoid"),
            ("Dropuot", "Dropout"),
            ("Batchnorm1d", "BatchNorm"),
            ("MaxPool2D", "MaxPool2d"),
            ("Softmx", "Softmax"),
            ("Conv1D", "Conv1d"),
        ] {
            assert_eq!(nearest(typo), Some(ours), "{typo}");
        }
    }

    #[test]
    fn other_pytorch_layers_are_left_to_the_compiler() {
        for name in [
            "Conv3d",
            "Hardtanh",
            "SELU",
            "PReLU",
            "GLU",
            "CELU",
            "Bilinear",
            "Softmin",
            "MaxPool3d",
            "BatchNorm3d",
            "GroupNorm",
            "Dense",
            "RNN",
        ] {
            assert_eq!(nearest(name), None, "{name}");
        }
    }
}
