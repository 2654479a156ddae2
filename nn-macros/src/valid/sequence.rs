//! The sequence layers, whose flat widths the macro computes from their sizes:
//! `GRU<IN, H, T>` and `LSTM<IN, H, T>` (`T · IN` in, `T · H` out, or `H` with `last = true`),
//! and `Embedding<V, D>` and `Embedding<V, D, L>` (`L` indices in, `L · D` out), with
//! `padding_idx = P`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, GenericArgument, Lit, PathArguments, Type};

use crate::size::{mul, size_arg, Size};

/// A sequence layer as declared.
pub struct Sequence {
    /// The layer's type in `nn`: `GRU`, `LSTM`, `Embedding`.
    pub alias: &'static str,
    /// The type's arguments, in its order.
    pub args: Vec<TokenStream>,
    /// Input and output features per sample.
    pub inputs: Size,
    pub outputs: Size,
    /// The layer as declared, tidied: `GRU<28, 64, 28, last = true>`.
    pub shown: String,
}

/// The sequence layer named `name`, if it is one.
pub fn classify(ty: &Type, name: &str, args: &PathArguments) -> Option<syn::Result<Sequence>> {
    let alias = match name {
        "GRU" => "GRU",
        "LSTM" => "LSTM",
        "Embedding" => "Embedding",
        _ => return None,
    };
    Some(parse(ty, alias, args))
}

fn parse(ty: &Type, alias: &'static str, args: &PathArguments) -> syn::Result<Sequence> {
    let usage = match alias {
        "Embedding" => "`Embedding<V, D>` or `Embedding<V, D, L>`, optionally with \
                        `padding_idx = P`"
            .to_string(),
        _ => format!("`{alias}<IN, H, T>`, optionally with `last = true`"),
    };
    let list: Vec<&GenericArgument> = match args {
        PathArguments::AngleBracketed(a) => a.args.iter().collect(),
        PathArguments::None => {
            return Err(syn::Error::new_spanned(
                ty,
                format!("`{alias}` needs its sizes: write {usage}"),
            ))
        }
        PathArguments::Parenthesized(p) => {
            return Err(syn::Error::new_spanned(
                p,
                format!("`{alias}` takes its sizes in angle brackets: {usage}"),
            ))
        }
    };
    let mut sizes = Vec::new();
    let (mut last, mut padding) = (None, None);
    for arg in list {
        match arg {
            GenericArgument::AssocConst(a) if a.ident == "last" && alias != "Embedding" => {
                last = Some(bool_arg(&a.value).ok_or_else(|| {
                    syn::Error::new_spanned(
                        &a.value,
                        format!("`last` is `true` or `false`; write {usage}"),
                    )
                })?);
            }
            GenericArgument::AssocConst(a) if a.ident == "padding_idx" && alias == "Embedding" => {
                padding = Some(size_arg(&GenericArgument::Const(a.value.clone()))?);
            }
            GenericArgument::AssocConst(syn::AssocConst { ident, .. })
            | GenericArgument::AssocType(syn::AssocType { ident, .. }) => {
                return Err(syn::Error::new_spanned(
                    arg,
                    format!("`{alias}` takes no `{ident}`; write {usage}"),
                ))
            }
            _ => sizes.push(size_arg(arg)?),
        }
    }
    let counts = if alias == "Embedding" { 2..=3 } else { 3..=3 };
    if !counts.contains(&sizes.len()) {
        return Err(syn::Error::new_spanned(
            ty,
            format!(
                "`{alias}` takes {} sizes, but {} {} given; write {usage}",
                if alias == "Embedding" { "2 or 3" } else { "3" },
                sizes.len(),
                if sizes.len() == 1 { "was" } else { "were" }
            ),
        ));
    }
    if sizes.iter().any(|s| matches!(s, Size::Lit(0))) {
        return Err(syn::Error::new_spanned(
            ty,
            format!("`{alias}` has a size of 0; every size must be at least 1"),
        ));
    }
    let shown_sizes: Vec<String> = sizes.iter().map(Size::show).collect();
    let exprs: Vec<TokenStream> = sizes.iter().map(Size::expr).collect();
    if alias == "Embedding" {
        let length = sizes.get(2).cloned().unwrap_or(Size::Lit(1));
        if let (Some(Size::Lit(p)), Size::Lit(v)) = (&padding, &sizes[0]) {
            if p >= v {
                return Err(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`padding_idx = {p}` is not a row of `Embedding<{v}, ..>`, whose rows \
                         are 0 to {}",
                        v - 1
                    ),
                ));
            }
        }
        let mut shown = format!("Embedding<{}", shown_sizes.join(", "));
        if let Some(p) = &padding {
            shown += &format!(", padding_idx = {}", p.show());
        }
        let (v, d, l) = (&exprs[0], &exprs[1], length.expr());
        let pad = match &padding {
            Some(p) => p.expr(),
            None => quote!({ ::nn::NO_PADDING }),
        };
        return Ok(Sequence {
            alias,
            args: vec![v.clone(), d.clone(), l, pad],
            inputs: length.clone(),
            outputs: mul(&length, &sizes[1]),
            shown: shown + ">",
        });
    }
    let last = last.unwrap_or(false);
    let (n_in, hidden, steps) = (&sizes[0], &sizes[1], &sizes[2]);
    Ok(Sequence {
        alias,
        args: vec![
            exprs[0].clone(),
            exprs[1].clone(),
            exprs[2].clone(),
            quote!(#last),
        ],
        inputs: mul(steps, n_in),
        outputs: if last {
            hidden.clone()
        } else {
            mul(steps, hidden)
        },
        shown: format!(
            "{alias}<{}{}>",
            shown_sizes.join(", "),
            if last { ", last = true" } else { "" }
        ),
    })
}

/// `true` or `false`.
fn bool_arg(e: &Expr) -> Option<bool> {
    match e {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        _ => None,
    }
}
