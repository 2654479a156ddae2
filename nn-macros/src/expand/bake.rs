//! The `Bake` impl every network gets: its value from a weights file at compile time, when
//! it is nested in a network with `#[weights]`.

use proc_macro2::TokenStream;
use quote::quote;

use super::NetStruct;
use crate::weights;

/// `Bake` for the network, and the types that name its layers in a table's path. It
/// exists when every layer can be baked.
pub fn bake_impl(def: NetStruct<'_>) -> TokenStream {
    let (vis, ident, layers) = (def.vis, def.ident, def.layers);
    let (_, ty_g, _) = def.generics.split_for_impl();
    let name_types = layers.iter().filter(|l| !l.name.is_empty()).map(|l| {
        let ty = weights::name_type(ident, l);
        let name = &l.name;
        quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            #vis struct #ty;
            impl ::nn::__private::Name for #ty {
                const NAME: &'static str = #name;
            }
        }
    });
    let tables: Vec<TokenStream> = layers
        .iter()
        .map(|l| weights::child_table(ident, l, quote!(__T)))
        .collect();
    let tys: Vec<&TokenStream> = layers.iter().map(|l| &l.field_ty).collect();
    let baked = quote!(#(<#tys as ::nn::__private::Bake<#tables>>::BAKED),*);
    let baked = if def.named {
        let values = layers.iter().zip(&tables).map(|(l, t)| {
            let (f, ty) = (&l.field, &l.field_ty);
            quote!(#f: <#ty as ::nn::__private::Bake<#t>>::BAKED)
        });
        quote!(Self { #(#values),* })
    } else {
        quote!(Self(#baked))
    };
    let params = &def.generics.params;
    quote! {
        #(#name_types)*
        #[doc(hidden)]
        #[diagnostic::do_not_recommend]
        impl<__T: ::nn::__private::Table, #params> ::nn::__private::Bake<__T> for #ident #ty_g
        where
            #(#tys: ::nn::__private::Bake<#tables>,)*
        {
            const BAKED: Self = #baked;
            const TENSORS: usize = 0 #(+ <#tys as ::nn::__private::Bake<#tables>>::TENSORS)*;
        }
    }
}
