//! `#[derive(Parameters)]`: parse, validate, expand.
//!
//! `ast` reads the struct and its `#[param]` / `#[buffer]` attributes, `valid` holds every
//! rule, `expand` writes `nn::Parameters` and `nn::Zeroable`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ctxt::Ctxt;

mod ast;
mod expand;
mod valid;

/// The derive's output for `input`: the impls, or every error found beside stand-in impls.
pub fn derive(input: &DeriveInput) -> TokenStream {
    match try_expand(input) {
        Ok(tokens) => tokens,
        Err(e) => {
            let mut tokens = e.to_compile_error();
            tokens.extend(stub(input));
            tokens
        }
    }
}

fn try_expand(node: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Ctxt::default();
    let input = ast::Input::from_syn(node, &mut errors);
    let layer = valid::check(&input, &mut errors);
    errors.finish()?;
    Ok(expand::expand(&input, &layer))
}

/// Impls of both traits that a refused struct still gets, so that its `impl nn::Layer`
/// (which needs `Zeroable`) and its `nn::parameters!()` add no errors of their own: one
/// mistake, one error. They never run, nor do they make anything zeroable that is not:
/// the crate does not compile.
fn stub(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_g, ty_g, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_g ::nn::Parameters for #ident #ty_g #where_clause {
            const PARAM_COUNT: usize = 0;
            fn param_fields(&self, _: &mut ::nn::ParamVisitor<'_>) {}
            fn param_fields_mut(&mut self, _: &mut dyn ::core::ops::FnMut(&'static str, &mut [f32])) {}
            fn buffer_fields(&self, _: &mut ::nn::BufferVisitor<'_>) {}
            fn buffer_fields_mut(
                &mut self,
                _: &mut dyn ::core::ops::FnMut(&'static str, ::nn::BufferMut<'_>),
            ) {
            }
        }
        // SAFETY: never compiled into a program: the errors beside it stop the build.
        unsafe impl #impl_g ::nn::Zeroable for #ident #ty_g #where_clause {}
    }
}
