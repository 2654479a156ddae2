//! A forward's expressions: names, numbers, arithmetic between values and numbers, and
//! the shape check of an operation between two values.
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, UnOp};

use super::{Body, Operand, Val, OPERATIONS};
use crate::graph::{Node, Op};
use crate::size::{pretty, Size};
use crate::valid::Produced;

impl<'a> Body<'a> {
    /// An expression's operand; `None` after a mistake (reported).
    pub(super) fn expr(&mut self, e: &Expr) -> Option<Operand> {
        match e {
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Lit(l) => match crate::valid::objective::number(e) {
                Some(n) => Some(Operand::Number(n)),
                None => {
                    self.error(l, "expected a number or a value");
                    None
                }
            },
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let name = p
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                match self.env.get(&name) {
                    Some(&usize::MAX) => None,
                    Some(&v) => Some(Operand::Value(v)),
                    // A constant of the user's, in capitals.
                    None if crate::valid::objective::is_constant(&name) => {
                        crate::valid::objective::number(e).map(Operand::Number)
                    }
                    None => {
                        let mut known: Vec<&String> =
                            self.env.keys().filter(|k| *k != "_").collect();
                        known.sort();
                        let known: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                        self.error(
                            p,
                            format!(
                                "`{name}` is not a value of this forward; its values so far are {}",
                                known.join(", ")
                            ),
                        );
                        None
                    }
                }
            }
            Expr::MethodCall(m) if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self")) => {
                self.call_field(m)
            }
            Expr::Call(c) => self.call_function(c),
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => match self.expr(&u.expr)? {
                Operand::Number(n) => Some(Operand::Number(quote!((-#n)))),
                Operand::Value(a) => {
                    let shown = pretty(&e.to_token_stream());
                    Some(Operand::Value(self.affine(
                        a,
                        quote!(-1.0f32),
                        quote!(0.0f32),
                        shown,
                        e.span(),
                    )))
                }
                Operand::Values(_) => self.not_values(&u.expr),
            },
            Expr::Binary(b) => self.binary(e, b),
            other => {
                self.error(
                    other,
                    format!("not an operation of a forward; {OPERATIONS}"),
                );
                None
            }
        }
    }

    pub(super) fn not_values(&mut self, e: &Expr) -> Option<Operand> {
        self.error(
            e,
            "`chunk` makes several values: name them, `let (a, b) = chunk(h, 2);`",
        );
        None
    }

    pub(super) fn affine(
        &mut self,
        a: usize,
        k: TokenStream,
        c: TokenStream,
        shown: String,
        span: Span,
    ) -> usize {
        let mut p = self.vals[a]
            .up
            .produced
            .clone()
            .expect("a valid value has a shape");
        p.source = shown.clone();
        p.detail = None;
        let needs = self.vals[a].needs;
        let out = self.value(shown, p, needs, None);
        self.nodes.push(Node {
            op: Op::Affine { a, k, c },
            out,
            span,
        });
        out
    }

    /// `a + b`, `a - b`, `a * b`, and the same with numbers.
    pub(super) fn binary(&mut self, e: &Expr, b: &syn::ExprBinary) -> Option<Operand> {
        let (l, r) = (self.expr(&b.left), self.expr(&b.right));
        let (l, r) = (l?, r?);
        let shown = pretty(&e.to_token_stream());
        let one = quote!(1.0f32);
        let zero = quote!(0.0f32);
        let span = e.span();
        use Operand::{Number as N, Value as V};
        let out = match (&b.op, l, r) {
            (_, Operand::Values(_), _) => return self.not_values(&b.left),
            (_, _, Operand::Values(_)) => return self.not_values(&b.right),
            (BinOp::Add(_), N(x), N(y)) => return Some(N(quote!((#x + #y)))),
            (BinOp::Sub(_), N(x), N(y)) => return Some(N(quote!((#x - #y)))),
            (BinOp::Mul(_), N(x), N(y)) => return Some(N(quote!((#x * #y)))),
            (BinOp::Div(_), N(x), N(y)) => return Some(N(quote!((#x / #y)))),
            (BinOp::Mul(_), V(a), N(k)) | (BinOp::Mul(_), N(k), V(a)) => {
                self.affine(a, k, zero, shown, span)
            }
            (BinOp::Div(_), V(a), N(k)) => self.affine(a, quote!((1.0f32 / #k)), zero, shown, span),
            (BinOp::Add(_), V(a), N(c)) | (BinOp::Add(_), N(c), V(a)) => {
                self.affine(a, one, c, shown, span)
            }
            (BinOp::Sub(_), V(a), N(c)) => self.affine(a, one, quote!((-#c)), shown, span),
            (BinOp::Sub(_), N(c), V(a)) => self.affine(a, quote!(-1.0f32), c, shown, span),
            (op @ (BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_)), V(a), V(c)) => {
                if !self.same_shape(e, a, c) {
                    return None;
                }
                let op = match op {
                    BinOp::Add(_) => Op::Add(a, c),
                    BinOp::Sub(_) => Op::Sub(a, c),
                    _ => Op::Mul(a, c),
                };
                let mut p = self.vals[a].up.produced.clone().expect("checked");
                p.source = shown.clone();
                p.detail = None;
                let needs = self.vals[a].needs.max(self.vals[c].needs);
                let out = self.value(shown, p, needs, None);
                self.nodes.push(Node { op, out, span });
                out
            }
            (BinOp::Div(_), V(_), V(_)) | (BinOp::Div(_), N(_), V(_)) => {
                self.error(e, "a value divides by a number only here (`h / 2.0`); multiply by a value instead");
                return None;
            }
            (op, ..) => {
                self.error(op, format!("not an operation of a forward; {OPERATIONS}"));
                return None;
            }
        };
        Some(V(out))
    }

    /// Whether values `a` and `b` have one shape, else the error at `e`, in the user's terms.
    pub(super) fn same_shape(&mut self, e: &Expr, a: usize, b: usize) -> bool {
        let shape = |v: &Val| v.up.produced.clone().expect("a valid value has a shape");
        let (pa, pb) = (shape(&self.vals[a]), shape(&self.vals[b]));
        let (na, nb) = (self.vals[a].up.shown.clone(), self.vals[b].up.shown.clone());
        let says = |p: &Produced| match &p.image {
            Some(s) => format!("an image of {}", s.show()),
            None => format!("{} features", p.size.show()),
        };
        let pairs: Vec<(Size, Size)> = match (&pa.image, &pb.image) {
            (Some(x), Some(y)) => vec![
                (x.c.clone(), y.c.clone()),
                (x.h.clone(), y.h.clone()),
                (x.w.clone(), y.w.clone()),
            ],
            (None, None) => vec![(pa.size.clone(), pb.size.clone())],
            _ => {
                self.error(
                    e,
                    format!(
                        "`{na}` is {} but `{nb}` is {}; flatten the image first (`flatten(..)`)",
                        says(&pa),
                        says(&pb)
                    ),
                );
                return false;
            }
        };
        let msg = format!(
            "`{}` needs values of one shape, but `{na}` is {} and `{nb}` is {}",
            pretty(&e.to_token_stream()),
            says(&pa),
            says(&pb)
        );
        for (x, y) in pairs {
            match (&x, &y) {
                (Size::Lit(p), Size::Lit(q)) if p != q => {
                    self.error(e, msg);
                    return false;
                }
                (Size::Lit(_), Size::Lit(_)) => {}
                _ => {
                    // Sizes only the compiler knows: the message names the values, as a
                    // constant's panic cannot print the numbers.
                    let msg = format!(
                        "`{}` needs values of one shape, but `{na}` and `{nb}` differ{}",
                        pretty(&e.to_token_stream()),
                        if pa.image.is_some() {
                            " in channels, height or width"
                        } else {
                            " in width"
                        }
                    );
                    let (x, y) = (x.expr(), y.expr());
                    let span = e.span();
                    self.cx.asserts.push(
                        quote_spanned!(span=> const _: () = ::core::assert!(#x == #y, "{}", #msg);),
                    );
                }
            }
        }
        true
    }
}
