//! The functions of a forward: the layers without state (`relu`, `softmax`, ...), `cat`,
//! `chunk`, `flatten` and `randn_like`.
use proc_macro2::Span;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Expr;

use super::{add, Body, Operand, FUNCTIONS, OPERATIONS};
use crate::graph::{Needs, Node, Op};
use crate::size::{mul, pretty, Shape, Size};
use crate::valid::Produced;

impl<'a> Body<'a> {
    /// `relu(h)`, `cat([a, b])`, `chunk(h, 2)`, `flatten(x)`, `randn_like(std)`.
    pub(super) fn call_function(&mut self, c: &syn::ExprCall) -> Option<Operand> {
        let Expr::Path(f) = &*c.func else {
            self.error(
                &c.func,
                format!("not an operation of a forward; {OPERATIONS}"),
            );
            return None;
        };
        let name = pretty(&f.path.to_token_stream());
        let args: Vec<&Expr> = c.args.iter().collect();
        // `dim = 1`, as PyTorch writes it, is the only dimension there is.
        let (args, dims): (Vec<&Expr>, Vec<&Expr>) = args
            .into_iter()
            .partition(|a| !matches!(a, Expr::Assign(_)));
        for d in dims {
            let ok =
                matches!(d, Expr::Assign(a) if quote!(#a).to_string().replace(' ', "") == "dim=1");
            if !ok {
                self.error(
                    d,
                    "the only dimension is 1, features or channels: `dim = 1` (or nothing)",
                );
                return None;
            }
        }
        let span = c.span();
        let shown = pretty(&c.to_token_stream());
        match (name.as_str(), &args[..]) {
            ("cat", [Expr::Array(parts)]) => {
                let mut vals = Vec::new();
                for p in &parts.elems {
                    match self.expr(p)? {
                        Operand::Value(v) => vals.push(v),
                        _ => {
                            self.error(p, "`cat` joins values of the forward");
                            return None;
                        }
                    }
                }
                self.cat(c, vals, shown)
            }
            ("cat", _) => {
                self.error(
                    c,
                    "`cat` takes a list of values: `cat([u, e])`, joined on features or channels",
                );
                None
            }
            ("chunk", [a, n]) => {
                let Operand::Value(a) = self.expr(a)? else {
                    self.error(a, "`chunk` splits a value of the forward");
                    return None;
                };
                let n = match n {
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(i),
                        ..
                    }) => i.base10_parse::<u64>().ok().filter(|n| *n > 0),
                    _ => None,
                };
                let Some(n) = n else {
                    self.error(
                        c,
                        "`chunk(h, N)` splits into N parts, N a whole number: `chunk(h, 2)`",
                    );
                    return None;
                };
                self.chunk(c, a, n, shown)
            }
            ("flatten", [a]) => {
                let Operand::Value(a) = self.expr(a)? else {
                    self.error(a, "`flatten` takes a value of the forward");
                    return None;
                };
                let p = self.vals[a].up.produced.clone()?;
                let Some(image) = &p.image else {
                    return Some(Operand::Value(a)); // flat already, as in PyTorch
                };
                let produced = Produced {
                    size: p.size.clone(),
                    source: shown.clone(),
                    image: None,
                    detail: Some(image.product()),
                };
                let (needs, storage) = (self.vals[a].needs, self.vals[a].storage);
                let out = self.value(shown, produced, needs, Some(storage));
                self.nodes.push(Node {
                    op: Op::Alias,
                    out,
                    span,
                });
                Some(Operand::Value(out))
            }
            ("randn_like", [a]) => {
                let Operand::Value(a) = self.expr(a)? else {
                    self.error(a, "`randn_like` takes a value of the forward");
                    return None;
                };
                Some(Operand::Value(self.noise(a, shown, span)))
            }
            (f, [a]) if FUNCTIONS.iter().any(|(n, ..)| *n == f) => {
                let (_, alias, rows) = FUNCTIONS.iter().find(|(n, ..)| *n == f).expect("found");
                let Operand::Value(a) = self.expr(a)? else {
                    self.error(
                        c,
                        format!(
                            "`{f}` takes a value of the forward (numbers are not computed here)"
                        ),
                    );
                    return None;
                };
                let mut p = self.vals[a].up.produced.clone()?;
                if *rows && p.image.is_some() {
                    self.error(
                        c,
                        format!("`{f}` works over each row's features; flatten the image first"),
                    );
                    return None;
                }
                let alias = syn::Ident::new(alias, Span::call_site());
                let w = p.size.expr();
                let layer = quote_spanned!(span=> ::nn::#alias<#w>);
                p.source = shown.clone();
                p.detail = None;
                let needs = self.vals[a].needs;
                let out = self.value(shown, p, needs, None);
                self.nodes.push(Node {
                    op: Op::Call {
                        field: None,
                        ty: layer,
                        arg: a,
                    },
                    out,
                    span,
                });
                Some(Operand::Value(out))
            }
            _ => {
                self.error(c, format!("not an operation of a forward; {OPERATIONS}"));
                None
            }
        }
    }
    /// `cat([a, b, ..])`: features side by side, or images' channels.
    pub(super) fn cat(
        &mut self,
        c: &syn::ExprCall,
        vals: Vec<usize>,
        shown: String,
    ) -> Option<Operand> {
        if vals.is_empty() {
            self.error(c, "`cat` joins at least one value");
            return None;
        }
        let ps: Vec<Produced> = vals
            .iter()
            .map(|v| self.vals[*v].up.produced.clone())
            .collect::<Option<_>>()?;
        let names: Vec<String> = vals
            .iter()
            .map(|v| self.vals[*v].up.shown.clone())
            .collect();
        let images: Vec<Option<&Shape>> = ps.iter().map(|p| p.image.as_ref()).collect();
        let produced = if images.iter().all(|i| i.is_some()) {
            let first = images[0].expect("all images");
            let mut channels = first.c.clone();
            for (k, img) in images.iter().enumerate().skip(1) {
                let img = img.expect("all images");
                for (side, x, y) in [("height", &first.h, &img.h), ("width", &first.w, &img.w)] {
                    match (x, y) {
                        (Size::Lit(p), Size::Lit(q)) if p != q => {
                            self.error(
                                c,
                                format!(
                                    "`cat` joins images on channels, so their sides must match, but `{}` is an image of {} and `{}` one of {} (the {side} differs); resize one (`MaxPool2d`, `Upsample`) first",
                                    names[0], first.show(), names[k], img.show()
                                ),
                            );
                            return None;
                        }
                        (Size::Lit(_), Size::Lit(_)) => {}
                        _ => {
                            let (x, y) = (x.expr(), y.expr());
                            let msg = format!("`cat` joins images of one height and width, but `{}` and `{}` differ", names[0], names[k]);
                            let span = c.span();
                            self.cx.asserts.push(quote_spanned!(span=> const _: () = ::core::assert!(#x == #y, "{}", #msg);));
                        }
                    }
                }
                channels = add(&channels, &img.c);
            }
            let shape = Shape {
                c: channels,
                h: first.h.clone(),
                w: first.w.clone(),
                seq: first.seq,
            };
            Produced {
                size: shape.size(),
                source: shown.clone(),
                image: Some(shape),
                detail: None,
            }
        } else if images.iter().all(|i| i.is_none()) {
            let size = ps
                .iter()
                .skip(1)
                .fold(ps[0].size.clone(), |s, p| add(&s, &p.size));
            Produced {
                size,
                source: shown.clone(),
                image: None,
                detail: None,
            }
        } else {
            self.error(c, "`cat` joins images with images (on channels) or features with features; flatten the images first");
            return None;
        };
        let needs = vals
            .iter()
            .map(|v| self.vals[*v].needs)
            .max()
            .unwrap_or(Needs::Never);
        let out = self.value(shown, produced, needs, None);
        self.nodes.push(Node {
            op: Op::Cat(vals),
            out,
            span: c.span(),
        });
        Some(Operand::Value(out))
    }

    /// `chunk(a, n)`: `n` equal parts of the features, or of an image's channels.
    pub(super) fn chunk(
        &mut self,
        c: &syn::ExprCall,
        a: usize,
        n: u64,
        shown: String,
    ) -> Option<Operand> {
        let p = self.vals[a].up.produced.clone()?;
        let name = self.vals[a].up.shown.clone();
        let (split, what) = match &p.image {
            Some(s) => (&s.c, "channels"),
            None => (&p.size, "features"),
        };
        let part = match split {
            Size::Lit(k) if k % n != 0 => {
                self.error(c, format!("`chunk` splits `{name}`'s {k} {what} into {n} equal parts, which {k} does not allow; PyTorch's last part would be smaller"));
                return None;
            }
            Size::Lit(k) => Size::Lit(k / n),
            other => {
                let e = other.expr();
                let msg = format!("`chunk` splits `{name}`'s {what} into {n} equal parts, which their number does not allow");
                let span = c.span();
                self.cx.asserts.push(quote_spanned!(span=> const _: () = ::core::assert!((#e) % (#n as usize) == 0, "{}", #msg);));
                Size::Expr(quote!((#e) / (#n as usize)))
            }
        };
        let needs = self.vals[a].needs;
        let mut outs = Vec::new();
        for i in 0..n {
            let (image, size) = match &p.image {
                Some(s) => {
                    let shape = Shape {
                        c: part.clone(),
                        h: s.h.clone(),
                        w: s.w.clone(),
                        seq: s.seq,
                    };
                    (Some(shape.clone()), shape.size())
                }
                None => (None, part.clone()),
            };
            let offset = mul(&size, &Size::Lit(i)).expr();
            let produced = Produced {
                size,
                source: format!("{shown}[{i}]"),
                image,
                detail: None,
            };
            let out = self.value(format!("{shown}[{i}]"), produced, needs, None);
            self.nodes.push(Node {
                op: Op::Chunk { a, offset },
                out,
                span: c.span(),
            });
            outs.push(out);
        }
        Some(Operand::Values(outs))
    }
}
