//! The objective written after a forward: a method, named as the user named it, that
//! computes the loss of the last training pass against the targets and leaves its gradient
//! with respect to the outputs on the tape, where backward starts.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::graph::{Graph, Objective, Scalar, TermKind};

/// The objective's method, for `impl Net { .. }`.
pub fn method(g: &Graph, obj: &Objective) -> TokenStream {
    let name = &obj.name;
    let out_width = {
        let ws = g.outputs.iter().map(|p| &g.values[p.value].width);
        quote!((0 #(+ #ws)*))
    };
    let offsets: Vec<TokenStream> = (0..g.outputs.len())
        .map(|i| {
            let ws = g.outputs[..i].iter().map(|p| &g.values[p.value].width);
            quote!((0 #(+ #ws)*))
        })
        .collect();
    let widths: Vec<&TokenStream> = g.outputs.iter().map(|p| &g.values[p.value].width).collect();
    let params = obj.targets.iter().map(|t| {
        let n = &t.name;
        match t.width {
            Some(_) => quote!(#n: &[f32]),
            None => quote!(#n: &[usize]),
        }
    });
    let checks = obj.targets.iter().map(|t| {
        let n = &t.name;
        let (w, what) = match &t.width {
            Some(w) => (w.clone(), "values"),
            None => (quote!(1), "labels"),
        };
        let msg =
            format!("the target `{n}` has {{}} {what}, but the batch of {{}} rows needs {{}}");
        quote!(::core::assert!(#n.len() == batch * #w, #msg, #n.len(), batch, batch * #w);)
    });
    let terms = obj.terms.iter().map(|t| {
        let coeff = &t.coeff;
        match &t.kind {
            TermKind::Loss {
                loss,
                output,
                target,
            } => {
                let (off, w) = (&offsets[*output], widths[*output]);
                let target = &obj.targets[*target].name;
                quote! {
                    __total += ::nn::__private::graph::loss_term(
                        &#loss, __out, #out_width, #off, #w, #target, #coeff, __dy, __scratch,
                    );
                }
            }
            TermKind::Reduce { mean, width, expr } => {
                reduce(obj, &offsets, &out_width, coeff, *mean, width, expr)
            }
        }
    });
    let doc = format!(
        " The objective `{name}` written after the forward: the loss of the last training pass \
         (`forward_train`) against the targets. It leaves the loss's gradient with respect to \
         the outputs on the tape, where `backward` starts."
    );
    quote! {
        #[doc = #doc]
        #[allow(clippy::too_many_arguments, clippy::needless_range_loop, unused_mut, unused_variables)]
        pub fn #name(&self, tape: &mut ::nn::Tape<Self>, #(#params),*) -> f32 {
            let (__out, __dy, __scratch, batch) = tape.__objective_parts();
            #(#checks)*
            let mut __total = 0.0f32;
            #(#terms)*
            __total
        }
    }
}

/// `sum(expr)` or `mean(expr)`: a loop over every element, computing the expression and,
/// by reverse differentiation of it, its gradient with respect to each output it reads.
fn reduce(
    obj: &Objective,
    offsets: &[TokenStream],
    out_width: &TokenStream,
    coeff: &TokenStream,
    mean: bool,
    width: &TokenStream,
    expr: &Scalar,
) -> TokenStream {
    let mut nodes: Vec<(&Scalar, Vec<usize>)> = Vec::new();
    let root = flatten(expr, &mut nodes);
    let e = |i: usize| format_ident!("__e{i}");
    let d = |i: usize| format_ident!("__d{i}");
    let mut fwd = Vec::new();
    for (i, (s, kids)) in nodes.iter().enumerate() {
        let k: Vec<syn::Ident> = kids.iter().map(|k| e(*k)).collect();
        let v = match s {
            Scalar::Output(o) => {
                let off = &offsets[*o];
                quote!(__out[__r * #out_width + #off + __j])
            }
            Scalar::Target(t) => {
                let n = &obj.targets[*t].name;
                quote!(#n[__r * __w + __j])
            }
            Scalar::Number(n) => quote!(#n),
            Scalar::Add(..) => bin(&k, quote!(+)),
            Scalar::Sub(..) => bin(&k, quote!(-)),
            Scalar::Mul(..) => bin(&k, quote!(*)),
            Scalar::Div(..) => bin(&k, quote!(/)),
            Scalar::Neg(..) => {
                let a = &k[0];
                quote!(-#a)
            }
            Scalar::Exp(..) => {
                let a = &k[0];
                quote!(::nn::__private::libm::expf(#a))
            }
            Scalar::Log(..) => {
                let a = &k[0];
                quote!(::nn::__private::libm::logf(#a))
            }
        };
        let name = e(i);
        fwd.push(quote!(let #name: f32 = #v;));
    }
    let mut back = Vec::new();
    let zeros = (0..nodes.len()).map(|i| {
        let n = d(i);
        quote!(let mut #n = 0.0f32;)
    });
    let dr = d(root);
    back.push(quote!(#dr = 1.0;));
    for (i, (s, kids)) in nodes.iter().enumerate().rev() {
        let (di, ei) = (d(i), e(i));
        let step = match (s, &kids[..]) {
            (Scalar::Add(..), [a, b]) => {
                let (da, db) = (d(*a), d(*b));
                quote!(#da += #di; #db += #di;)
            }
            (Scalar::Sub(..), [a, b]) => {
                let (da, db) = (d(*a), d(*b));
                quote!(#da += #di; #db -= #di;)
            }
            (Scalar::Mul(..), [a, b]) => {
                let (da, db, ea, eb) = (d(*a), d(*b), e(*a), e(*b));
                quote!(#da += #di * #eb; #db += #di * #ea;)
            }
            (Scalar::Div(..), [a, b]) => {
                let (da, db, eb) = (d(*a), d(*b), e(*b));
                quote!(#da += #di / #eb; #db -= #di * #ei / #eb;)
            }
            (Scalar::Neg(..), [a]) => {
                let da = d(*a);
                quote!(#da -= #di;)
            }
            (Scalar::Exp(..), [a]) => {
                let da = d(*a);
                quote!(#da += #di * #ei;)
            }
            (Scalar::Log(..), [a]) => {
                let (da, ea) = (d(*a), e(*a));
                quote!(#da += #di / #ea;)
            }
            (Scalar::Output(o), []) => {
                let off = &offsets[*o];
                quote!(__dy[__r * #out_width + #off + __j] += __k * #di;)
            }
            _ => quote!(),
        };
        back.push(step);
    }
    let er = e(root);
    let scale = if mean {
        quote!(#coeff / (batch * __w).max(1) as f32)
    } else {
        quote!(#coeff)
    };
    quote!({
        let __w: usize = #width;
        let __k: f32 = #scale;
        let mut __sum = 0.0f64;
        for __r in 0..batch {
            for __j in 0..__w {
                #(#fwd)*
                __sum += f64::from(#er);
                #(#zeros)*
                #(#back)*
            }
        }
        __total += __k * (__sum as f32);
    })
}

/// `a op b` of the two children's values.
fn bin(k: &[syn::Ident], op: TokenStream) -> TokenStream {
    let (a, b) = (&k[0], &k[1]);
    quote!(#a #op #b)
}

/// The nodes of `s` in evaluation order, each with its children's indices; returns the
/// root's index.
fn flatten<'a>(s: &'a Scalar, nodes: &mut Vec<(&'a Scalar, Vec<usize>)>) -> usize {
    let kids = match s {
        Scalar::Add(a, b) | Scalar::Sub(a, b) | Scalar::Mul(a, b) | Scalar::Div(a, b) => {
            vec![flatten(a, nodes), flatten(b, nodes)]
        }
        Scalar::Neg(a) | Scalar::Exp(a) | Scalar::Log(a) => vec![flatten(a, nodes)],
        _ => Vec::new(),
    };
    nodes.push((s, kids));
    nodes.len() - 1
}

/// `forward_parts`, for a forward of several inputs or outputs: one sample, its inputs and
/// outputs as arrays by name, in the order of `fn forward`, with no heap.
pub fn parts_method(g: &Graph) -> Option<TokenStream> {
    if g.inputs.len() < 2 && g.outputs.len() < 2 {
        return None;
    }
    let width = |p: &crate::graph::Port| g.values[p.value].width.clone();
    let names: Vec<syn::Ident> = g
        .inputs
        .iter()
        .map(|p| format_ident!("{}", p.name))
        .collect();
    let in_w: Vec<TokenStream> = g.inputs.iter().map(width).collect();
    let out_w: Vec<TokenStream> = g.outputs.iter().map(width).collect();
    let out_names: Vec<String> = g.outputs.iter().map(|p| p.name.clone()).collect();
    let offsets = |ws: &[TokenStream]| -> Vec<TokenStream> {
        (0..ws.len())
            .map(|i| {
                let before = &ws[..i];
                quote!((0 #(+ #before)*))
            })
            .collect()
    };
    let (in_off, out_off) = (offsets(&in_w), offsets(&out_w));
    let outs = (0..out_w.len()).map(|i| {
        let (o, w) = (&out_off[i], &out_w[i]);
        quote!({
            let mut __part = [0.0f32; #w];
            __part.copy_from_slice(&__y[#o..#o + #w]);
            __part
        })
    });
    let doc = format!(
        " One sample through the forward, its inputs ({}) and outputs ({}) apart; no heap.",
        g.inputs
            .iter()
            .map(|p| format!("`{}`", p.name))
            .collect::<Vec<_>>()
            .join(", "),
        out_names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Some(quote! {
        #[doc = #doc]
        pub fn forward_parts(&self, #(#names: &[f32; #in_w]),*) -> (#([f32; #out_w]),*) {
            let mut __x = [0.0f32; <Self as ::nn::Layer>::IN];
            #(__x[#in_off..#in_off + #in_w].copy_from_slice(#names);)*
            let mut __y = [0.0f32; <Self as ::nn::Layer>::OUT];
            ::nn::Layer::forward(self, &__x, &mut __y);
            (#(#outs),*)
        }
    })
}
