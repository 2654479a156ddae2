//! What `network!` emits for a network it refuses: beside the errors, a stand-in struct of
//! the same name with every item a valid network has, so that code using it adds no errors
//! of its own. One mistake gives one error, not one more at every `Net::new` (as thiserror
//! does for an invalid error type).
//!
//! The stand-in's bodies never run: the crate does not compile. Its typed methods take the
//! widths the declaration states when it states them (`Linear<784, ..>` first, `.., 10>`
//! last), so that calls still check against them, and any width otherwise.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::ast::{Input, LayerDecl};
use crate::expand::methods::{methods, Gate};
use crate::expand::take_clone;
use crate::size::Size;
use crate::valid::{classify, stated_widths, Keeps, Kind};

/// The items of network `ident`, for the errors `err`.
pub fn stub(input: &Input, err: syn::Error) -> TokenStream {
    let (attrs, vis, ident) = (&input.attrs, &input.vis, &input.ident);
    let err = err.to_compile_error();
    let name = ident.to_string();
    // Its generic sizes, so that `Net::<64>::new` still names it; nothing else.
    let params: Vec<&syn::ConstParam> = input.generics.const_params().collect();
    let param_names = params.iter().map(|p| &p.ident);
    let (impl_g, ty_g) = if params.is_empty() {
        (quote!(), quote!())
    } else {
        (quote!(<#(#params),*>), quote!(<#(#param_names),*>))
    };
    let weights = input.weights.as_ref().map(
        |_| quote!(impl #impl_g #ident #ty_g { #[doc(hidden)] pub const WEIGHTS: Self = #ident; }),
    );
    let never = format!("`{name}` did not compile: see the error on its declaration");
    let never = quote!(::core::unreachable!(#never));

    let (in_w, out_w) = widths(input);
    let (in_w, out_w) = (
        in_w.or_else(|| user_width(input, End::First)),
        out_w.or_else(|| user_width(input, End::Last)),
    );
    let layer_in = in_w.clone().unwrap_or_else(|| quote!(0));
    let layer_out = out_w.clone().unwrap_or_else(|| quote!(0));
    let mut lens = Vec::new();
    let in_len = array_len(in_w, "__IN", &mut lens);
    let out_len = array_len(out_w, "__OUT", &mut lens);

    // The typed methods of a valid network, from the same list.
    let methods = methods(&name, &in_len, &out_len, take_clone(attrs).1);
    let gated = |gate: Gate| {
        let items = methods.iter().filter(move |m| m.gate == gate);
        items.map(|m| m.stand_in(&lens, &never))
    };
    let (always, alloc, std) = (gated(Gate::Always), gated(Gate::Alloc), gated(Gate::Std));

    quote! {
        #err
        #(#attrs)*
        #vis struct #ident #impl_g;

        #weights

        // SAFETY: a unit struct has no bytes, so all-zero bytes are a valid value.
        unsafe impl #impl_g ::nn::__private::Zeroable for #ident #ty_g {}

        #[allow(unused_variables)]
        impl #impl_g ::nn::Layer for #ident #ty_g {
            const IN: usize = #layer_in;
            const OUT: usize = #layer_out;
            const PARAMS: usize = 0;
            fn describe(f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#name)
            }
            fn init(&mut self, rng: &mut ::nn::Rng) {}
            fn forward(&self, x: &[f32], y: &mut [f32]) {
                #never
            }
            fn backward(
                &self,
                io: ::nn::Backward<'_>,
                dx: ::core::option::Option<&mut [f32]>,
                grad: &mut [f32],
            ) {
                #never
            }
        }

        impl #impl_g ::nn::Network for #ident #ty_g {
            const NAME: &'static str = #name;
        }

        #[allow(unused_variables, clippy::all)]
        impl #impl_g #ident #ty_g {
            #[doc(hidden)]
            pub const IN: usize = #layer_in;
            #[doc(hidden)]
            pub const OUT: usize = #layer_out;
            #[doc(hidden)]
            pub const PARAMS: usize = 0;
            #[doc(hidden)]
            pub const MAX_WIDTH: usize = 0;
            #(#always)*
        }

        ::nn::__private::if_alloc! {
            #[allow(unused_variables, clippy::all)]
            impl #impl_g #ident #ty_g {
                #(#alloc)*
            }
        }

        ::nn::__private::if_std! {
            #[allow(unused_variables, clippy::all)]
            impl #impl_g #ident #ty_g {
                #(#std)*
            }
        }
    }
}

/// The length of a typed method's array: the width `stated`, or else a const parameter
/// named `param`, added to `lens`: an unknown width is whatever the caller's array has.
fn array_len(stated: Option<TokenStream>, param: &str, lens: &mut Vec<TokenStream>) -> TokenStream {
    match stated {
        Some(n) => n,
        None => {
            let param = syn::Ident::new(param, Span::call_site());
            lens.push(quote!(const #param: usize));
            quote!(#param)
        }
    }
}

/// Which end of the list of layers a width is read from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    First,
    Last,
}

/// The width at `end` of a network that is not generic, where the layer there (past the
/// width-keeping activations, at the last end) is a type of the user's: its `Layer`
/// constant. A width the caller cannot infer, such as an output, is then still known, and
/// code using the stand-in gets no "type annotations needed".
fn user_width(input: &Input, end: End) -> Option<TokenStream> {
    if !input.generics.params.is_empty() {
        return None;
    }
    let plain = |l: &&LayerDecl| l.pytorch.is_none() && l.inline.is_none();
    let layer = match end {
        End::First => input.layers.first().filter(plain)?,
        End::Last => input.layers.iter().rev().find(|l| {
            !matches!(
                classify(&l.ty),
                Ok(Kind::Activation(Keeps { width: None, .. }))
            )
        })?,
    };
    if !plain(&layer) || !matches!(classify(&layer.ty), Ok(Kind::User)) {
        return None;
    }
    let ty = &layer.ty;
    Some(match end {
        End::First => quote!(<#ty as ::nn::Layer>::IN),
        End::Last => quote!(<#ty as ::nn::Layer>::OUT),
    })
}

/// The input and output widths the declaration states as numbers, if it does: the first
/// layer's input (or `#[input(C, H, W)]`), the last sized layer's output.
fn widths(input: &Input) -> (Option<TokenStream>, Option<TokenStream>) {
    let lit = |s: Size| match s {
        Size::Lit(n) => {
            let n = n as usize;
            Some(quote!(#n))
        }
        Size::Expr(_) => None,
    };
    let (first, last) = stated_widths(&input.layers);
    let first = match &input.input {
        Some(shape) => lit(shape.size()),
        None => first.and_then(lit),
    };
    (first, last.and_then(lit))
}
