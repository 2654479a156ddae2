//! The built-in layers that keep their width, and the constants some of them take:
//! `LeakyReLU<0.2>`, `ELU<0.5>`, `Dropout<0.1>` (a float, passed to the type as its bits),
//! `GELU<tanh>`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, GenericArgument, Lit, PathArguments, Type};

use crate::size::Size;

/// A built-in layer that keeps its width: an activation, `Softmax`, `LogSoftmax`,
/// `Identity`, `Dropout`, or `LayerNorm<N>` (which declares its width, checked like
/// `BatchNorm<N>`'s).
pub struct Keeps {
    /// The layer's type in `nn`: `LeakyReLU`, `GeluTanh`.
    pub alias: &'static str,
    /// Its constant arguments after the width, for example `{ (0.2f32).to_bits() }`.
    pub args: Vec<TokenStream>,
    /// The layer as declared, tidied: `LeakyReLU<0.2>`.
    pub shown: String,
    /// The width it declares (`LayerNorm<N>`); `None` when it takes the width of the layer
    /// before it.
    pub width: Option<Size>,
}

/// What a width-keeping built-in takes between angle brackets.
enum Arg {
    Nothing,
    /// A float constant: what it is, PyTorch's default, an example, and whether it is a
    /// probability (between 0 and 1).
    Float(&'static str, &'static str, &'static str, bool),
    /// `GELU<tanh>`: PyTorch's `approximate='tanh'`.
    Tanh,
}

/// Said when `Softmax` or `LogSoftmax` is given an argument, which is likely meant as `dim`.
const ROWS: &str = " and works over the features of each row (PyTorch's `dim=1`)";

/// The width-keeping built-ins (but `LayerNorm`, which is sized), by the name written in
/// `network!` (PyTorch's), with what each takes and a note for the error when it is given
/// a size.
const KEEPS: [(&str, Arg, &str); 14] = [
    ("ReLU", Arg::Nothing, ""),
    ("ReLU6", Arg::Nothing, ""),
    ("Hardsigmoid", Arg::Nothing, ""),
    ("Hardswish", Arg::Nothing, ""),
    ("Sigmoid", Arg::Nothing, ""),
    ("Tanh", Arg::Nothing, ""),
    ("SiLU", Arg::Nothing, ""),
    (
        "LeakyReLU",
        Arg::Float("negative slope", "0.01", "0.2", false),
        "",
    ),
    ("ELU", Arg::Float("alpha", "1.0", "0.5", false), ""),
    ("GELU", Arg::Tanh, ""),
    ("Softmax", Arg::Nothing, ROWS),
    ("LogSoftmax", Arg::Nothing, ROWS),
    ("Identity", Arg::Nothing, ""),
    (
        "Dropout",
        Arg::Float("probability of zeroing an element", "0.5", "0.1", true),
        "",
    ),
];

/// The width-keeping built-in named `name`, if there is one: its arguments checked, its
/// type's constant arguments made.
pub fn classify(ty: &Type, name: &str, args: &PathArguments) -> Option<syn::Result<Keeps>> {
    let (name, arg, note) = KEEPS.iter().find(|(n, ..)| *n == name)?;
    Some(keeps(ty, name, arg, note, args))
}

/// A width-keeping built-in named `name`, with its arguments `args` checked against `arg`.
fn keeps(
    ty: &Type,
    name: &'static str,
    arg: &Arg,
    note: &str,
    args: &PathArguments,
) -> syn::Result<Keeps> {
    let plain = |alias| Keeps {
        alias,
        args: Vec::new(),
        shown: name.to_string(),
        width: None,
    };
    let no_size =
        format!("`{name}` takes no size: it keeps the width of the layer before it{note}");
    let given: Vec<&GenericArgument> = match (arg, args) {
        (_, PathArguments::None) => return Ok(plain(name)),
        (Arg::Nothing, _) => {
            return Err(syn::Error::new_spanned(
                ty,
                format!("{no_size}; write `{name}`"),
            ))
        }
        (_, PathArguments::AngleBracketed(a)) => a.args.iter().collect(),
        (_, PathArguments::Parenthesized(p)) => {
            return Err(syn::Error::new_spanned(
                p,
                format!("`{name}` takes its argument in angle brackets, as types do"),
            ))
        }
    };
    let (what, default, example, probability) = match arg {
        Arg::Float(what, default, example, probability) => (what, default, example, probability),
        _ => {
            return match given.as_slice() {
                [GenericArgument::Type(Type::Path(p))] if p.path.is_ident("tanh") => Ok(Keeps {
                    shown: "GELU<tanh>".to_string(),
                    ..plain("GeluTanh")
                }),
                _ => Err(syn::Error::new_spanned(
                    ty,
                    "`GELU` takes `tanh` or nothing: write `GELU` for the exact GELU \
                     (PyTorch's default, `approximate='none'`) or `GELU<tanh>` for \
                     `approximate='tanh'`",
                )),
            }
        }
    };
    let usage =
        format!("write `{name}<{example}>`, or `{name}` for PyTorch's default of {default}");
    let [one] = given.as_slice() else {
        return Err(syn::Error::new_spanned(
            ty,
            format!(
                "`{name}` takes one argument, its {what}, but {} were given; {usage}",
                given.len()
            ),
        ));
    };
    let (value, text) = float_arg(one).map_err(|int| {
        let msg = if int {
            format!(
                "`{name}` takes no size (it keeps the width of the layer before it); its \
                 argument is its {what}, a number with a decimal point; {usage}"
            )
        } else {
            format!(
                "`{name}`'s {what} must be written as a number, which becomes part of the \
                 layer's type; {usage}"
            )
        };
        syn::Error::new_spanned(one, msg)
    })?;
    if !value.is_finite() {
        return Err(syn::Error::new_spanned(
            one,
            format!("`{text}` is too large for an f32; {usage}"),
        ));
    }
    if *probability && !(0.0..=1.0).contains(&value) {
        return Err(syn::Error::new_spanned(
            ty,
            format!(
                "`{name}<{text}>`: the {what} must be between 0 and 1; for example `{name}<{example}>`"
            ),
        ));
    }
    let lit = proc_macro2::Literal::f32_suffixed(value.abs());
    let sign = if value.is_sign_negative() {
        quote!(-)
    } else {
        quote!()
    };
    Ok(Keeps {
        args: vec![quote!({ (#sign #lit).to_bits() })],
        shown: format!("{name}<{text}>"),
        ..plain(name)
    })
}

/// A float argument, `0.2` or `-0.2`: its value rounded to f32 and its text. The error is
/// `true` for a whole number (a size where a float belongs), `false` for anything else.
fn float_arg(arg: &GenericArgument) -> Result<(f32, String), bool> {
    let (negative, lit) = match arg {
        GenericArgument::Const(Expr::Lit(l)) => (false, &l.lit),
        GenericArgument::Const(Expr::Unary(u)) if matches!(u.op, syn::UnOp::Neg(_)) => {
            match &*u.expr {
                Expr::Lit(l) => (true, &l.lit),
                _ => return Err(false),
            }
        }
        _ => return Err(false),
    };
    let sign = if negative { "-" } else { "" };
    match lit {
        Lit::Float(f) if matches!(f.suffix(), "" | "f32" | "f64") => {
            // Rust's parser rounds correctly, as rustc does for an `f32` literal.
            let v: f32 = f.base10_digits().parse().map_err(|_| false)?;
            Ok((
                if negative { -v } else { v },
                format!("{sign}{}", f.base10_digits()),
            ))
        }
        Lit::Int(_) => Err(true),
        _ => Err(false),
    }
}
