//! The network's struct: its fields, its `Clone`, the networks of its inline blocks, and
//! the impls every network has beside its `Layer` impl.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{bake, layer_impl, layer_paths, NetStruct};

/// The struct of a network, its `Layer` impl (a network is a layer of any network that
/// lists it), and the networks of its inline blocks. `describe` is how it is shown in a
/// summary.
pub fn expand_net(def: NetStruct<'_>) -> TokenStream {
    let (vis, ident, generics) = (def.vis, def.ident, def.generics);
    let (impl_g, ty_g, _) = generics.split_for_impl();
    let (attrs, cloned) = take_clone(def.attrs);
    let body = fields(def);
    let clone = clone_impl(def, cloned);
    let inline_nets = inline_nets(def, &attrs, cloned);
    let bake = bake::bake_impl(def);
    let lp = layer_paths(def.layers);
    let layer = layer_impl::layer_impl(def);
    // The one-sample layout: a forward written as code lays out its values (and the
    // regions of the networks it calls), a concrete chain its layers' outputs; a generic
    // chain keeps a buffer per layer.
    let layout = match def.graph {
        Some(g) => {
            let plan = super::graph::Plan::new(g);
            let (layout, m) = (plan.plan(), plan.slots());
            Some(quote! {
                #[doc(hidden)]
                pub const __LAYOUT: ([usize; #m], usize) = #layout;
            })
        }
        None => def.generics.params.is_empty().then(|| {
            let layout = layer_impl::chain_layout(&lp);
            let m = lp.len().saturating_sub(1);
            quote! {
                #[doc(hidden)]
                pub const __LAYOUT: ([usize; #m], usize) = #layout;
            }
        }),
    };
    quote! {
        #(#attrs)*
        #vis struct #ident #generics #body

        #clone

        #(#inline_nets)*

        #bake

        // SAFETY: every field is a layer (the `Layer` impl below uses each as one), and
        // `Layer` requires `Zeroable`, so all-zero bytes are a valid value of every field
        // and therefore of the struct.
        unsafe impl #impl_g ::nn::__private::Zeroable for #ident #ty_g {}

        impl #impl_g #ident #ty_g {
            /// The widest layer output.
            pub const MAX_WIDTH: usize = ::nn::__private::max_width(&[#(#lp::OUT),*]);
            #layout
        }

        #layer
    }
}

/// `attrs` without `Clone` in their derives, and whether it was there: a network's `Clone`
/// is generated instead, with a `clone_from` that clones each layer in place.
pub fn take_clone(attrs: &[syn::Attribute]) -> (Vec<syn::Attribute>, bool) {
    let mut found = false;
    let mut out = Vec::new();
    for a in attrs {
        if a.path().is_ident("derive") {
            let parsed = a.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            );
            if let Ok(list) = parsed {
                let (clone, rest): (Vec<syn::Path>, Vec<syn::Path>) = list
                    .into_iter()
                    .partition(|p| p.segments.last().is_some_and(|s| s.ident == "Clone"));
                if !clone.is_empty() {
                    found = true;
                    if !rest.is_empty() {
                        out.push(syn::parse_quote!(#[derive(#(#rest),*)]));
                    }
                    continue;
                }
            }
        }
        out.push(a.clone());
    }
    (out, found)
}

/// The struct's body: a field per layer, documented by its name where the user wrote no
/// documentation of their own.
fn fields(def: NetStruct<'_>) -> TokenStream {
    let NetStruct {
        vis, layers, named, ..
    } = def;
    let decl_fields = layers.iter().map(|l| {
        let attrs = &l.decl.attrs;
        let ty = &l.field_ty;
        let has_doc = attrs.iter().any(|a| a.path().is_ident("doc"));
        let doc = match (has_doc, l.name.is_empty()) {
            (true, _) => quote!(),
            (false, false) => {
                let text = format!(" Layer `{}`.", l.name);
                quote!(#[doc = #text])
            }
            (false, true) => quote!(#[doc(hidden)]),
        };
        let f = &l.field;
        if named {
            quote!(#doc #(#attrs)* #vis #f: #ty)
        } else {
            quote!(#doc #(#attrs)* #vis #ty)
        }
    });
    if named {
        quote!({ #(#decl_fields,)* })
    } else {
        quote!(( #(#decl_fields,)* );)
    }
}

/// The network's `Clone`, whose `clone_from` clones layer by layer in place. Every network
/// has it where all its layers are `Clone`, so that `#[derive(Clone)]` on a network holding
/// others needs no derive on them. Each layer's bound is written for any lifetime
/// (`for<'__c>`): a bound on a concrete type that does not hold then leaves the network
/// without `Clone` instead of failing to compile. Where the network derives `Clone`
/// (`derived`), each layer is checked to be `Clone`, one error naming the layer that is not.
fn clone_impl(def: NetStruct<'_>, derived: bool) -> TokenStream {
    let ident = def.ident;
    let (impl_g, ty_g, where_g) = def.generics.split_for_impl();
    let fields: Vec<&TokenStream> = def.layers.iter().map(|l| &l.field).collect();
    let tys: Vec<&TokenStream> = def.layers.iter().map(|l| &l.field_ty).collect();
    let values = fields
        .iter()
        .map(|f| quote!(::core::clone::Clone::clone(&self.#f)));
    let value = if def.named {
        quote!(Self { #(#fields: #values),* })
    } else {
        quote!(Self(#(#values),*))
    };
    let predicates = where_g.map(|w| {
        let p = w.predicates.iter();
        quote!(#(#p,)*)
    });
    let checks = derived.then(|| {
        let checks = def.layers.iter().map(|l| {
            let ty = &l.field_ty;
            quote_spanned!(l.decl.ty.span()=> ::nn::__private::assert_clone::<#ty>();)
        });
        quote! {
            const _: () = {
                #[allow(dead_code)]
                fn __layers_are_clone #impl_g () #where_g {
                    #(#checks)*
                }
            };
        }
    });
    quote! {
        impl #impl_g ::core::clone::Clone for #ident #ty_g
        where
            #predicates
            #(for<'__c> #tys: ::core::clone::Clone,)*
        {
            fn clone(&self) -> Self {
                #value
            }

            // Layer by layer, in place: a large layer never passes through the stack.
            fn clone_from(&mut self, source: &Self) {
                #(::core::clone::Clone::clone_from(&mut self.#fields, &source.#fields);)*
            }
        }
        #checks
    }
}

/// The networks of the inline blocks, expanded as networks of their own. `attrs` are the
/// network's, `Clone` taken out (`cloned`).
fn inline_nets(def: NetStruct<'_>, attrs: &[syn::Attribute], cloned: bool) -> Vec<TokenStream> {
    def.layers
        .iter()
        .filter_map(|l| {
            let h = l.inline_net.as_ref()?;
            // The network's derives (`Clone`, `Debug`) hold for its fields only if they
            // hold for the blocks' networks too.
            let derives = attrs
                .iter()
                .filter(|a| a.path().is_ident("derive"))
                .cloned();
            let clone: Option<syn::Attribute> = cloned.then(|| syn::parse_quote!(#[derive(Clone)]));
            let attrs: Vec<syn::Attribute> = std::iter::once(syn::parse_quote!(#[doc(hidden)]))
                .chain(derives)
                .chain(clone)
                .collect();
            Some(expand_net(NetStruct {
                attrs: &attrs,
                ident: &h.ident,
                describe: "Sequential",
                layers: &h.layers,
                in_image: None,
                named: false,
                checked: false,
                graph: None,
                ..def
            }))
        })
        .collect()
}
