//! The one-sample forward of a network written as code: its values in one stack array laid
//! out at compile time (`nn::__private::graph::plan`), a value's floats reused once the
//! last operation that reads it has run, so that a deep network needs the stack of its
//! widest moment, not of all its values.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{binary_fn, layer, spanned, Plan, G};
use crate::graph::Op;

/// The values an operation reads.
fn reads(op: &Op) -> Vec<usize> {
    match op {
        Op::Input | Op::Alias => Vec::new(),
        Op::Call { arg, .. } => vec![*arg],
        Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) => vec![*a, *b],
        Op::Affine { a, .. } | Op::Chunk { a, .. } => vec![*a],
        Op::Cat(parts) => parts.clone(),
    }
}

impl Plan<'_> {
    /// The storages kept in the stack array, in the order they are made: every value's but
    /// the inputs', which are read from `x`.
    fn arena(&self) -> Vec<usize> {
        let input = |s: usize| self.g.inputs.iter().any(|p| self.storage(p.value) == s);
        (0..self.g.values.len())
            .filter(|&s| self.g.values[s].storage == s && !input(s))
            .collect()
    }

    /// `plan(widths, births, deaths)` for the stack array, as a constant expression: the
    /// storages' offsets and the array's length.
    pub fn plan(&self) -> TokenStream {
        let g = G();
        let nodes = &self.g.nodes;
        let arena = self.arena();
        let slot = |s: usize| arena.iter().position(|&a| a == s);
        let mut births = vec![0usize; arena.len()];
        let mut deaths = vec![0usize; arena.len()];
        for (n, node) in nodes.iter().enumerate() {
            if let Some(k) = slot(self.storage(node.out)) {
                if !matches!(node.op, Op::Alias) {
                    births[k] = n;
                    deaths[k] = deaths[k].max(n);
                }
            }
            for v in reads(&node.op) {
                if let Some(k) = slot(self.storage(v)) {
                    deaths[k] = deaths[k].max(n);
                }
            }
        }
        for p in &self.g.outputs {
            if let Some(k) = slot(self.storage(p.value)) {
                deaths[k] = nodes.len();
            }
        }
        let widths: Vec<&TokenStream> = arena.iter().map(|&s| &self.widths[s]).collect();
        quote!(#g::plan([#((#widths)),*], [#(#births),*], [#(#deaths),*]))
    }

    /// `Layer::ACTIVATIONS`: the stack array, and the most a layer called keeps.
    pub fn activations(&self) -> TokenStream {
        let plan = self.plan();
        let inner = self.g.nodes.iter().filter_map(|n| match &n.op {
            Op::Call { ty, .. } => {
                let l = layer(ty);
                Some(quote!(#l::ACTIVATIONS))
            }
            _ => None,
        });
        quote!(#plan.1 + ::nn::__private::max_width(&[#(#inner),*]))
    }

    /// The one-sample forward.
    pub fn one_sample(&self) -> TokenStream {
        let g = G();
        let nodes = &self.g.nodes;
        let arena = self.arena();
        let slot = |s: usize| arena.iter().position(|&a| a == s);
        let m = arena.len();
        let plan = self.plan();
        let mut out = vec![quote! {
            const __PLAN: ([usize; #m], usize) = #plan;
            let mut __arena = [0.0f32; __PLAN.1];
        }];
        // Where a value is: in the stack array (its slot) or in `x`.
        let place = |v: usize| -> Result<(usize, &TokenStream), TokenStream> {
            let s = self.storage(v);
            match slot(s) {
                Some(k) => Ok((k, &self.widths[s])),
                None => {
                    let i = self
                        .g
                        .inputs
                        .iter()
                        .position(|p| self.storage(p.value) == s)
                        .expect("a value outside the stack array is an input");
                    let (off, w) = (self.offset(&self.g.inputs, i), &self.widths[s]);
                    Err(quote!(&x[#off..#off + #w]))
                }
            }
        };
        for node in nodes {
            if matches!(node.op, Op::Input | Op::Alias) {
                continue;
            }
            let (k, wk) = place(node.out).expect("an operation makes a value of the stack array");
            // The values read: from the stack array through `parts`, or from `x`.
            let mut ins = Vec::new();
            let mut read = Vec::new();
            for v in reads(&node.op) {
                match place(v) {
                    Ok((kv, wv)) => {
                        let i = format_ident!("__i{}", ins.len());
                        ins.push(quote!((__PLAN.0[#kv], #wv)));
                        read.push(quote!(#i));
                    }
                    Err(from_x) => read.push(from_x),
                }
            }
            let names: Vec<syn::Ident> = (0..ins.len()).map(|i| format_ident!("__i{i}")).collect();
            let step = match &node.op {
                Op::Input | Op::Alias => continue,
                Op::Call { field, ty, .. } => {
                    let (l, a) = (layer(ty), &read[0]);
                    match field {
                        Some(f) => {
                            let this = f.this();
                            quote!(#l::forward(#this, #a, __o);)
                        }
                        None => quote!(#l::forward(&::nn::__private::zeroed::<#ty>(), #a, __o);),
                    }
                }
                Op::Add(..) | Op::Sub(..) | Op::Mul(..) => {
                    let f = binary_fn(&node.op);
                    let (a, b) = (&read[0], &read[1]);
                    quote!(#g::#f(#a, #b, __o);)
                }
                Op::Affine { k, c, .. } => {
                    let a = &read[0];
                    quote!(#g::affine(#a, #k, #c, __o);)
                }
                Op::Cat(parts) => {
                    let steps = parts.iter().enumerate().map(|(i, p)| {
                        let (src, wp) = (&read[i], &self.widths[*p]);
                        let off = self.part_offset(parts, i);
                        quote!(#g::place(#src, #wp, __o, #wk, #off, 1, false);)
                    });
                    quote!(#(#steps)*)
                }
                Op::Chunk { a, offset } => {
                    let (src, wa) = (&read[0], &self.widths[*a]);
                    quote!(#g::columns(#src, #wa, #offset, __o, #wk, 1);)
                }
            };
            out.push(spanned(
                node.span,
                quote!({
                    let (__o, [#(#names),*]) =
                        #g::parts(&mut __arena, (__PLAN.0[#k], #wk), [#(#ins),*]);
                    #step
                }),
            ));
        }
        for (i, p) in self.g.outputs.iter().enumerate() {
            let (k, w) = place(p.value).expect("an output is in the stack array");
            let off = self.offset(&self.g.outputs, i);
            out.push(quote!(y[#off..#off + #w].copy_from_slice(&__arena[__PLAN.0[#k]..__PLAN.0[#k] + #w]);));
        }
        quote!(#(#out)*)
    }
}
