//! The code `#[derive(Parameters)]` writes: `nn::Parameters`, and `nn::Zeroable` once each
//! field's type is proven zeroable.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::Input;
use super::valid::{Layer, StateField, Storage};

/// The impls for a struct that passed validation.
pub fn expand(input: &Input, layer: &Layer) -> TokenStream {
    let ident = input.ident;
    let (impl_g, ty_g, where_clause) = input.generics.split_for_impl();

    // Checked in the body of a constant of the same impl header as the `Zeroable` impl: the
    // compiler proves each field zeroable for every instance that impl covers, and a field
    // that is not is an error at that field.
    let zeroable = layer.fields.iter().map(|field| {
        let ty = field.ty;
        quote_spanned!(ty.span()=> ::nn::__private::assert_zeroable::<#ty>();)
    });
    let count = layer.params.iter().map(|p| match &p.storage {
        Storage::Floats(dims) => quote!(1 #(* (#dims))*),
        // Validation allows counters among buffers only.
        Storage::Count => quote!(0),
    });

    let params = layer.params.iter().map(|e| visit(e, false, false));
    let params_mut = layer.params.iter().map(|e| visit(e, false, true));
    let buffers = layer.buffers.iter().map(|e| visit(e, true, false));
    let buffers_mut = layer.buffers.iter().map(|e| visit(e, true, true));
    let (f_params, f_buffers) = (visitor(&layer.params), visitor(&layer.buffers));

    quote! {
        #[automatically_derived]
        impl #impl_g ::nn::Parameters for #ident #ty_g #where_clause {
            const PARAM_COUNT: usize = {
                #(#zeroable)*
                0 #(+ #count)*
            };

            fn param_fields(&self, #f_params: &mut ::nn::ParamVisitor<'_>) {
                #(#params)*
            }

            fn param_fields_mut(
                &mut self,
                #f_params: &mut dyn ::core::ops::FnMut(&'static str, &mut [f32]),
            ) {
                #(#params_mut)*
            }

            fn buffer_fields(&self, #f_buffers: &mut ::nn::BufferVisitor<'_>) {
                #(#buffers)*
            }

            fn buffer_fields_mut(
                &mut self,
                #f_buffers: &mut dyn ::core::ops::FnMut(&'static str, ::nn::BufferMut<'_>),
            ) {
                #(#buffers_mut)*
            }
        }

        // SAFETY: `PARAM_COUNT` above compiles only if every field's type is `Zeroable`,
        // under the same generics and bounds as this impl; a struct of zeroable fields is
        // zeroable (padding may hold any bytes).
        #[automatically_derived]
        unsafe impl #impl_g ::nn::Zeroable for #ident #ty_g #where_clause {}
    }
}

/// The name of the visitor argument: `f`, or `_` where there is nothing to visit.
fn visitor(entries: &[StateField]) -> TokenStream {
    if entries.is_empty() {
        quote!(_)
    } else {
        quote!(f)
    }
}

/// The visitor's call for one entry: `f(name, shape, value)`, or mutably
/// `f(name, value)`; `buffer` wraps the value in `nn::Buffer` (`nn::BufferMut`).
fn visit(entry: &StateField, buffer: bool, mutable: bool) -> TokenStream {
    let (name, member) = (&entry.name, &entry.field.member);
    let span = entry.field.original.span();
    let (shape, value) = match &entry.storage {
        Storage::Floats(dims) => {
            let values = flat(quote_spanned!(span=> self.#member), dims.len(), mutable);
            let value = match (buffer, mutable) {
                (false, _) => values,
                (true, false) => quote_spanned!(span=> ::nn::Buffer::F32(#values)),
                (true, true) => quote_spanned!(span=> ::nn::BufferMut::F32(#values)),
            };
            (quote_spanned!(span=> &[#(#dims),*]), value)
        }
        Storage::Count if mutable => (
            quote!(),
            quote_spanned!(span=> ::nn::BufferMut::Count(&mut self.#member)),
        ),
        Storage::Count => (
            quote_spanned!(span=> &[]),
            quote_spanned!(span=> ::nn::Buffer::Count(self.#member)),
        ),
    };
    if mutable {
        quote_spanned!(span=> f(#name, #value);)
    } else {
        quote_spanned!(span=> f(#name, #shape, #value);)
    }
}

/// `place` (an array nested `depth` deep) as one flat slice, in memory order: the slice
/// methods of the standard library, so no `unsafe`.
fn flat(place: TokenStream, depth: usize, mutable: bool) -> TokenStream {
    if depth <= 1 {
        return if mutable {
            quote!(&mut #place[..])
        } else {
            quote!(&#place[..])
        };
    }
    let step = if mutable {
        quote!(.as_flattened_mut())
    } else {
        quote!(.as_flattened())
    };
    let steps = (1..depth).map(|_| step.clone());
    quote!(#place #(#steps)*)
}
