//! A forward written as code after a network's fields, and the objective written from its
//! outputs:
//!
//! ```text
//! fn forward(x: Features<784>, eps: Features<20>) -> (recon, mu, logvar) { ... }
//! fn loss(target: Features<784>) { binary_cross_entropy(recon, target, reduction = sum) + ... }
//! ```
//!
//! Inputs are typed `Features<N>`, `Image<C, H, W>` or `Sequence<C, L>`; the outputs are named after the
//! arrow (or called `output` where the body's last expression is one value). A target of
//! the objective is `Features<N>` (rows of numbers) or `Labels` (a class index per row).

use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Ident, Token, Type};

use super::size_exprs;
use crate::size::{size_arg, Shape, Size};

/// The declared shape of an input or a target.
#[derive(Clone)]
pub enum Declared {
    /// `Features<N>`: `N` numbers per row.
    Features(Size),
    /// `Image<C, H, W>`.
    Image(Shape),
    /// `Labels`: one class index per row (a target only).
    Labels,
}

/// A parameter: its name and declared shape.
pub struct Param {
    pub name: Ident,
    pub declared: Declared,
}

/// `fn forward(inputs) -> outputs { body }`.
pub struct Forward {
    pub sig: proc_macro2::Span,
    pub inputs: Vec<Param>,
    /// The output names after the arrow; `None` without an arrow.
    pub outputs: Option<Vec<Ident>>,
    pub body: syn::Block,
}

/// `fn NAME(targets) { body }`: the training objective, a method `NAME` of the network.
pub struct Objective {
    pub name: Ident,
    pub targets: Vec<Param>,
    pub body: syn::Block,
}

const TYPES: &str = "an input is `Features<N>` (N numbers per sample) or `Image<C, H, W>`, \
                     for example `fn forward(x: Features<784>)`";
const TARGETS: &str = "a target is `Features<N>` or `Image<C, H, W>` (numbers per sample) or \
                       `Labels` (a class index per sample), for example `fn loss(target: Features<784>)`";

/// The shape a parameter's type declares.
fn declared(ty: &Type, target: bool) -> syn::Result<Declared> {
    let usage = if target { TARGETS } else { TYPES };
    let ty: Type = syn::parse2(size_exprs(quote::quote!(#ty)))?;
    let Type::Path(p) = &ty else {
        return Err(syn::Error::new_spanned(ty, usage));
    };
    let Some(seg) = p.path.segments.last() else {
        return Err(syn::Error::new_spanned(&ty, usage));
    };
    let args: Vec<&syn::GenericArgument> = match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) => a.args.iter().collect(),
        syn::PathArguments::None => Vec::new(),
        _ => return Err(syn::Error::new_spanned(&ty, usage)),
    };
    match (seg.ident.to_string().as_str(), args.as_slice()) {
        ("Features", [n]) => Ok(Declared::Features(size_arg(n)?)),
        ("Image", [c, h, w]) => Ok(Declared::Image(Shape {
            c: size_arg(c)?,
            h: size_arg(h)?,
            w: size_arg(w)?,
            seq: false,
        })),
        ("Sequence", [c, l]) => Ok(Declared::Image(Shape {
            c: size_arg(c)?,
            h: Size::Lit(1),
            w: size_arg(l)?,
            seq: true,
        })),
        ("Labels", []) if target => Ok(Declared::Labels),
        _ => Err(syn::Error::new_spanned(&ty, usage)),
    }
}

fn params(f: &syn::ItemFn, target: bool) -> syn::Result<Vec<Param>> {
    let mut out = Vec::new();
    for arg in &f.sig.inputs {
        let syn::FnArg::Typed(pt) = arg else {
            return Err(syn::Error::new_spanned(
                arg,
                "the layers are reached as `self.name(..)` in the body; the parameters are the inputs",
            ));
        };
        let syn::Pat::Ident(name) = &*pt.pat else {
            return Err(syn::Error::new_spanned(&pt.pat, "expected a name"));
        };
        out.push(Param {
            name: name.ident.clone(),
            declared: declared(&pt.ty, target)?,
        });
    }
    Ok(out)
}

/// The output names of `-> (a, b)` or `-> a`.
fn outputs(ret: &syn::ReturnType) -> syn::Result<Option<Vec<Ident>>> {
    let syn::ReturnType::Type(_, ty) = ret else {
        return Ok(None);
    };
    let usage = "name the outputs after the arrow, `-> (recon, mu, logvar)` or `-> logits`; \
                 their shapes are computed";
    let name = |t: &Type| match t {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .get_ident()
            .cloned()
            .ok_or_else(|| syn::Error::new_spanned(t, usage)),
        _ => Err(syn::Error::new_spanned(t, usage)),
    };
    match &**ty {
        Type::Tuple(t) => t
            .elems
            .iter()
            .map(name)
            .collect::<syn::Result<_>>()
            .map(Some),
        other => Ok(Some(vec![name(other)?])),
    }
}

/// The `fn forward` and optional objective after the fields, if any.
pub fn parse(input: ParseStream) -> syn::Result<(Option<Forward>, Option<Objective>)> {
    let mut forward = None;
    let mut objective = None;
    while input.peek(Token![fn]) {
        let f: syn::ItemFn = input.parse()?;
        if f.sig.ident == "forward" {
            if forward.is_some() {
                return Err(syn::Error::new_spanned(
                    &f.sig.ident,
                    "only one `fn forward`",
                ));
            }
            forward = Some(Forward {
                sig: f.sig.span(),
                inputs: params(&f, false)?,
                outputs: outputs(&f.sig.output)?,
                body: (*f.block).clone(),
            });
        } else {
            if objective.is_some() || forward.is_none() {
                return Err(syn::Error::new_spanned(
                    &f.sig.ident,
                    "after the fields come `fn forward(..)` and, optionally, one objective \
                     written from its outputs, `fn loss(target: Features<N>) { .. }`",
                ));
            }
            if let syn::ReturnType::Type(..) = f.sig.output {
                return Err(syn::Error::new_spanned(
                    &f.sig.output,
                    "an objective returns the loss, a number; write no return type",
                ));
            }
            objective = Some(Objective {
                name: f.sig.ident.clone(),
                targets: params(&f, true)?,
                body: (*f.block).clone(),
            });
        }
    }
    Ok((forward, objective))
}
