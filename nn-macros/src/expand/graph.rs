//! The passes of a network whose forward is written as code: the forward on one sample
//! (stack arrays, no heap), on a batch and in training (a region of the cache per value),
//! and the backward over the operations in reverse, summing the gradients of a value used
//! more than once.
//!
//! The cache of a batch holds, in order: a region per value (`[batch, width]`; an input's
//! where there are several inputs), each layer call's own cache, a gradient region per
//! value whose gradient can be needed, and one scratch region as wide as the widest value.
//! Which backward step writes a value's gradient and which add to it is decided here, once:
//! the first to reach it in reverse order writes.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::graph::{Graph, Needs, Op};

/// The tokens the passes share.
pub struct Plan<'a> {
    g: &'a Graph,
    /// Each value's width.
    widths: Vec<TokenStream>,
    /// The storage of the single input, read from `x`; `None` with several inputs.
    x_storage: Option<usize>,
    /// The lengths of every region, in order, and their names.
    lens: Vec<TokenStream>,
    names: Vec<syn::Ident>,
}

const G: fn() -> TokenStream = || quote!(::nn::__private::graph);

fn layer(ty: &TokenStream) -> TokenStream {
    quote!(<#ty as ::nn::Layer>)
}

impl<'a> Plan<'a> {
    pub fn new(g: &'a Graph) -> Self {
        let widths: Vec<TokenStream> = g.values.iter().map(|v| v.width.clone()).collect();
        let x_storage = match &g.inputs[..] {
            [only] => Some(g.values[only.value].storage),
            _ => None,
        };
        let mut lens = Vec::new();
        let mut names = Vec::new();
        for (s, v) in g.values.iter().enumerate() {
            if v.storage == s && Some(s) != x_storage {
                let w = &widths[s];
                lens.push(quote!(batch * #w));
                names.push(format_ident!("__v{s}"));
            }
        }
        for (n, node) in g.nodes.iter().enumerate() {
            if let Op::Call { ty, .. } = &node.op {
                let l = layer(ty);
                lens.push(quote!(#l::cache_len(batch)));
                names.push(format_ident!("__c{n}"));
            }
        }
        for (s, v) in g.values.iter().enumerate() {
            if v.storage == s && Some(s) != x_storage && v.needs != Needs::Never {
                let w = &widths[s];
                lens.push(quote!(batch * #w));
                names.push(format_ident!("__g{s}"));
            }
        }
        lens.push(quote!(batch * ::nn::__private::max_width(&[#(#widths),*])));
        names.push(format_ident!("__s"));
        // A layer called more than once: each call's parameter gradient apart, added up
        // before it reaches the gradients, as PyTorch sums a tensor's incoming gradients.
        let mut shared = Vec::new();
        for node in &g.nodes {
            if let Op::Call {
                field: Some(f), ty, ..
            } = &node.op
            {
                if calls(g, f.index) > 1 && !shared.iter().any(|(i, _)| *i == f.index) {
                    shared.push((f.index, layer(ty)));
                }
            }
        }
        for (i, l) in &shared {
            lens.push(quote!(#l::PARAMS));
            names.push(format_ident!("__q{i}"));
        }
        if !shared.is_empty() {
            let ps = shared.iter().map(|(_, l)| quote!(#l::PARAMS));
            lens.push(quote!(::nn::__private::max_width(&[#(#ps),*])));
            names.push(format_ident!("__t"));
        }
        Plan {
            g,
            widths,
            x_storage,
            lens,
            names,
        }
    }

    /// `IN` and `OUT`: the inputs' and the outputs' widths added up.
    pub fn sizes(&self) -> (TokenStream, TokenStream) {
        let sum = |ports: &[crate::graph::Port]| {
            let ws = ports.iter().map(|p| &self.widths[p.value]);
            quote!(0 #(+ #ws)*)
        };
        (sum(&self.g.inputs), sum(&self.g.outputs))
    }

    /// The floats of cache for `batch` rows.
    pub fn cache_len(&self) -> TokenStream {
        let lens = &self.lens;
        quote!(0 #(+ #lens)*)
    }

    /// Where port `i` of `ports` starts in a row of all of them.
    fn offset(&self, ports: &[crate::graph::Port], i: usize) -> TokenStream {
        let ws = ports[..i].iter().map(|p| &self.widths[p.value]);
        quote!((0 #(+ #ws)*))
    }

    /// The regions of the cache, as named bindings.
    fn split(&self, cache: TokenStream) -> TokenStream {
        let (lens, names) = (&self.lens, &self.names);
        let g = G();
        // Each length in parentheses: clippy's `possible_missing_comma` reads `batch * w` in
        // an array, its tokens all spanning the whole invocation, as `[batch\n *w]`.
        quote!(let [#(#names),*] = #g::split(#cache, [#((#lens)),*]);)
    }

    fn storage(&self, v: usize) -> usize {
        self.g.values[v].storage
    }

    /// Value `v` to read, in a batched pass.
    fn read(&self, v: usize) -> TokenStream {
        let s = self.storage(v);
        if Some(s) == self.x_storage {
            let w = &self.widths[s];
            quote!(&x[..batch * #w])
        } else {
            let r = format_ident!("__v{s}");
            quote!(&*#r)
        }
    }

    /// Value `v` to read in the one-sample pass.
    fn read_one(&self, v: usize) -> TokenStream {
        let s = self.storage(v);
        if let Some(i) = self
            .g
            .inputs
            .iter()
            .position(|p| self.storage(p.value) == s)
        {
            let off = self.offset(&self.g.inputs, i);
            let w = &self.widths[s];
            quote!(&x[#off..#off + #w])
        } else {
            let r = format_ident!("__v{s}");
            quote!(&#r[..])
        }
    }

    /// The one-sample forward: a stack array per value.
    pub fn one_sample(&self) -> TokenStream {
        let g = G();
        let mut out = Vec::new();
        for (s, v) in self.g.values.iter().enumerate() {
            let is_input = self.g.inputs.iter().any(|p| self.storage(p.value) == s);
            if v.storage == s && !is_input {
                let (r, w) = (format_ident!("__v{s}"), &self.widths[s]);
                out.push(quote!(let mut #r = [0.0f32; #w];));
            }
        }
        for node in &self.g.nodes {
            let dst = {
                let r = format_ident!("__v{}", self.storage(node.out));
                quote!(&mut #r[..])
            };
            let wk = &self.widths[node.out];
            let step = match &node.op {
                Op::Input | Op::Alias => continue,
                Op::Call { field, ty, arg } => {
                    let l = layer(ty);
                    let a = self.read_one(*arg);
                    match field {
                        Some(f) => {
                            let acc = &f.access;
                            quote!(#l::forward(&self.#acc, #a, #dst);)
                        }
                        None => quote!(#l::forward(&::nn::__private::zeroed::<#ty>(), #a, #dst);),
                    }
                }
                Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) => {
                    let f = binary_fn(&node.op);
                    let (a, b) = (self.read_one(*a), self.read_one(*b));
                    quote!(#g::#f(#a, #b, #dst);)
                }
                Op::Affine { a, k, c } => {
                    let a = self.read_one(*a);
                    quote!(#g::affine(#a, #k, #c, #dst);)
                }
                Op::Cat(parts) => {
                    let steps = parts.iter().enumerate().map(|(i, p)| {
                        let (src, wp) = (self.read_one(*p), &self.widths[*p]);
                        let off = self.part_offset(parts, i);
                        quote!(#g::place(#src, #wp, #dst, #wk, #off, 1, false);)
                    });
                    quote!(#(#steps)*)
                }
                Op::Chunk { a, offset } => {
                    let (src, wa) = (self.read_one(*a), &self.widths[*a]);
                    quote!(#g::columns(#src, #wa, #offset, #dst, #wk, 1);)
                }
            };
            out.push(spanned(node.span, step));
        }
        for (i, p) in self.g.outputs.iter().enumerate() {
            let (off, w, src) = (
                self.offset(&self.g.outputs, i),
                &self.widths[p.value],
                self.read_one(p.value),
            );
            out.push(quote!(y[#off..#off + #w].copy_from_slice(#src);));
        }
        quote!(#(#out)*)
    }

    fn part_offset(&self, parts: &[usize], i: usize) -> TokenStream {
        let ws = parts[..i].iter().map(|p| &self.widths[*p]);
        quote!((0 #(+ #ws)*))
    }

    /// The forward over a batch, for inference or (`train`) training.
    pub fn batch_forward(&self, train: bool) -> TokenStream {
        let g = G();
        let mut out = vec![self.split(quote!(cache))];
        let in_width = self.sizes().0;
        if self.x_storage.is_none() {
            for (i, p) in self.g.inputs.iter().enumerate() {
                let (off, w) = (self.offset(&self.g.inputs, i), &self.widths[p.value]);
                let r = format_ident!("__v{}", self.storage(p.value));
                out.push(quote!(#g::columns(x, #in_width, #off, &mut *#r, #w, batch);));
            }
        }
        for (n, node) in self.g.nodes.iter().enumerate() {
            let dst = {
                let r = format_ident!("__v{}", self.storage(node.out));
                quote!(&mut *#r)
            };
            let wk = &self.widths[node.out];
            let step = match &node.op {
                Op::Input | Op::Alias => continue,
                Op::Call { field, ty, arg } => {
                    let l = layer(ty);
                    let a = self.read(*arg);
                    let c = format_ident!("__c{n}");
                    match (field, train) {
                        (Some(f), true) => {
                            let (acc, name) = (&f.access, &f.name);
                            quote!(#l::forward_train(&mut self.#acc, #a, #dst, batch, &mut *#c)
                                .map_err(|e| e.in_layer(#name))?;)
                        }
                        (Some(f), false) => {
                            let acc = &f.access;
                            quote!(#l::forward_batch(&self.#acc, #a, #dst, batch, &mut *#c);)
                        }
                        (None, _) => quote!(
                            #l::forward_batch(&::nn::__private::zeroed::<#ty>(), #a, #dst, batch, &mut *#c);
                        ),
                    }
                }
                Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) => {
                    let f = binary_fn(&node.op);
                    let (a, b) = (self.read(*a), self.read(*b));
                    quote!(#g::#f(#a, #b, #dst);)
                }
                Op::Affine { a, k, c } => {
                    let a = self.read(*a);
                    quote!(#g::affine(#a, #k, #c, #dst);)
                }
                Op::Cat(parts) => {
                    let steps = parts.iter().enumerate().map(|(i, p)| {
                        let (src, wp) = (self.read(*p), &self.widths[*p]);
                        let off = self.part_offset(parts, i);
                        quote!(#g::place(#src, #wp, #dst, #wk, #off, batch, false);)
                    });
                    quote!(#(#steps)*)
                }
                Op::Chunk { a, offset } => {
                    let (src, wa) = (self.read(*a), &self.widths[*a]);
                    quote!(#g::columns(#src, #wa, #offset, #dst, #wk, batch);)
                }
            };
            out.push(spanned(node.span, step));
        }
        let out_width = self.sizes().1;
        for (i, p) in self.g.outputs.iter().enumerate() {
            let (off, w, src) = (
                self.offset(&self.g.outputs, i),
                &self.widths[p.value],
                self.read(p.value),
            );
            out.push(quote!(#g::place(#src, #w, y, #out_width, #off, batch, false);));
        }
        quote!(#(#out)*)
    }

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
                let (acc, q) = (&f.access, format_ident!("__q{}", f.index));
                let target = if shared.insert(f.index) {
                    before = quote!(#q.fill(0.0););
                    quote!(&mut *#q)
                } else {
                    before = quote!(let __tq = &mut __t[..#l::PARAMS]; __tq.fill(0.0););
                    gathered = quote!(#g::grad(&*__tq, &mut *#q, true););
                    quote!(&mut *__tq)
                };
                (quote!(&self.#acc), target)
            }
            Some(f) => {
                let (acc, p) = (&f.access, format_ident!("__p{}", f.index));
                (quote!(&self.#acc), quote!(&mut grad[#p..#p + #l::PARAMS]))
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

/// How many times field `index` is called.
fn calls(g: &Graph, index: usize) -> usize {
    g.nodes
        .iter()
        .filter(|n| matches!(&n.op, Op::Call { field: Some(f), .. } if f.index == index))
        .count()
}

fn binary_fn(op: &Op) -> syn::Ident {
    let name = match op {
        Op::Add(..) => "add",
        Op::Sub(..) => "sub",
        _ => "mul",
    };
    syn::Ident::new(name, Span::call_site())
}

/// `tokens` for the expression at `span`; the types in them carry the user's spans.
fn spanned(span: Span, tokens: TokenStream) -> TokenStream {
    quote_spanned!(span=> #tokens)
}
