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

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

mod backward;
mod one;

use crate::graph::{Graph, Needs, Op};

/// The tokens the passes share.
pub struct Plan<'a> {
    pub(super) g: &'a Graph,
    /// Each value's width.
    pub(super) widths: Vec<TokenStream>,
    /// The storage of the single input, read from `x`; `None` with several inputs.
    pub(super) x_storage: Option<usize>,
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
    pub(super) fn offset(&self, ports: &[crate::graph::Port], i: usize) -> TokenStream {
        let ws = ports[..i].iter().map(|p| &self.widths[p.value]);
        quote!((0 #(+ #ws)*))
    }

    /// The regions of the cache, as named bindings.
    pub(super) fn split(&self, cache: TokenStream) -> TokenStream {
        let (lens, names) = (&self.lens, &self.names);
        let g = G();
        // Each length in parentheses: with every token spanned at the invocation, clippy's
        // `possible_missing_comma` takes `batch * w` in an array for a missing comma.
        quote!(let [#(#names),*] = #g::split(#cache, [#((#lens)),*]);)
    }

    pub(super) fn storage(&self, v: usize) -> usize {
        self.g.values[v].storage
    }

    /// Value `v` to read, in a batched pass.
    pub(super) fn read(&self, v: usize) -> TokenStream {
        let s = self.storage(v);
        if Some(s) == self.x_storage {
            let w = &self.widths[s];
            quote!(&x[..batch * #w])
        } else {
            let r = format_ident!("__v{s}");
            quote!(&*#r)
        }
    }

    pub(super) fn part_offset(&self, parts: &[usize], i: usize) -> TokenStream {
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
                            let (this, name) = (f.this_mut(), &f.name);
                            quote!(#l::forward_train(#this, #a, #dst, batch, &mut *#c)
                                .map_err(|e| e.in_layer(#name))?;)
                        }
                        (Some(f), false) => {
                            let this = f.this();
                            quote!(#l::forward_batch(#this, #a, #dst, batch, &mut *#c);)
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
}

/// How many times field `index` is called.
fn calls(g: &Graph, index: usize) -> usize {
    g.nodes
        .iter()
        .filter(|n| matches!(&n.op, Op::Call { field: Some(f), .. } if f.index == index))
        .count()
}

pub(super) fn binary_fn(op: &Op) -> syn::Ident {
    let name = match op {
        Op::Add(..) => "add",
        Op::Sub(..) => "sub",
        _ => "mul",
    };
    syn::Ident::new(name, Span::call_site())
}

/// `tokens` for the expression at `span`; the types in them carry the user's spans.
pub(super) fn spanned(span: Span, tokens: TokenStream) -> TokenStream {
    quote_spanned!(span=> #tokens)
}

/// `const FORWARD`: the forward as a table of its operations ([`nn::Forward`]), for tools
/// that read the network without running it (the int8 quantiser).
pub fn forward_table(g: &Graph) -> TokenStream {
    let values = g.values.len();
    let nodes = g.nodes.iter().map(|node| {
        let out = node.out;
        let op = match &node.op {
            Op::Input => quote!(::nn::ForwardOp::Input),
            Op::Call { field, ty, arg } => {
                let l = layer(ty);
                let name = field.as_ref().map_or(String::new(), |f| f.name.clone());
                quote!(::nn::ForwardOp::Call {
                    layer: ::nn::LayerInfo {
                        name: #name,
                        inputs: #l::IN,
                        outputs: #l::OUT,
                        params: #l::PARAMS,
                        macs: #l::MACS,
                        describe: #l::describe,
                        cache_len: #l::cache_len,
                        image: #l::OUT_IMAGE,
                        children: #l::LAYERS,
                        forward: #l::FORWARD,
                    },
                    arg: #arg,
                })
            }
            Op::Add(a, b) => quote!(::nn::ForwardOp::Add(#a, #b)),
            Op::Sub(a, b) => quote!(::nn::ForwardOp::Sub(#a, #b)),
            Op::Mul(a, b) => quote!(::nn::ForwardOp::Mul(#a, #b)),
            Op::Alias => {
                let s = g.values[out].storage;
                quote!(::nn::ForwardOp::View(#s))
            }
            Op::Affine { .. } | Op::Cat(_) | Op::Chunk { .. } => quote!(::nn::ForwardOp::Other),
        };
        quote!(::nn::ForwardNode { out: #out, op: #op })
    });
    let outputs = g.outputs.iter().map(|p| p.value);
    quote! {
        const FORWARD: ::core::option::Option<&'static ::nn::Forward> =
            ::core::option::Option::Some(&::nn::Forward {
                values: #values,
                nodes: &[#(#nodes),*],
                outputs: &[#(#outputs),*],
            });
    }
}
