//! The one-sample forward of a network written as code: its values in one stack array laid
//! out at compile time (`nn::__private::graph::plan`), a value's floats reused once the
//! last operation that reads it has run, so that a deep network needs the stack of its
//! widest moment, not of all its values. A network it calls (written as code too, with one
//! output) lays out its own values in a region of this array, around the value it makes,
//! in the floats this plan leaves free while it runs (`Layer::__forward_region`).

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

    /// The layer calls, each with the slot of the value it makes: each call's region (the
    /// layer's `__REGION`, its output inside) takes the slot after the storages'.
    fn calls(&self) -> Vec<(usize, usize)> {
        let arena = self.arena();
        let mut calls = Vec::new();
        for (n, node) in self.g.nodes.iter().enumerate() {
            if let Op::Call { .. } = node.op {
                let s = self.storage(node.out);
                if let Some(k) = arena.iter().position(|&a| a == s) {
                    calls.push((n, k));
                }
            }
        }
        calls
    }

    /// The number of values the plan lays out: the storages and the calls' regions.
    pub fn slots(&self) -> usize {
        self.arena().len() + self.calls().len()
    }

    /// `plan(widths, births, deaths, ties)` for the stack array, as a constant expression:
    /// the storages' offsets, then the calls' regions', and the array's length. A call's
    /// region is alive only while the call runs, tied around the value it makes.
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
        let mut widths: Vec<TokenStream> = arena.iter().map(|&s| self.widths[s].clone()).collect();
        let mut ties: Vec<TokenStream> = (0..arena.len()).map(|k| quote!((#k, 0))).collect();
        for (n, k) in self.calls() {
            let Op::Call { ty, .. } = &nodes[n].op else {
                unreachable!("a call")
            };
            let l = layer(ty);
            widths.push(quote!(#l::__REGION));
            ties.push(quote!((#k, #l::__REGION_OUT)));
            births.push(n);
            deaths.push(n);
        }
        quote!(#g::plan([#((#widths)),*], [#(#births),*], [#(#deaths),*], [#(#ties),*]))
    }

    /// The slot of the single output, where the network has one output and it is in the
    /// stack array: a network that calls this one then lays out this one's values in its
    /// own array.
    fn region_out(&self) -> Option<usize> {
        let arena = self.arena();
        match &self.g.outputs[..] {
            [only] => arena.iter().position(|&a| a == self.storage(only.value)),
            _ => None,
        }
    }

    /// The most a layer called keeps on the stack outside the region it is given.
    fn beside(&self) -> TokenStream {
        let inner = self.g.nodes.iter().filter_map(|n| match &n.op {
            Op::Call { ty, .. } => {
                let l = layer(ty);
                Some(quote!(#l::__BESIDE))
            }
            _ => None,
        });
        quote!(::nn::__private::max_width(&[#(#inner),*]))
    }

    /// `Layer::ACTIVATIONS`: the stack array (the values of the networks it calls inside),
    /// and the most a layer called keeps beside it.
    pub fn activations(&self) -> TokenStream {
        let beside = self.beside();
        quote!(<Self>::__LAYOUT.1 + #beside)
    }

    /// The items by which a network that calls this one lays out this one's values in its
    /// own stack array, where this one has a single output there: its region, the output's
    /// place in it, and the forward within it.
    pub fn region(&self) -> TokenStream {
        let Some(k) = self.region_out() else {
            return quote!();
        };
        let beside = self.beside();
        let steps = self.steps();
        quote! {
            const __REGION: usize = <Self>::__LAYOUT.1;
            const __REGION_OUT: usize = <Self>::__LAYOUT.0[#k];
            const __BESIDE: usize = #beside;

            fn __forward_region(&self, x: &[f32], region: &mut [f32]) {
                let __arena = &mut region[..Self::__LAYOUT.1];
                #steps
            }
        }
    }

    /// The one-sample forward: in its own stack array, then the outputs copied to `y`, or,
    /// with a single output in the array, through `__forward_region`.
    pub fn one_sample(&self) -> TokenStream {
        let arena = self.arena();
        let slot = |s: usize| arena.iter().position(|&a| a == s);
        let array = quote!(let mut __arena = [0.0f32; Self::__LAYOUT.1];);
        let steps = if self.region_out().is_some() {
            quote!(<Self as ::nn::Layer>::__forward_region(self, x, &mut __arena);)
        } else {
            let steps = self.steps();
            quote!(let __arena = &mut __arena[..]; #steps)
        };
        let mut out = vec![array, steps];
        for (i, p) in self.g.outputs.iter().enumerate() {
            let s = self.storage(p.value);
            let k = slot(s).expect("an output is in the stack array");
            let (off, w) = (self.offset(&self.g.outputs, i), &self.widths[s]);
            out.push(quote!(y[#off..#off + #w].copy_from_slice(&__arena[Self::__LAYOUT.0[#k]..Self::__LAYOUT.0[#k] + #w]);));
        }
        quote!(#(#out)*)
    }

    /// The operations in turn over `__arena` (`&mut [f32]`, laid out by `Self::__LAYOUT`),
    /// reading the inputs from `x`: a layer call within its region.
    fn steps(&self) -> TokenStream {
        let g = G();
        let nodes = &self.g.nodes;
        let arena = self.arena();
        let slot = |s: usize| arena.iter().position(|&a| a == s);
        let calls = self.calls();
        let mut out = Vec::new();
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
        for (n, node) in nodes.iter().enumerate() {
            if matches!(node.op, Op::Input | Op::Alias) {
                continue;
            }
            let (k, wk) = place(node.out).expect("an operation makes a value of the stack array");
            // What the operation writes: a layer call its region, another its value.
            let made = match (&node.op, calls.iter().position(|&(c, _)| c == n)) {
                (Op::Call { ty, .. }, Some(r)) => {
                    let (r, l) = (arena.len() + r, layer(ty));
                    quote!((Self::__LAYOUT.0[#r], #l::__REGION))
                }
                _ => quote!((Self::__LAYOUT.0[#k], #wk)),
            };
            // The values read: from the stack array through `parts`, or from `x`.
            let mut ins = Vec::new();
            let mut read = Vec::new();
            for v in reads(&node.op) {
                match place(v) {
                    Ok((kv, wv)) => {
                        let i = format_ident!("__i{}", ins.len());
                        ins.push(quote!((Self::__LAYOUT.0[#kv], #wv)));
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
                            quote!(#l::__forward_region(#this, #a, __o);)
                        }
                        None => {
                            quote!(#l::__forward_region(&::nn::__private::zeroed::<#ty>(), #a, __o);)
                        }
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
                    let (__o, [#(#names),*]) = #g::parts(&mut *__arena, #made, [#(#ins),*]);
                    #step
                }),
            ));
        }
        quote!(#(#out)*)
    }
}
