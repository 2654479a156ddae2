//! The generated struct and its impls.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::Input;
use crate::valid::{self, Net, Resolved};
use crate::weights;

pub fn expand(input: Input) -> TokenStream {
    match valid::check(&input) {
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
}

/// The struct of a network, its `Layer` impl (a network is a layer of any network that
/// lists it), and the networks of its inline blocks. `describe` is how it is shown in a
/// summary.
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

fn expand_layer(def: NetStruct<'_>) -> TokenStream {
    let NetStruct {
        attrs,
        vis,
        ident,
        generics,
        describe,
        layers,
        named,
        checked,
    } = def;
    let (impl_g, ty_g, _) = generics.split_for_impl();
    let generic = !generics.params.is_empty();
    let (attrs, cloned) = take_clone(attrs);
    let n = layers.len();
    let fields: Vec<&TokenStream> = layers.iter().map(|l| &l.field).collect();
    let names: Vec<&String> = layers.iter().map(|l| &l.name).collect();
    let spans: Vec<Span> = layers.iter().map(|l| l.decl.ty.span()).collect();
    let lp = layer_paths(layers);
    let first = &lp[0];
    let last = &lp[n - 1];

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
    let body = if named {
        quote!({ #(#decl_fields,)* })
    } else {
        quote!(( #(#decl_fields,)* );)
    };

    let images = layers.iter().map(|l| match &l.image {
        Some([c, h, w]) => quote!(::core::option::Option::Some([#c, #h, #w])),
        None => quote!(::core::option::Option::None),
    });

    // One-sample forward: two stack buffers used in turn, the last layer writing `y`.
    let mut one = Vec::new();
    let mut src = quote!(x);
    for i in 0..n {
        let (f, l) = (fields[i], &lp[i]);
        let width = quote!(#l::OUT);
        let buf = if i % 2 == 0 { quote!(__a) } else { quote!(__b) };
        let dst = if i == n - 1 {
            quote!(y)
        } else {
            quote!(&mut #buf[..#width])
        };
        one.push(quote_spanned!(spans[i]=> #l::forward(&self.#f, #src, #dst);));
        src = quote!(&#buf[..#width]);
    }
    let mut buffers = match n {
        1 => quote!(),
        2 => quote!(let mut __a = [0.0f32; Self::MAX_WIDTH];),
        _ => quote!(
            let mut __a = [0.0f32; Self::MAX_WIDTH];
            let mut __b = [0.0f32; Self::MAX_WIDTH];
        ),
    };
    if generic {
        // Stable Rust cannot size an array by a constant computed from generic parameters:
        // each layer's output gets a buffer of its own width instead (a number, a `const`
        // item or a bare parameter, as validation ensured).
        one.clear();
        buffers = quote!();
        let mut src = quote!(x);
        for i in 0..n {
            let (f, l) = (fields[i], &lp[i]);
            if i == n - 1 {
                one.push(quote_spanned!(spans[i]=> #l::forward(&self.#f, #src, y);));
            } else {
                let buf = syn::Ident::new(&format!("__o{i}"), Span::call_site());
                let width = &layers[i].width;
                one.push(quote_spanned!(spans[i]=>
                    let mut #buf = [0.0f32; #width];
                    #l::forward(&self.#f, #src, &mut #buf);
                ));
                src = quote!(&#buf);
            }
        }
    }
    let describe = if generic {
        let params: Vec<&syn::Ident> = generics.const_params().map(|c| &c.ident).collect();
        let format = format!("{describe}<{}>", vec!["{}"; params.len()].join(", "));
        quote!(::core::write!(f, #format, #(#params),*))
    } else {
        quote!(f.write_str(#describe))
    };
    // A generic network's size assertions are evaluated wherever its sizes are used:
    // naming the constant in a function makes it part of every instance of the function.
    let assert = checked.then(|| quote!(let () = <Self>::__CHECKS;));
    let input = if checked {
        quote!({
            #assert
            #first::IN
        })
    } else {
        quote!(#first::IN)
    };

    let batch_steps = (0..n).map(|i| {
        let (f, l) = (fields[i], &lp[i]);
        quote_spanned! {spans[i]=> {
            let (__x, __y, __c) = ::nn::__private::forward_io(__layers, batch, #i, x, y, cache);
            #l::forward_batch(&self.#f, __x, __y, batch, __c);
        }}
    });
    let train_steps = (0..n).map(|i| {
        let (f, l, name) = (fields[i], &lp[i], names[i]);
        quote_spanned! {spans[i]=> {
            let (__x, __y, __c) = ::nn::__private::forward_io(__layers, batch, #i, x, y, cache);
            #l::forward_train(&mut self.#f, __x, __y, batch, __c)
                .map_err(|e| e.in_layer(#name))?;
        }}
    });
    let back_steps = (0..n).rev().map(|i| {
        let (f, l) = (fields[i], &lp[i]);
        quote_spanned! {spans[i]=> {
            let __start = __end - #l::PARAMS;
            let (__io, __dx) = ::nn::__private::backward_io(__layers, &mut io, &mut dx, #i);
            #l::backward(&self.#f, __io, __dx, &mut grad[__start..__end]);
            __end = __start;
        }}
    });
    // A layer left unnamed has no state of its own to name: it walks under this path.
    let paths: Vec<TokenStream> = layers
        .iter()
        .map(|l| {
            let name = &l.name;
            if name.is_empty() {
                quote!(path)
            } else {
                quote!(&path.child(#name))
            }
        })
        .collect();

    // `Bake`: the network's value from a weights file at compile time, when it is nested
    // in a network with `#[weights]`. It exists when every layer can be baked.
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
    let baked = if named {
        let values = layers.iter().zip(&tables).map(|(l, t)| {
            let (f, ty) = (&l.field, &l.field_ty);
            quote!(#f: <#ty as ::nn::__private::Bake<#t>>::BAKED)
        });
        quote!(Self { #(#values),* })
    } else {
        quote!(Self(#baked))
    };
    let params = &generics.params;
    let bake = quote! {
        #(#name_types)*
        #[doc(hidden)]
        #[diagnostic::do_not_recommend]
        impl<__T: ::nn::__private::Table, #params> ::nn::__private::Bake<__T> for #ident #ty_g
        where
            #(#tys: ::nn::__private::Bake<#tables>,)*
        {
            const BAKED: Self = #baked;
        }
    };

    let hidden = layers.iter().filter_map(|l| {
        let h = l.inline_net.as_ref()?;
        // The network's derives (`Clone`, `Debug`) hold for its fields only if they hold
        // for the blocks' networks too.
        let derives = attrs
            .iter()
            .filter(|a| a.path().is_ident("derive"))
            .cloned();
        let clone: Option<syn::Attribute> = cloned.then(|| syn::parse_quote!(#[derive(Clone)]));
        let attrs: Vec<syn::Attribute> = std::iter::once(syn::parse_quote!(#[doc(hidden)]))
            .chain(derives)
            .chain(clone)
            .collect();
        Some(expand_layer(NetStruct {
            attrs: &attrs,
            ident: &h.ident,
            describe: "Sequential",
            layers: &h.layers,
            named: false,
            checked: false,
            ..def
        }))
    });

    let clone = cloned.then(|| {
        let values = fields
            .iter()
            .map(|f| quote!(::core::clone::Clone::clone(&self.#f)));
        let value = if named {
            quote!(Self { #(#fields: #values),* })
        } else {
            quote!(Self(#(#values),*))
        };
        quote! {
            impl #impl_g ::core::clone::Clone for #ident #ty_g {
                fn clone(&self) -> Self {
                    #value
                }

                // Layer by layer, in place: a large layer never passes through the stack.
                fn clone_from(&mut self, source: &Self) {
                    #(::core::clone::Clone::clone_from(&mut self.#fields, &source.#fields);)*
                }
            }
        }
    });

    quote! {
        #(#attrs)*
        #vis struct #ident #generics #body

        #clone

        #(#hidden)*

        #bake

        // SAFETY: every field is a layer (the `Layer` impl below uses each as one), and
        // `Layer` requires `Zeroable`, so all-zero bytes are a valid value of every field
        // and therefore of the struct.
        unsafe impl #impl_g ::nn::__private::Zeroable for #ident #ty_g {}

        impl #impl_g #ident #ty_g {
            /// The widest layer output: the one-sample pass uses two stack buffers of it.
            pub const MAX_WIDTH: usize = ::nn::__private::max_width(&[#(#lp::OUT),*]);
        }

        #[allow(clippy::needless_update, unused_mut, unused_variables)]
        #[diagnostic::do_not_recommend]
        impl #impl_g ::nn::Layer for #ident #ty_g {
            const IN: usize = #input;
            const OUT: usize = #last::OUT;
            const PARAMS: usize = 0 #(+ #lp::PARAMS)*;
            const LAYERS: &'static [::nn::LayerInfo] = &[#(::nn::LayerInfo {
                name: #names,
                inputs: #lp::IN,
                outputs: #lp::OUT,
                params: #lp::PARAMS,
                describe: #lp::describe,
                cache_len: #lp::cache_len,
                image: #images,
                children: #lp::LAYERS,
            }),*];

            fn describe(f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #describe
            }

            fn init(&mut self, rng: &mut ::nn::Rng) {
                #assert
                #(
                    #lp::init(&mut self.#fields, rng);
                    #lp::__check_visits(&mut self.#fields, #names);
                )*
            }

            fn forward(&self, x: &[f32], y: &mut [f32]) {
                #assert
                #buffers
                #(#one)*
            }

            fn cache_len(batch: usize) -> usize {
                ::nn::__private::cache_len(<Self as ::nn::Layer>::LAYERS, batch)
            }

            ::nn::__private::if_alloc! {
                fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, cache: &mut [f32]) {
                    let __layers = <Self as ::nn::Layer>::LAYERS;
                    #(#batch_steps)*
                }

                fn forward_train(
                    &mut self,
                    x: &[f32],
                    y: &mut [f32],
                    batch: usize,
                    cache: &mut [f32],
                ) -> ::core::result::Result<(), ::nn::TrainError> {
                    let __layers = <Self as ::nn::Layer>::LAYERS;
                    #(#train_steps)*
                    ::core::result::Result::Ok(())
                }
            }

            fn backward(
                &self,
                mut io: ::nn::Backward<'_>,
                mut dx: ::core::option::Option<&mut [f32]>,
                grad: &mut [f32],
            ) {
                // Without `alloc` there is no training, and so no backward pass.
                ::nn::__private::if_alloc! {
                    let __layers = <Self as ::nn::Layer>::LAYERS;
                    let mut __end = <Self as ::nn::Layer>::PARAMS;
                    #(#back_steps)*
                }
            }

            fn walk_params(&self, path: &::nn::Path<'_>, f: &mut ::nn::NetworkParamVisitor<'_>) {
                #(#lp::walk_params(&self.#fields, #paths, f);)*
            }

            fn walk_params_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
                #(#lp::walk_params_mut(&mut self.#fields, f);)*
            }

            fn walk_state(&self, path: &::nn::Path<'_>, f: &mut ::nn::StateVisitor<'_>) {
                #(#lp::walk_state(&self.#fields, #paths, f);)*
            }

            fn walk_state_mut(&mut self, path: &::nn::Path<'_>, f: &mut ::nn::StateVisitorMut<'_>) {
                #(#lp::walk_state_mut(&mut self.#fields, #paths, f);)*
            }
        }
    }
}

fn expand_valid(input: &Input, net: &Net<'_>) -> TokenStream {
    let (attrs, vis, ident) = (&input.attrs, &input.vis, &input.ident);
    let name_str = ident.to_string();
    let generics = &input.generics;
    let (impl_g, ty_g, _) = generics.split_for_impl();
    let checks = &net.generic_asserts;
    let asserts = &net.asserts;
    let layer = expand_layer(NetStruct {
        attrs,
        vis,
        ident,
        generics,
        describe: &name_str,
        layers: &net.layers,
        named: net.named,
        checked: !checks.is_empty(),
    });
    let generic_checks = (!checks.is_empty()).then(|| {
        quote! {
            impl #impl_g #ident #ty_g {
                #[doc(hidden)]
                const __CHECKS: () = { #(#checks)* };
            }
        }
    });
    // The typed methods' array lengths: the constants, or in a generic network the sizes
    // as written.
    let (in_len, out_len) = match &net.sizes {
        Some((i, o)) => (i.clone(), o.clone()),
        None => (quote!(#ident::IN), quote!(#ident::OUT)),
    };

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
        quote_spanned! {c.span.0=>
            const _: () = <#features as #check<::nn::Features<#prev>>>::OK;
        }
    });
    let input_image = match &input.input {
        Some(shape) => {
            let (c, h, w) = (shape.c.expr(), shape.h.expr(), shape.w.expr());
            quote!(const INPUT_IMAGE: ::core::option::Option<[usize; 3]> = ::core::option::Option::Some([#c, #h, #w]);)
        }
        None => quote!(),
    };
    // The typed methods are named with the struct name's span, so that rustc's "method
    // defined here" points at the name rather than at the whole invocation.
    let method = |name: &str| syn::Ident::new(name, ident.span());
    let (m_forward, m_forward_batch, m_predict, m_forward_train, m_backward) = (
        method("forward"),
        method("forward_batch"),
        method("predict"),
        method("forward_train"),
        method("backward"),
    );
    let clone_boxed = take_clone(attrs).1.then(|| {
        quote! {
            /// A copy on the heap, cloned layer by layer in place: unlike
            /// `(*net).clone()`, a large network never passes through the stack.
            pub fn clone_boxed(&self) -> ::nn::__private::Box<Self> {
                let mut net = ::nn::__private::zeroed_box::<Self>();
                ::core::clone::Clone::clone_from(&mut *net, self);
                net
            }
        }
    });
    let in_doc = format!(" Input features per sample of `{name_str}`.");
    let summary_doc =
        format!(" The torchinfo-style table of `{name_str}`'s layers; print it with `{{}}`.");

    quote! {
        #layer

        #(#type_checks)*
        #(#asserts)*

        #generic_checks

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
            /// Sets every parameter to PyTorch's default initialisation, drawn from `seed`.
            pub fn init(&mut self, seed: u64) {
                <Self as ::nn::Network>::init_from_seed(self, seed)
            }

            /// Inference on one sample, with no heap: batch norm uses its running statistics.
            pub fn #m_forward(&self, x: &[f32; #in_len]) -> [f32; #out_len] {
                let mut y = [0.0f32; #out_len];
                <Self as ::nn::Layer>::forward(self, x, &mut y);
                y
            }

            #[doc = #summary_doc]
            pub fn summary() -> ::nn::Summary<Self> {
                ::nn::Summary::new()
            }
        }

        ::nn::__private::if_alloc! {
            // Rows of targets as wide as the output fit it (`Tape::loss` takes only these).
            impl #impl_g ::nn::loss::Target<#ident #ty_g> for [[f32; #out_len]] {}
        }

        ::nn::__private::if_alloc! {
            impl #impl_g #ident #ty_g {
                /// A network on the heap, built in place (never on the stack) and
                /// initialised as PyTorch does, drawing from `seed`.
                pub fn new(seed: u64) -> ::nn::__private::Box<Self> {
                    let mut net = ::nn::__private::zeroed_box::<Self>();
                    <Self as ::nn::Network>::init_from_seed(&mut *net, seed);
                    net
                }

                #clone_boxed

                /// Inference on a batch, `[batch, IN]` to `[batch, OUT]`, using `tape` as
                /// scratch space (no allocation once it has seen a batch this large).
                pub fn #m_forward_batch<'t>(
                    &self,
                    x: &[[f32; #in_len]],
                    tape: &'t mut ::nn::Tape<Self>,
                ) -> &'t [[f32; #out_len]] {
                    tape.infer(self, x.as_flattened()).as_chunks::<{ #out_len }>().0
                }

                /// Inference on a batch into a new vector.
                pub fn #m_predict(&self, x: &[[f32; #in_len]]) -> ::nn::__private::Vec<[f32; #out_len]> {
                    let mut tape = ::nn::Tape::new();
                    self.forward_batch(x, &mut tape).to_vec()
                }

                /// The training forward pass: batch norm uses batch statistics and updates
                /// its running ones, and `tape` keeps what [`Self::backward`] needs.
                /// Fails on an empty batch, or a batch of one with batch norm.
                pub fn #m_forward_train<'t>(
                    &mut self,
                    x: &[[f32; #in_len]],
                    tape: &'t mut ::nn::Tape<Self>,
                ) -> ::core::result::Result<&'t [[f32; #out_len]], ::nn::TrainError> {
                    let out = tape.forward(self, x.as_flattened())?;
                    ::core::result::Result::Ok(out.as_chunks::<{ #out_len }>().0)
                }

                /// The backward pass after [`Self::forward_train`] on the same `x` and
                /// `tape.loss(..)`: adds every parameter's gradient into `grads`.
                pub fn #m_backward(
                    &self,
                    x: &[[f32; #in_len]],
                    tape: &mut ::nn::Tape<Self>,
                    grads: &mut ::nn::Gradients<Self>,
                ) {
                    tape.backward(self, x.as_flattened(), grads)
                }
            }
        }

        ::nn::__private::if_std! {
            impl #impl_g #ident #ty_g {
                /// Saves the state dict (PyTorch's names and layouts) to a safetensors file,
                /// atomically. See `nn::io::save`.
                pub fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<(), ::nn::io::WeightsError> {
                    ::nn::io::save(self, path)
                }

                /// Loads a safetensors state dict strictly; on any error the network is
                /// unchanged. See `nn::io::load`.
                pub fn load(&mut self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<(), ::nn::io::WeightsError> {
                    ::nn::io::load(self, path)
                }
            }
        }
    }
}
