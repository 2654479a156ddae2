//! The backward pass of a forward written as code: the outputs' gradients from `dy`, then
//! every operation in reverse, each writing or adding to the gradients of what it read.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{calls, layer, spanned, Plan, G};
use crate::graph::{Needs, Op};

impl Plan<'_> {
    /// The backward pass: the outputs' gradients from `dy`, then every operation in reverse.
    pub fn backward(&self, fields: &[TokenStream]) -> TokenStream {
        let g = G();
        let mut out = vec![self.split(quote!(io.cache))];
        // Each field's place in the gradients.
        let mut start = quote!(0usize);
        for (i, ty) in fields.iter().enumerate() {
            let p = format_ident!("__p{i}");
            out.push(quote!(let #p: usize = #start;));
            let l = layer(ty);
            start = quote!(#p + #l::PARAMS);
        }
        let mut written: HashSet<usize> = HashSet::new();
        let mut shared: HashSet<usize> = HashSet::new();
        let out_width = self.sizes().1;
        for (i, p) in self.g.outputs.iter().enumerate() {
            let s = self.storage(p.value);
            if self.g.values[s].needs == Needs::Never {
                continue;
            }
            let (off, w, r) = (
                self.offset(&self.g.outputs, i),
                &self.widths[s],
                format_ident!("__g{s}"),
            );
            out.push(quote!(#g::columns(io.dy, #out_width, #off, &mut *#r, #w, batch);));
            written.insert(s);
        }
        for (n, node) in self.g.nodes.iter().enumerate().rev() {
            let o = self.storage(node.out);
            if !written.contains(&o) || matches!(node.op, Op::Input | Op::Alias) {
                continue;
            }
            let go = format_ident!("__g{o}");
            let gout = quote!(&*#go);
            let step = self.node_backward(n, &gout, &mut written, &mut shared);
            out.push(spanned(node.span, step));
        }
        // The summed gradients of the layers called more than once.
        for (i, ty) in fields.iter().enumerate() {
            if shared.contains(&i) {
                let (l, p, q) = (layer(ty), format_ident!("__p{i}"), format_ident!("__q{i}"));
                out.push(quote!(#g::grad(&*#q, &mut grad[#p..#p + #l::PARAMS], true);));
            }
        }
        // The inputs' gradients.
        match self.x_storage {
            Some(s) => {
                if !written.contains(&s) {
                    out.push(quote!(
                        if let ::core::option::Option::Some(dx) = dx.as_deref_mut() {
                            dx.fill(0.0);
                        }
                    ));
                }
            }
            None => {
                let in_width = self.sizes().0;
                let places = self.g.inputs.iter().enumerate().filter_map(|(i, p)| {
                    let s = self.storage(p.value);
                    if !written.contains(&s) {
                        return None;
                    }
                    let (off, w, r) = (
                        self.offset(&self.g.inputs, i),
                        &self.widths[s],
                        format_ident!("__g{s}"),
                    );
                    Some(quote!(#g::place(&*#r, #w, dx, #in_width, #off, batch, true);))
                });
                out.push(
                    quote!(if let ::core::option::Option::Some(dx) = dx.as_deref_mut() {
                        dx.fill(0.0);
                        #(#places)*
                    }),
                );
            }
        }
        quote!(#(#out)*)
    }

    /// A contribution to the gradient of value `v`: `body(dst, acc)` where it is needed.
    fn contribute(
        &self,
        v: usize,
        written: &mut HashSet<usize>,
        body: impl Fn(TokenStream, bool) -> TokenStream,
    ) -> TokenStream {
        let s = self.storage(v);
        let needs = self.g.values[s].needs;
        if needs == Needs::Never {
            return quote!();
        }
        let acc = !written.insert(s);
        if Some(s) == self.x_storage {
            let b = body(quote!(__gx), acc);
            return quote!(if let ::core::option::Option::Some(__gx) = dx.as_deref_mut() { #b });
        }
        let r = format_ident!("__g{s}");
        let b = body(quote!(&mut *#r), acc);
        if needs == Needs::Input {
            quote!(if __want_dx { #b })
        } else {
            quote!({ #b })
        }
    }

    fn node_backward(
        &self,
        n: usize,
        gout: &TokenStream,
        written: &mut HashSet<usize>,
        shared: &mut HashSet<usize>,
    ) -> TokenStream {
        let g = G();
        let node = &self.g.nodes[n];
        let wk = &self.widths[node.out];
        match &node.op {
            Op::Input | Op::Alias => quote!(),
            Op::Call { field, ty, arg } => {
                self.call_backward(n, (field.as_ref(), ty, *arg), gout, written, shared)
            }
            Op::Add(a, b) | Op::Sub(a, b) => {
                let ca = self.contribute(*a, written, |d, acc| quote!(#g::grad(#gout, #d, #acc);));
                let k = if matches!(node.op, Op::Sub(..)) {
                    quote!(-1.0f32)
                } else {
                    quote!(1.0f32)
                };
                let cb = self.contribute(
                    *b,
                    written,
                    |d, acc| quote!(#g::grad_scaled(#gout, #k, #d, #acc);),
                );
                quote!(#ca #cb)
            }
            Op::Mul(a, b) => {
                let (ra, rb) = (self.read(*a), self.read(*b));
                let ca = self.contribute(
                    *a,
                    written,
                    |d, acc| quote!(#g::grad_mul(#gout, #rb, #d, #acc);),
                );
                let cb = self.contribute(
                    *b,
                    written,
                    |d, acc| quote!(#g::grad_mul(#gout, #ra, #d, #acc);),
                );
                quote!(#ca #cb)
            }
            Op::Affine { a, k, .. } => self.contribute(
                *a,
                written,
                |d, acc| quote!(#g::grad_scaled(#gout, #k, #d, #acc);),
            ),
            Op::Cat(parts) => {
                let steps: Vec<TokenStream> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let off = self.part_offset(parts, i);
                        let wp = self.widths[*p].clone();
                        self.contribute(*p, written, |d, acc| {
                            if acc {
                                quote!(
                                    #g::columns(#gout, #wk, #off, &mut __s[..batch * #wp], #wp, batch);
                                    #g::grad(&__s[..batch * #wp], #d, true);
                                )
                            } else {
                                quote!(#g::columns(#gout, #wk, #off, #d, #wp, batch);)
                            }
                        })
                    })
                    .collect();
                quote!(#(#steps)*)
            }
            Op::Chunk { a, offset } => {
                let wa = &self.widths[*a];
                self.contribute(*a, written, |d, acc| {
                    if acc {
                        quote!(#g::place(#gout, #wk, #d, #wa, #offset, batch, true);)
                    } else {
                        quote!({
                            let __d = #d;
                            __d.fill(0.0);
                            #g::place(#gout, #wk, __d, #wa, #offset, batch, true);
                        })
                    }
                })
            }
        }
    }

    fn call_backward(
        &self,
        n: usize,
        (field, ty, arg): (Option<&crate::graph::Field>, &TokenStream, usize),
        gout: &TokenStream,
        written: &mut HashSet<usize>,
        shared: &mut HashSet<usize>,
    ) -> TokenStream {
        let g = G();
        let l = layer(ty);
        let c = format_ident!("__c{n}");
        let (x, y) = (self.read(arg), self.read(self.g.nodes[n].out));
        let mut before = quote!();
        let mut gathered = quote!();
        let (this, grad) = match field {
            Some(f) if calls(self.g, f.index) > 1 => {
                // A layer called more than once: this call's parameter gradient apart, added
                // to the later calls' (which ran their backward already), as PyTorch sums a
                // tensor's incoming gradients; the sum reaches `grad` after the last.
                let q = format_ident!("__q{}", f.index);
                let target = if shared.insert(f.index) {
                    before = quote!(#q.fill(0.0););
                    quote!(&mut *#q)
                } else {
                    before = quote!(let __tq = &mut __t[..#l::PARAMS]; __tq.fill(0.0););
                    gathered = quote!(#g::grad(&*__tq, &mut *#q, true););
                    quote!(&mut *__tq)
                };
                (f.this(), target)
            }
            Some(f) => {
                let p = format_ident!("__p{}", f.index);
                (f.this(), quote!(&mut grad[#p..#p + #l::PARAMS]))
            }
            None => (quote!(&::nn::__private::zeroed::<#ty>()), quote!(&mut [])),
        };
        let io = quote!(::nn::Backward { x: #x, y: #y, dy: #gout, batch, cache: &mut *#c });
        let s = self.storage(arg);
        let needs = self.g.values[s].needs;
        let wa = &self.widths[s];
        let none = quote!(::core::option::Option::None);
        let (dx, after) = if needs == Needs::Never {
            (none, quote!())
        } else {
            let acc = !written.insert(s);
            let scratch = quote!(::core::option::Option::Some(&mut __s[..batch * #wa]));
            let add = |dst: TokenStream| quote!(#g::grad(&__s[..batch * #wa], #dst, true););
            if Some(s) == self.x_storage {
                if acc {
                    let a = add(quote!(__gx));
                    (
                        quote!(if __want_dx { #scratch } else { #none }),
                        quote!(if let ::core::option::Option::Some(__gx) = dx.as_deref_mut() { #a }),
                    )
                } else {
                    (quote!(dx.as_deref_mut()), quote!())
                }
            } else {
                let r = format_ident!("__g{s}");
                let direct = quote!(::core::option::Option::Some(&mut *#r));
                let (dx, after) = if acc {
                    (scratch, add(quote!(&mut *#r)))
                } else {
                    (direct, quote!())
                };
                if needs == Needs::Input {
                    (
                        quote!(if __want_dx { #dx } else { #none }),
                        quote!(if __want_dx { #after }),
                    )
                } else {
                    (dx, after)
                }
            }
        };
        quote!({
            #before
            #l::backward(#this, #io, #dx, #grad);
            #gathered
            #after
        })
    }
}
