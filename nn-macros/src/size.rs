//! The vocabulary of sizes that the parser, validation and `#[weights]` all speak: a
//! [`Size`] (a literal the macro can compare, or an expression only the compiler can), an
//! image's [`Shape`], and how both are shown in messages.
//!
//! It is a module of its own, below `ast` and `valid`, so that the parser can read
//! `#[input(C, H, W)]` without importing validation, which imports the parser.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Expr, GenericArgument, Lit, Type};

/// A size argument: a literal the macro can compare, or an expression only the compiler can.
#[derive(Clone)]
pub enum Size {
    Lit(u64),
    Expr(TokenStream),
}

impl Size {
    /// As an expression of type `usize`.
    pub fn expr(&self) -> TokenStream {
        match self {
            Size::Lit(n) => {
                let n = *n as usize;
                quote!(#n)
            }
            // A `const` item needs no braces, and would draw rustc's `unused_braces`.
            Size::Expr(ts) if syn::parse2::<syn::Path>(ts.clone()).is_ok() => ts.clone(),
            Size::Expr(ts) => quote!({ #ts }),
        }
    }

    pub fn show(&self) -> String {
        match self {
            Size::Lit(n) => n.to_string(),
            Size::Expr(ts) => pretty(ts),
        }
    }

    /// As an array length in a generic network: a literal, a `const` item or a bare
    /// generic parameter, the only sizes stable Rust takes there; `None` otherwise.
    pub fn bare(&self) -> Option<TokenStream> {
        match self {
            Size::Lit(_) => Some(self.expr()),
            Size::Expr(ts) => syn::parse2::<syn::Path>(ts.clone())
                .ok()
                .map(|p| p.to_token_stream()),
        }
    }

    /// Whether the size names one of `params` (a network's generic parameters).
    pub fn mentions(&self, params: &[String]) -> bool {
        fn walk(ts: &TokenStream, params: &[String]) -> bool {
            ts.clone().into_iter().any(|t| match t {
                proc_macro2::TokenTree::Ident(i) => params.iter().any(|p| i == p),
                proc_macro2::TokenTree::Group(g) => walk(&g.stream(), params),
                _ => false,
            })
        }
        match self {
            Size::Lit(_) => false,
            Size::Expr(ts) => walk(ts, params),
        }
    }
}

/// A size as written between a layer's angle brackets (or in `#[input(C, H, W)]`).
///
/// An expression of numbers (`28 * 28`, `{ 28 * 28 }`, `(64 + 1) / 5`) is computed here,
/// so that it is compared like a number; one that names a constant (`HIDDEN * 2`) is left
/// to the compiler.
pub fn size_arg(arg: &GenericArgument) -> syn::Result<Size> {
    match arg {
        GenericArgument::Const(e) => const_size(e),
        GenericArgument::Type(Type::Tuple(t)) => {
            let parts: Vec<String> = t
                .elems
                .iter()
                .map(|e| pretty(&e.to_token_stream()))
                .collect();
            Err(tuple_error(t, &parts))
        }
        GenericArgument::Type(Type::Path(p)) if p.qself.is_none() => {
            Ok(Size::Expr(p.to_token_stream()))
        }
        other => Err(syn::Error::new_spanned(
            other,
            "expected a size: a whole number or a `const` item",
        )),
    }
}

/// A kernel, stride or padding: one size for both sides, or PyTorch's pair
/// `(height, width)`.
#[derive(Clone)]
pub struct Pair {
    pub h: Size,
    pub w: Size,
}

impl Pair {
    /// The same size for both sides.
    pub fn square(s: Size) -> Pair {
        Pair { h: s.clone(), w: s }
    }

    /// Whether both sides are written the same.
    pub fn is_square(&self) -> bool {
        self.h.show() == self.w.show()
    }

    /// As written in a declaration: `3`, or `(10, 4)`.
    pub fn show(&self) -> String {
        if self.is_square() {
            self.h.show()
        } else {
            format!("({}, {})", self.h.show(), self.w.show())
        }
    }

    /// Whether both sides are the literal `n`.
    pub fn is(&self, n: u64) -> bool {
        matches!((&self.h, &self.w), (Size::Lit(a), Size::Lit(b)) if *a == n && *b == n)
    }
}

/// A size, or a pair of sizes `(HEIGHT, WIDTH)` where a kernel, stride or padding belongs.
pub fn size_pair(arg: &GenericArgument) -> syn::Result<Pair> {
    let two = |parts: Vec<syn::Result<Size>>, shown: Vec<String>, span: &dyn ToTokens| {
        match <[syn::Result<Size>; 2]>::try_from(parts) {
            Ok([h, w]) => Ok(Pair { h: h?, w: w? }),
            Err(_) => Err(syn::Error::new_spanned(
                span,
                format!(
                    "a pair of sizes is `(HEIGHT, WIDTH)`, two sizes; `({})` has {}",
                    shown.join(", "),
                    shown.len()
                ),
            )),
        }
    };
    match arg {
        GenericArgument::Const(e) => match unbrace(e) {
            Expr::Tuple(t) => two(
                t.elems.iter().map(const_size).collect(),
                t.elems
                    .iter()
                    .map(|e| pretty(&e.to_token_stream()))
                    .collect(),
                t,
            ),
            _ => size_arg(arg).map(Pair::square),
        },
        GenericArgument::Type(Type::Tuple(t)) => two(
            t.elems
                .iter()
                .map(|e| size_arg(&GenericArgument::Type(e.clone())))
                .collect(),
            t.elems
                .iter()
                .map(|e| pretty(&e.to_token_stream()))
                .collect(),
            t,
        ),
        _ => size_arg(arg).map(Pair::square),
    }
}

/// A size written as an expression: computed when it is made of numbers.
fn const_size(e: &Expr) -> syn::Result<Size> {
    let e = unbrace(e);
    if let Expr::Tuple(t) = e {
        let parts: Vec<String> = t
            .elems
            .iter()
            .map(|e| pretty(&e.to_token_stream()))
            .collect();
        return Err(tuple_error(t, &parts));
    }
    if let Expr::Lit(lit) = e {
        return match &lit.lit {
            Lit::Int(i) => Ok(Size::Lit(i.base10_parse()?)),
            other => Err(syn::Error::new_spanned(
                other,
                "expected a size: a whole number or a `const` item",
            )),
        };
    }
    Ok(match eval(e)? {
        Some(n) => Size::Lit(n),
        None => Size::Expr(e.to_token_stream()),
    })
}

/// The expression inside `{ expr }` and `(expr)`.
fn unbrace(e: &Expr) -> &Expr {
    match e {
        Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
            match b.block.stmts.as_slice() {
                [syn::Stmt::Expr(inner, None)] => unbrace(inner),
                _ => e,
            }
        }
        Expr::Paren(p) => unbrace(&p.expr),
        Expr::Group(g) => unbrace(&g.expr),
        _ => e,
    }
}

/// The value of an expression of whole numbers and `+ - * / %`; `None` when it names
/// anything else (the compiler computes it then).
fn eval(e: &Expr) -> syn::Result<Option<u64>> {
    use syn::BinOp::*;
    let e = unbrace(e);
    match e {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => Ok(Some(i.base10_parse()?)),
        Expr::Binary(b) => {
            let (Some(x), Some(y)) = (eval(&b.left)?, eval(&b.right)?) else {
                return Ok(None);
            };
            let shown = pretty(&e.to_token_stream());
            let (value, why) = match b.op {
                Add(_) => (x.checked_add(y), "is too large"),
                Sub(_) => (x.checked_sub(y), "is below zero"),
                Mul(_) => (x.checked_mul(y), "is too large"),
                Div(_) => (x.checked_div(y), "divides by zero"),
                Rem(_) => (x.checked_rem(y), "divides by zero"),
                _ => return Ok(None),
            };
            value.map(Some).ok_or_else(|| {
                syn::Error::new_spanned(e, format!("`{shown}` {why}; a size is a whole number"))
            })
        }
        _ => Ok(None),
    }
}

/// PyTorch's pair of sizes, `(2, 2)`, where a single size belongs.
fn tuple_error(t: impl ToTokens, parts: &[String]) -> syn::Error {
    let msg = match parts {
        [a, b] if a == b => format!("this size takes one number; write `{a}` for `({a}, {b})`"),
        _ => format!(
            "this size takes one number, not `({})`; pairs `(HEIGHT, WIDTH)` are for the kernel, \
             stride and padding of `Conv2d`, `MaxPool2d` and `AvgPool2d`, and `Conv2d`'s \
             dilation",
            parts.join(", ")
        ),
    };
    syn::Error::new_spanned(t, msg)
}

/// An image's shape, channels × height × width.
#[derive(Clone)]
pub struct Shape {
    pub c: Size,
    pub h: Size,
    pub w: Size,
    /// A sequence of `c` channels of length `w` (`#[input(C, L)]`), whose height is 1: the
    /// 1-D layers take it, the image layers do not.
    pub seq: bool,
}

impl Shape {
    /// `C × H × W`, or `C × L` for a sequence, as text.
    pub fn show(&self) -> String {
        if self.seq {
            return format!("{} × {}", self.c.show(), self.w.show());
        }
        format!("{} × {} × {}", self.c.show(), self.h.show(), self.w.show())
    }

    /// What it is, with its article: `an image`, `a sequence`.
    pub fn what(&self) -> &'static str {
        if self.seq {
            "a sequence"
        } else {
            "an image"
        }
    }

    /// The number of features, `C·H·W`.
    pub fn size(&self) -> Size {
        mul(&mul(&self.c, &self.h), &self.w)
    }

    /// How the number of features comes about: `16 × 5 × 5 = 400`.
    pub fn product(&self) -> String {
        match self.size() {
            Size::Lit(n) => format!("{} = {n}", self.show()),
            Size::Expr(_) => self.show(),
        }
    }
}

/// The product `a·b`, folded where both are literals.
pub fn mul(a: &Size, b: &Size) -> Size {
    match (a, b) {
        // Saturating: an absurd size is the compiler's to refuse, never a panic here.
        (Size::Lit(x), Size::Lit(y)) => Size::Lit(x.saturating_mul(*y)),
        _ => {
            let (x, y) = (a.expr(), b.expr());
            Size::Expr(quote!((#x) * (#y)))
        }
    }
}

/// Renders tokens as a user would write them: `Linear<784, 128>`, not `Linear < 784 , 128 >`.
pub fn pretty(ts: &TokenStream) -> String {
    let mut s = ts.to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
    ] {
        s = s.replace(from, to);
    }
    s
}
