//! The generated code of a valid network: [`expand`] puts together the struct and its
//! impls (`item`, `layer_impl`, `bake`), the checks left to the compiler, and the typed
//! methods (`methods`, whose list the stand-in of a refused network shares).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::Input;
use crate::valid::{self, ImageCheck, Net, Resolved};
use crate::weights;

mod bake;
mod graph;
mod item;
mod layer_impl;
pub mod methods;
mod objective;

pub use item::take_clone;
use methods::Gate;

pub fn expand(input: Input) -> TokenStream {
    match valid::check(&input) {
        // `dtype = int8`: the declaration's int8 form, a struct of its own.
        Ok(net) if input.weights.as_ref().is_some_and(|a| a.int8) => {
            let attr = input.weights.as_ref().expect("checked");
            weights::expand_int8(&input, &net, attr)
        }
        Ok(net) => {
            let mut out = expand_valid(&input, &net);
            if let Some(attr) = &input.weights {
                out.extend(weights::expand(&input, &net, attr));
            }
            out
        }
        // A stand-in of the struct, so that code naming it gets no follow-on errors.
        Err(e) => crate::stub::stub(&input, e),
    }
}

/// `<Type as ::nn::Layer>` for each layer, spanned on the user's layer, so that a type
/// that is not a layer gives one error there, however often the expansion names it.
fn layer_paths(layers: &[Resolved<'_>]) -> Vec<TokenStream> {
    layers
        .iter()
        .map(|l| {
            let ty = &l.field_ty;
            quote_spanned!(l.decl.ty.span()=> <#ty as ::nn::Layer>)
        })
        .collect()
}

/// A network struct to expand: the one the user declared, or an inline block's.
#[derive(Clone, Copy)]
struct NetStruct<'a> {
    attrs: &'a [syn::Attribute],
    vis: &'a syn::Visibility,
    ident: &'a syn::Ident,
    generics: &'a syn::Generics,
    /// How the summary shows it.
    describe: &'a str,
    layers: &'a [Resolved<'a>],
    /// Whether the struct has named fields.
    named: bool,
    /// Whether it has generic size assertions (`__CHECKS`) to evaluate.
    checked: bool,
    /// The image it takes, where `#[input(C, H, W)]` declares one.
    in_image: Option<&'a [TokenStream; 3]>,
    /// The forward written as code, where it is one.
    graph: Option<&'a crate::graph::Graph>,
}

