//! The sequence layers, whose flat widths the macro computes from their sizes:
//! `GRU<IN, H, T>` and `LSTM<IN, H, T>` (`T · IN` in, `T · H` out, or `H` with `last = true`;
//! stacked with `num_layers = L`),
//! and `Embedding<V, D>` and `Embedding<V, D, L>` (`L` indices in, `L · D` out), with
//! `padding_idx = P`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, GenericArgument, Lit, PathArguments, Type};

use crate::size::{mul, size_arg, Size};

/// The most layers a recurrent stack has: PyTorch's names `_l0` to `_l7`.
const MAX_LAYERS: u64 = 8;

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
    /// Its sizes as declared, and its keyword argument as written after them
    /// (`, last = true`), for the fix of a mismatch.
    sizes: Vec<Size>,
    keyword: String,
    /// `num_layers`, as declared.
    layers: Option<Size>,
}

impl Sequence {
    /// Whether the layer reads indices (an `Embedding`), which only the network's input
    /// holds.
    pub fn takes_indices(&self) -> bool {
        self.alias == "Embedding"
    }

    /// The floats per sample of one part of the initial state (`h0`, or an LSTM's `c0`): every
    /// layer's hidden size, `num_layers · H`, and how it reads (`2 · 8`, or `8`); `None` for an
    /// `Embedding`, which has no state.
    pub fn state_width(&self) -> Option<(Size, String)> {
        if self.takes_indices() {
            return None;
        }
        let hidden = &self.sizes[1];
        Some(match &self.layers {
            Some(l) if !matches!(l, Size::Lit(1)) => (
                mul(l, hidden),
                format!("`num_layers · H`, {} · {}", l.show(), hidden.show()),
            ),
            _ => (hidden.clone(), format!("`H`, {}", hidden.show())),
        })
    }

    /// Why the layer does not read `l` steps of `c` features (what `Transpose` made of a
    /// sequence before it), if it does not: its input per step and steps must be those.
    pub fn steps_mismatch(&self, shown: &str, prev: &str, l: &Size, c: &Size) -> Option<String> {
        if self.takes_indices() {
            return None;
        }
        let (n_in, steps) = (&self.sizes[0], &self.sizes[2]);
        let differs = |a: &Size, b: &Size| matches!((a, b), (Size::Lit(a), Size::Lit(b)) if a != b);
        if !differs(n_in, c) && !differs(steps, l) {
            return None;
        }
        let hidden = self.sizes[1].show();
        Some(format!(
            "`{shown}` reads {} steps of {} features, but `{prev}` before it gives {} steps of \
             {} features (the sequence's length and channels); change it to `{}<{}, {hidden}, \
             {}{}>`",
            steps.show(),
            n_in.show(),
            l.show(),
            c.show(),
            self.alias,
            c.show(),
            l.show(),
            self.keyword
        ))
    }

    /// The fix when `have` features flow in where the layer takes others: the input size
    /// that fits them (`GRU<IN, ..>` over its `T` steps, `Embedding<.., L>`), if one does.
    pub fn fix(&self, have: u64) -> Option<String> {
        let shown = |sizes: Vec<String>| {
            format!(
                "; change it to `{}<{}{}>`",
                self.alias,
                sizes.join(", "),
                self.keyword
            )
        };
        let mut sizes: Vec<String> = self.sizes.iter().map(Size::show).collect();
        if self.takes_indices() {
            sizes.truncate(2);
            sizes.push(have.to_string());
            return Some(shown(sizes));
        }
        match &self.sizes[2] {
            Size::Lit(t) if have.is_multiple_of(*t) => {
                sizes[0] = (have / t).to_string();
                Some(shown(sizes))
            }
            Size::Lit(t) => Some(format!(
                "; {have} features are not {t} steps of equal width; a recurrent layer takes                  `T · IN` features, `T` steps of `IN`"
            )),
            Size::Expr(_) => None,
        }
    }
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
        _ => format!(
            "`{alias}<IN, H, T>`, optionally with `last = true` and `num_layers = L` (1 to {MAX_LAYERS})"
        ),
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
    let (mut last, mut padding, mut layers) = (None, None, None);
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
            GenericArgument::AssocConst(a) if a.ident == "num_layers" && alias != "Embedding" => {
                let n = size_arg(&GenericArgument::Const(a.value.clone()))?;
                if let Size::Lit(n) = n {
                    if n == 0 || n > MAX_LAYERS {
                        return Err(syn::Error::new_spanned(
                            &a.value,
                            format!(
                                "`{alias}` stacks 1 to {MAX_LAYERS} layers, not {n}; change it to \
                                 `num_layers = {}`",
                                n.clamp(1, MAX_LAYERS)
                            ),
                        ));
                    }
                }
                layers = Some(n);
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
        let keyword = match &padding {
            Some(p) => format!(", padding_idx = {}", p.show()),
            None => String::new(),
        };
        let shown = format!("Embedding<{}{keyword}", shown_sizes.join(", "));
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
            sizes,
            keyword,
            layers: None,
        });
    }
    let last = last.unwrap_or(false);
    let mut keyword = if last { ", last = true" } else { "" }.to_string();
    let above = match &layers {
        None | Some(Size::Lit(1)) => quote!(0),
        Some(n) => {
            keyword += &format!(", num_layers = {}", n.show());
            let n = n.expr();
            quote!({ #n - 1 })
        }
    };
    let (n_in, hidden, steps) = (&sizes[0], &sizes[1], &sizes[2]);
    Ok(Sequence {
        alias,
        args: vec![
            exprs[0].clone(),
            exprs[1].clone(),
            exprs[2].clone(),
            quote!(#last),
            above,
        ],
        inputs: mul(steps, n_in),
        outputs: if last {
            hidden.clone()
        } else {
            mul(steps, hidden)
        },
        shown: format!("{alias}<{}{keyword}>", shown_sizes.join(", ")),
        keyword,
        sizes,
        layers,
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
