//! The objective written from a forward's outputs: a sum of the library's losses
//! (`binary_cross_entropy(recon, target, reduction = sum)`) and reductions of elementwise
//! expressions (`sum(1.0 + logvar - mu.pow(2) - logvar.exp())`), each times a number.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Stmt, UnOp};

use super::graph::Val;
use super::Walk;
use crate::ast::{self, Declared};
use crate::graph::{Objective, Port, Scalar, Target, Term, TermKind};
use crate::size::{pretty, Size};

/// The losses of `nn::loss` an objective may call, by PyTorch's functional names.
const LOSSES: [(&str, &str); 6] = [
    ("mse_loss", "MseLoss"),
    ("l1_loss", "L1Loss"),
    ("binary_cross_entropy", "BceLoss"),
    ("binary_cross_entropy_with_logits", "BceWithLogitsLoss"),
    ("cross_entropy", "CrossEntropyLoss"),
    ("nll_loss", "NllLoss"),
];

const TERMS: &str = "an objective adds up losses of the outputs, each times a number: \
    `mse_loss`, `l1_loss`, `binary_cross_entropy`, `binary_cross_entropy_with_logits`, \
    `cross_entropy`, `nll_loss` (with `reduction = sum` or `mean`), and `sum(..)` or \
    `mean(..)` of an elementwise expression of outputs and targets";

struct Check<'a> {
    cx: &'a mut Walk,
    /// Outputs and targets by name: a leaf of an expression, and its width.
    outputs: HashMap<String, (usize, Size)>,
    targets: HashMap<String, (usize, Option<Size>)>,
    lets: HashMap<String, Vec<Term>>,
}

/// Validates `obj`; `None` after a mistake (reported).
pub fn check(
    cx: &mut Walk,
    obj: &ast::Objective,
    outs: &[Port],
    vals: &[Val],
) -> Option<Objective> {
    let mut c = Check {
        cx,
        outputs: HashMap::new(),
        targets: HashMap::new(),
        lets: HashMap::new(),
    };
    for (k, o) in outs.iter().enumerate() {
        let size = vals[o.value].up.produced.as_ref()?.size.clone();
        c.outputs.insert(o.name.clone(), (k, size));
    }
    let mut targets = Vec::new();
    for (k, t) in obj.targets.iter().enumerate() {
        let width = match &t.declared {
            Declared::Features(n) => Some(n.clone()),
            Declared::Image(s) => Some(s.size()),
            Declared::Labels => None,
        };
        if c.outputs.contains_key(&t.name.to_string()) {
            c.error(
                &t.name,
                format!(
                    "`{}` is an output of the forward; name the target otherwise",
                    t.name
                ),
            );
        }
        c.targets.insert(t.name.to_string(), (k, width.clone()));
        targets.push(Target {
            name: t.name.clone(),
            width: width.map(|w| w.expr()),
        });
    }
    let Some((last, lets)) = obj.body.stmts.split_last() else {
        c.error(&obj.name, format!("the objective is empty; {TERMS}"));
        return None;
    };
    for stmt in lets {
        let Stmt::Local(l) = stmt else {
            c.error(stmt, "an objective is `let` statements, then the loss");
            return None;
        };
        let (syn::Pat::Ident(name), Some(init)) = (&l.pat, &l.init) else {
            c.error(l, "expected `let name = ..;`");
            return None;
        };
        let terms = c.linear(&init.expr, quote!(1.0f32))?;
        c.lets.insert(name.ident.to_string(), terms);
    }
    let Stmt::Expr(e, None) = last else {
        c.error(
            last,
            "an objective ends with the loss, with no `;` after it",
        );
        return None;
    };
    let terms = c.linear(e, quote!(1.0f32))?;
    Some(Objective {
        name: obj.name.clone(),
        targets,
        terms,
    })
}

/// Whether a name is a constant's: capitals, digits and `_`, as Rust writes constants.
pub(super) fn is_constant(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
}