/// Everything a valid network expands to but its `WEIGHTS`.
fn expand_valid(input: &Input, net: &Net<'_>) -> TokenStream {
    let (attrs, vis, ident) = (&input.attrs, &input.vis, &input.ident);
    let name_str = input.shown_as.clone().unwrap_or_else(|| ident.to_string());
    let generics = &input.generics;
    let (impl_g, ty_g, _) = generics.split_for_impl();
    let in_image = input
        .input
        .as_ref()
        .map(|s| [s.c.expr(), s.h.expr(), s.w.expr()]);
    let layer = item::expand_net(NetStruct {
        attrs,
        vis,
        ident,
        generics,
        describe: &name_str,
        layers: &net.layers,
        named: net.named,
        checked: !net.generic_asserts.is_empty(),
        in_image: in_image.as_ref(),
        graph: net.graph.as_deref(),
    });
    let checks = compiler_checks(input, net);
    let input_image = match &input.input {
        Some(shape) => {
            let (c, h, w) = (shape.c.expr(), shape.h.expr(), shape.w.expr());
            quote!(const INPUT_IMAGE: ::core::option::Option<[usize; 3]> = ::core::option::Option::Some([#c, #h, #w]);)
        }
        None => quote!(),
    };
    // The typed methods' array lengths: the constants, or in a generic network the sizes
    // as written.
    let (in_len, out_len) = match &net.sizes {
        Some((i, o)) => (i.clone(), o.clone()),
        None => (quote!(#ident::IN), quote!(#ident::OUT)),
    };
    let methods = methods::methods(&name_str, &in_len, &out_len, item::take_clone(attrs).1);
    let gated = |gate: Gate| {
        let span = ident.span();
        let items = methods.iter().filter(move |m| m.gate == gate);
        items.map(move |m| m.real(span))
    };
    let (always, alloc, std) = (gated(Gate::Always), gated(Gate::Alloc), gated(Gate::Std));
    let in_doc = format!(" Input features per sample of `{name_str}`.");
    let objective = net
        .graph
        .as_deref()
        .and_then(|g| Some(objective::method(g, g.objective.as_ref()?)));
    let parts = net.graph.as_deref().and_then(objective::parts_method);

    // The networks declared from templates for this one's layers.
    let instances = net.layers.iter().filter_map(|l| {
        let u = l.decl.template.as_ref()?;
        let (width, image) = match &l.given {
            Some((w, i)) => (Some(w), i.as_ref()),
            None => (None, None),
        };
        Some(crate::template::instance(u, &l.decl.ty, image, width))
    });
    quote! {
        #(#instances)*

        #layer

        #checks

        impl #impl_g ::nn::Network for #ident #ty_g {
            const NAME: &'static str = #name_str;
            #input_image
        }

        impl #impl_g #ident #ty_g {
            #[doc = #in_doc]
            pub const IN: usize = <Self as ::nn::Layer>::IN;
            /// Output features per sample.
            pub const OUT: usize = <Self as ::nn::Layer>::OUT;
            /// Trainable numbers in all layers.
            pub const PARAMS: usize = <Self as ::nn::Layer>::PARAMS;
            #(#always)*
            #parts
        }

        ::nn::__private::if_alloc! {
            // Rows of targets as wide as the output fit it (`Tape::loss` takes only these).
            impl #impl_g ::nn::loss::Target<#ident #ty_g> for [[f32; #out_len]] {}
        }

        ::nn::__private::if_alloc! {
            impl #impl_g #ident #ty_g {
                #(#alloc)*
                #objective
            }
        }

        ::nn::__private::if_std! {
            impl #impl_g #ident #ty_g {
                #(#std)*
            }
        }
    }
}

/// What the compiler checks: the sizes the macro could not compare ([`Net::checks`]),
/// the constant assertions, and a generic network's `__CHECKS`.
fn compiler_checks(input: &Input, net: &Net<'_>) -> TokenStream {
    let ident = &input.ident;
    let (impl_g, ty_g, _) = input.generics.split_for_impl();
    let type_checks = net.checks.iter().map(|c| {
        let (prev, input) = (&c.prev, &c.input);
        // The checked type opens at the layer's first token and closes at its last, so
        // that the error underlines the whole layer.
        let close = quote_spanned!(c.span.1=> >);
        let features = quote_spanned!(c.span.0=> ::nn::Features<#input #close);
        let check = if c.keeps {
            quote!(::nn::KeepsWidth)
        } else {
            quote!(::nn::FitsAfter)
        };
        let Some(image) = &c.image else {
            return quote_spanned! {c.span.0=>
                const _: () = <#features as #check<::nn::Features<#prev>>>::OK;
            };
        };
        // Where images meet, they are compared as images, and otherwise by width; each
        // check holds trivially where the other applies.
        let dim = |img: &TokenStream, i: usize| quote!({ ::nn::__private::image_dim(#img, #i, 0) });
        let when = |on: &TokenStream, n: &TokenStream| quote!({ ::nn::__private::when(#on, #n) });
        let (on, this, other) = match image {
            ImageCheck::After { layer, prev } => {
                let takes = quote!(<#layer as ::nn::Layer>::IN_IMAGE);
                let on = quote!(#takes.is_some());
                let this = [dim(&takes, 0), dim(&takes, 1), dim(&takes, 2)];
                let other = [
                    when(&on, &prev[0]),
                    when(&on, &prev[1]),
                    when(&on, &prev[2]),
                ];
                (on, this, other)
            }
            ImageCheck::Keeps { layer } => {
                let takes = quote!(<#layer as ::nn::Layer>::IN_IMAGE);
                let makes = quote!(<#layer as ::nn::Layer>::OUT_IMAGE);
                let on = quote!((#takes.is_some() && #makes.is_some()));
                let this = [dim(&makes, 0), dim(&makes, 1), dim(&makes, 2)];
                let other = [dim(&takes, 0), dim(&takes, 1), dim(&takes, 2)];
                (on, this, other)
            }
        };
        let not = quote!(!#on);
        let flat_this = when(&not, input);
        let flat_other = when(&not, prev);
        let [t0, t1, t2] = this;
        let [o0, o1, o2] = other;
        let flat = quote_spanned!(c.span.0=> ::nn::Features<#flat_this #close);
        let image = quote_spanned!(c.span.0=> ::nn::Image<#t0, #t1, #t2 #close);
        quote_spanned! {c.span.0=>
            const _: () = <#flat as #check<::nn::Features<#flat_other>>>::OK;
            const _: () = <#image as #check<::nn::Image<#o0, #o1, #o2>>>::OK;
        }
    });
    let asserts = &net.asserts;
    let checks = &net.generic_asserts;
    let generic_checks = (!checks.is_empty()).then(|| {
        quote! {
            impl #impl_g #ident #ty_g {
                #[doc(hidden)]
                const __CHECKS: () = { #(#checks)* };
            }
        }
    });
    quote! {
        #(#type_checks)*
        #(#asserts)*

        #generic_checks
    }
}
