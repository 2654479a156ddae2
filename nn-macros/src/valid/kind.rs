//! What a layer is ([`Kind`]): a built-in read from its name and size arguments, or a
//! type of the user's; and how a layer is shown in messages. Validation and `#[weights]`
//! both ask here.

use quote::ToTokens;
use syn::{PathArguments, Type};

use super::{image, keeps, ImageKind, Keeps};
use crate::size::{pretty, size_arg, Size};

/// What a layer is.
pub enum Kind {
    Linear {
        inputs: Size,
        outputs: Size,
    },
    BatchNorm {
        width: Size,
    },
    /// Any other built-in layer: one that keeps its width (see [`Keeps`]).
    Activation(Keeps),
    /// An image layer: `Conv2d`, a pool, `BatchNorm2d`, `Flatten`.
    Image(ImageKind),
    /// A type of the user's; its sizes come from its `Layer` impl.
    User,
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
        "Linear" => {
            let s = sizes(ty, "Linear", &seg.arguments, 2, "Linear<IN, OUT>")?;
            let mut s = s.into_iter();
            match (s.next(), s.next()) {
                (Some(inputs), Some(outputs)) => Ok(Kind::Linear { inputs, outputs }),
                _ => Err(syn::Error::new_spanned(
                    ty,
                    "`Linear` takes two sizes: `Linear<IN, OUT>`",
                )),
            }
        }
        "BatchNorm" => {
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
        _ if image::classify(ty, &name, &seg.arguments).is_some() => {
            match image::classify(ty, &name, &seg.arguments) {
                Some(k) => k.map(Kind::Image),
                None => Ok(Kind::User),
            }
        }
        _ => match keeps::classify(ty, &name, &seg.arguments) {
            Some(k) => k.map(Kind::Activation),
            None => Ok(Kind::User),
        },
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

/// How a layer is shown in messages: as declared, tidied.
pub fn show(kind: &Kind, ty: &Type) -> String {
    match kind {
        Kind::Linear { inputs, outputs } => {
            format!("Linear<{}, {}>", inputs.show(), outputs.show())
        }
        Kind::BatchNorm { width } => format!("BatchNorm<{}>", width.show()),
        Kind::Activation(k) => k.shown.clone(),
        Kind::Image(k) => k.show(),
        Kind::User => pretty(&ty.to_token_stream()),
    }
}