/// A number: a literal, a constant in capitals, or arithmetic of them; a forward's numbers
/// are read here too.
pub(super) fn number(e: &Expr) -> Option<TokenStream> {
    match e {
        Expr::Lit(l) => {
            let v: f64 = match &l.lit {
                syn::Lit::Float(f) => f.base10_parse().ok()?,
                syn::Lit::Int(i) => i.base10_parse().ok()?,
                _ => return None,
            };
            let v = v as f32;
            Some(quote!(#v))
        }
        Expr::Paren(p) => number(&p.expr),
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
            let n = number(&u.expr)?;
            Some(quote!((-#n)))
        }
        Expr::Path(p)
            if p.path
                .get_ident()
                .is_some_and(|i| is_constant(&i.to_string())) =>
        {
            Some(quote_spanned!(p.span()=> (#p as f32)))
        }
        Expr::Binary(b) => {
            let (x, y) = (number(&b.left)?, number(&b.right)?);
            match b.op {
                BinOp::Add(_) => Some(quote!((#x + #y))),
                BinOp::Sub(_) => Some(quote!((#x - #y))),
                BinOp::Mul(_) => Some(quote!((#x * #y))),
                BinOp::Div(_) => Some(quote!((#x / #y))),
                _ => None,
            }
        }
        _ => None,
    }
}

impl Check<'_> {
    fn error(&mut self, span: impl ToTokens, msg: impl std::fmt::Display) {
        self.cx.errors.push(syn::Error::new_spanned(span, msg));
    }

    /// `e` as terms, each times `coeff`.
    fn linear(&mut self, e: &Expr, coeff: TokenStream) -> Option<Vec<Term>> {
        match e {
            Expr::Paren(p) => self.linear(&p.expr, coeff),
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
                self.linear(&u.expr, quote!((-#coeff)))
            }
            Expr::Binary(b) => match b.op {
                BinOp::Add(_) | BinOp::Sub(_) => {
                    let mut l = self.linear(&b.left, coeff.clone())?;
                    let rc = if matches!(b.op, BinOp::Sub(_)) {
                        quote!((-#coeff))
                    } else {
                        coeff
                    };
                    l.extend(self.linear(&b.right, rc)?);
                    Some(l)
                }
                BinOp::Mul(_) => match (number(&b.left), number(&b.right)) {
                    (Some(k), _) => self.linear(&b.right, quote!((#coeff * #k))),
                    (_, Some(k)) => self.linear(&b.left, quote!((#coeff * #k))),
                    _ => {
                        self.error(
                            e,
                            format!("a product of two losses is not a loss here; {TERMS}"),
                        );
                        None
                    }
                },
                BinOp::Div(_) => match number(&b.right) {
                    Some(k) => self.linear(&b.left, quote!((#coeff / #k))),
                    None => {
                        self.error(e, "a loss divides by a number only");
                        None
                    }
                },
                _ => {
                    self.error(e, TERMS);
                    None
                }
            },
            Expr::Path(p)
                if p.path
                    .get_ident()
                    .is_some_and(|i| self.lets.contains_key(&i.to_string())) =>
            {
                let name = p
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                let terms = self.lets.get(&name).cloned().unwrap_or_default();
                Some(
                    terms
                        .into_iter()
                        .map(|t| {
                            let c = &t.coeff;
                            Term {
                                coeff: quote!((#coeff * #c)),
                                kind: t.kind,
                            }
                        })
                        .collect(),
                )
            }
            Expr::Call(c) => {
                let kind = self.call(c)?;
                Some(vec![Term { coeff, kind }])
            }
            other => {
                self.error(other, TERMS);
                None
            }
        }
    }

    /// A loss call or a reduction.
    fn call(&mut self, c: &syn::ExprCall) -> Option<TermKind> {
        let name = pretty(&c.func.to_token_stream());
        let (args, named): (Vec<&Expr>, Vec<&Expr>) =
            c.args.iter().partition(|a| !matches!(a, Expr::Assign(_)));
        if name == "sum" || name == "mean" {
            let [e] = &args[..] else {
                self.error(
                    c,
                    format!("`{name}` takes one expression: `{name}(logvar.exp())`"),
                );
                return None;
            };
            let mut width = None;
            let expr = self.scalar(e, &mut width)?;
            let Some(width) = width else {
                self.error(e, format!("`{name}` of numbers only; name an output"));
                return None;
            };
            return Some(TermKind::Reduce {
                mean: name == "mean",
                width: width.expr(),
                expr,
            });
        }
        let Some((_, ty)) = LOSSES.iter().find(|(n, _)| *n == name) else {
            self.error(&c.func, TERMS);
            return None;
        };
        let [out, target] = &args[..] else {
            self.error(
                c,
                format!("`{name}` takes an output and a target: `{name}(logits, target)`"),
            );
            return None;
        };
        let mut reduction = None;
        for n in named {
            let text = quote!(#n).to_string().replace(' ', "");
            reduction = match text.as_str() {
                "reduction=sum" => Some(quote!(::nn::loss::Reduction::Sum)),
                "reduction=mean" => Some(quote!(::nn::loss::Reduction::Mean)),
                "reduction=none" => {
                    self.error(
                        n,
                        "an objective is one number: PyTorch's `reduction='none'` keeps each \
                         element's loss, and training on them is training on their sum; write \
                         `reduction = sum`",
                    );
                    return None;
                }
                _ => {
                    self.error(n, "expected `reduction = sum` or `reduction = mean`");
                    return None;
                }
            };
        }
        let name_of = |e: &Expr| match e {
            Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
            _ => None,
        };
        let Some((output, out_width)) = name_of(out).and_then(|n| self.outputs.get(&n).cloned())
        else {
            let outs: Vec<String> = self.outputs.keys().map(|k| format!("`{k}`")).collect();
            self.error(
                out,
                format!(
                    "`{name}` takes an output of the forward first: {}",
                    outs.join(", ")
                ),
            );
            return None;
        };
        let Some((target_i, t_width)) = name_of(target).and_then(|n| self.targets.get(&n).cloned())
        else {
            self.error(
                target,
                "the target is a parameter of the objective: `fn loss(target: Features<10>)`",
            );
            return None;
        };
        let labels = matches!(name.as_str(), "cross_entropy" | "nll_loss");
        match (&t_width, labels) {
            (None, false) => {
                self.error(
                    target,
                    format!(
                        "`{name}` takes rows of numbers as its target (`Features<N>`), not labels"
                    ),
                );
                return None;
            }
            (Some(t), _) => {
                if !self.same_width(target, &out_width, t, &name) {
                    return None;
                }
            }
            (None, true) => {}
        }
        let ty = syn::Ident::new(ty, c.func.span());
        let base = quote!(<::nn::loss::#ty as ::core::default::Default>::default());
        let loss = match reduction {
            Some(r) => quote!(#base.reduction(#r)),
            None => base,
        };
        Some(TermKind::Loss {
            loss,
            output,
            target: target_i,
        })
    }

    fn same_width(&mut self, at: &Expr, a: &Size, b: &Size, what: &str) -> bool {
        match (a, b) {
            (Size::Lit(x), Size::Lit(y)) if x != y => {
                self.error(at, format!("`{what}` compares {x} features with {y}; the output and the target need one width"));
                false
            }
            (Size::Lit(_), Size::Lit(_)) => true,
            _ => {
                let (x, y) = (a.expr(), b.expr());
                let msg = format!("`{what}` needs an output and a target of one width");
                let span = at.span();
                self.cx.asserts.push(
                    quote_spanned!(span=> const _: () = ::core::assert!(#x == #y, "{}", #msg);),
                );
                true
            }
        }
    }

    /// An elementwise expression; `width` becomes the width of its leaves.
    fn scalar(&mut self, e: &Expr, width: &mut Option<Size>) -> Option<Scalar> {
        if let Some(n) = number(e) {
            return Some(Scalar::Number(n));
        }
        let boxed = |s| Some(Box::new(s));
        match e {
            Expr::Paren(p) => self.scalar(&p.expr, width),
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
                Some(Scalar::Neg(boxed(self.scalar(&u.expr, width)?)?))
            }
            Expr::Binary(b) => {
                let (l, r) = (self.scalar(&b.left, width)?, self.scalar(&b.right, width)?);
                let (l, r) = (Box::new(l), Box::new(r));
                match b.op {
                    BinOp::Add(_) => Some(Scalar::Add(l, r)),
                    BinOp::Sub(_) => Some(Scalar::Sub(l, r)),
                    BinOp::Mul(_) => Some(Scalar::Mul(l, r)),
                    BinOp::Div(_) => Some(Scalar::Div(l, r)),
                    _ => {
                        self.error(e, "an elementwise expression uses `+`, `-`, `*`, `/`, `exp`, `log` and `.pow(2)`");
                        None
                    }
                }
            }
            Expr::Call(c) if c.args.len() == 1 => {
                let f = pretty(&c.func.to_token_stream());
                let a = Box::new(self.scalar(&c.args[0], width)?);
                match f.as_str() {
                    "exp" => Some(Scalar::Exp(a)),
                    "log" => Some(Scalar::Log(a)),
                    _ => {
                        self.error(&c.func, "an elementwise expression uses `+`, `-`, `*`, `/`, `exp`, `log` and `.pow(2)`");
                        None
                    }
                }
            }
            Expr::MethodCall(m) => {
                let a = self.scalar(&m.receiver, width)?;
                let args: Vec<String> = m.args.iter().map(|a| quote!(#a).to_string()).collect();
                match (m.method.to_string().as_str(), &args[..]) {
                    ("exp", []) => Some(Scalar::Exp(Box::new(a))),
                    ("log", []) => Some(Scalar::Log(Box::new(a))),
                    ("pow", [two]) if two == "2" || two == "2.0" => {
                        let b = Box::new(a);
                        Some(Scalar::Mul(b.clone(), b))
                    }
                    _ => {
                        self.error(m, "an elementwise expression uses `+`, `-`, `*`, `/`, `exp`, `log` and `.pow(2)`");
                        None
                    }
                }
            }
            Expr::Path(p) => {
                let name = p
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                let (leaf, w) = if let Some((k, w)) = self.outputs.get(&name).cloned() {
                    (Scalar::Output(k), w)
                } else if let Some((k, Some(w))) = self.targets.get(&name).cloned() {
                    (Scalar::Target(k), w)
                } else {
                    self.error(p, format!("`{name}` is neither an output of the forward nor a target of rows of numbers"));
                    return None;
                };
                match width.clone() {
                    None => *width = Some(w),
                    Some(have) => {
                        if !self.same_width(e, &have, &w, "an elementwise expression") {
                            return None;
                        }
                    }
                }
                Some(leaf)
            }
            other => {
                self.error(
                    other,
                    "an elementwise expression uses `+`, `-`, `*`, `/`, `exp`, `log` and `.pow(2)`",
                );
                None
            }
        }
    }
}
