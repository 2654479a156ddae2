//! The generated struct and its impls.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::Input;
use crate::valid::{self, Resolved, Role, TypeCheck};
use crate::weights;

pub fn expand(input: Input) -> TokenStream {
    match valid::check(&input) {
        Ok((layers, checks)) => {
            let mut out = expand_valid(&input, &layers, &checks);
            if let Some(attr) = &input.weights {
                out.extend(weights::expand(&input, &layers, attr));
            }
            out
        }
        Err(e) => {
            // A stub of the struct, so that code naming it gets no follow-on errors.
            let (attrs, vis, ident) = (&input.attrs, &input.vis, &input.ident);
            let err = e.to_compile_error();
            let weights = input
                .weights
                .as_ref()
                .map(|_| quote!(impl #ident { #[doc(hidden)] pub const WEIGHTS: Self = #ident; }));
            quote! {
                #err
                #(#attrs)*
                #vis struct #ident;
                #weights
            }
        }
    }
}

/// How generated code reaches layer `i`: `self.fc1` or `self.0`.
fn access(layers: &[Resolved<'_>], i: usize) -> TokenStream {
    match &layers[i].decl.name {
        Some(n) => quote!(#n),
        None => {
            let idx = syn::Index {
                index: i as u32,
                span: Span::call_site(),
            };
            quote!(#idx)
        }
    }
}

fn expand_valid(input: &Input, layers: &[Resolved<'_>], checks: &[TypeCheck]) -> TokenStream {
    let (attrs, vis, ident) = (&input.attrs, &input.vis, &input.ident);
    let name_str = ident.to_string();
    let fields: Vec<TokenStream> = (0..layers.len()).map(|i| access(layers, i)).collect();
    let n = layers.len();

    let decl_fields = layers.iter().map(|l| {
        let attrs = &l.decl.attrs;
        let ty = &l.field_ty;
        let doc = if attrs.iter().any(|a| a.path().is_ident("doc")) {
            quote!()
        } else {
            let text = format!(" Layer `{}`.", l.name);
            quote!(#[doc = #text])
        };
        match &l.decl.name {
            Some(n) => quote!(#doc #(#attrs)* #vis #n: #ty),
            None => quote!(#doc #(#attrs)* #vis #ty),
        }
    });
    let body = if layers[0].decl.name.is_some() {
        quote!({ #(#decl_fields,)* })
    } else {
        quote!(( #(#decl_fields,)* );)
    };

    let type_checks = checks.iter().map(|c| {
        let (prev, input) = (&c.prev, &c.input);
        // The checked type opens at the layer's first token and closes at its last, so
        // that the error underlines the whole layer.
        let close = quote_spanned!(c.span.1=> >);
        let features = quote_spanned!(c.span.0=> ::nn::Features<#input #close);
        quote_spanned! {c.span.0=>
            const _: () = <#features as ::nn::FitsAfter<::nn::Features<#prev>>>::OK;
        }
    });

    let names: Vec<&String> = layers.iter().map(|l| &l.name).collect();
    let input_image = match &input.input {
        Some(shape) => {
            let (c, h, w) = (shape.c.expr(), shape.h.expr(), shape.w.expr());
            quote!(const INPUT_IMAGE: ::core::option::Option<[usize; 3]> = ::core::option::Option::Some([#c, #h, #w]);)
        }
        None => quote!(),
    };
    let images = layers.iter().map(|l| match &l.image {
        Some([c, h, w]) => quote!(::core::option::Option::Some([#c, #h, #w])),
        None => quote!(::core::option::Option::None),
    });
    let spans: Vec<Span> = layers.iter().map(|l| l.decl.ty.span()).collect();
    // `<Type as ::nn::Layer>` spanned on the user's layer, so that a type that is not a
    // layer gives one error there, however often the expansion names it.
    let lp: Vec<TokenStream> = layers
        .iter()
        .zip(&spans)
        .map(|(l, span)| {
            let ty = &l.field_ty;
            quote_spanned!(*span=> <#ty as ::nn::Layer>)
        })
        .collect();
    let first = &lp[0];
    let last = &lp[n - 1];

    // One-sample forward: two stack buffers used in turn, the last layer writing `y`.
    let mut one = Vec::new();
    let mut src = quote!(x);
    for i in 0..n {
        let (f, l) = (&fields[i], &lp[i]);
        let width = quote!(#l::OUT);
        let buf = if i % 2 == 0 { quote!(__a) } else { quote!(__b) };
        let dst = if i == n - 1 {
            quote!(y)
        } else {
            quote!(&mut #buf[..#width])
        };
        let step = match layers[i].role {
            // A block's input is kept to be added back at its end.
            Some(Role::Start(k)) => {
                let skip = format_ident!("__skip{}", k);
                quote_spanned!(spans[i]=>
                    let mut #skip = [0.0f32; #l::IN];
                    #skip.copy_from_slice(&#src[..#l::IN]);
                    #l::forward(&self.#f, #src, #dst);
                )
            }
            Some(Role::End { block, .. }) => {
                let skip = format_ident!("__skip{}", block);
                quote_spanned!(spans[i]=> {
                    let __d: &mut [f32] = #dst;
                    #l::forward(&self.#f, #src, __d);
                    for (d, s) in __d.iter_mut().zip(#skip.iter()) {
                        *d += *s;
                    }
                })
            }
            None => quote_spanned!(spans[i]=> #l::forward(&self.#f, #src, #dst);),
        };
        one.push(step);
        src = quote!(&#buf[..#width]);
    }
    let buffers = match n {
        1 => quote!(),
        2 => quote!(let mut __a = [0.0f32; #ident::MAX_WIDTH];),
        _ => quote!(
            let mut __a = [0.0f32; #ident::MAX_WIDTH];
            let mut __b = [0.0f32; #ident::MAX_WIDTH];
        ),
    };

    // At a block's end, its input is added to its output.
    let add_input = |i: usize| match layers[i].role {
        Some(Role::End { start, .. }) => quote!(__t.add_block_input(#start, #i, x);),
        _ => quote!(),
    };
    let batch_steps = (0..n).map(|i| {
        let (f, l) = (&fields[i], &lp[i]);
        let add = add_input(i);
        quote_spanned! {spans[i]=> {
            let (__x, __y, _) = __t.forward_io(#i, x);
            #l::forward_batch(&self.#f, __x, __y, __batch);
            #add
        }}
    });
    let train_steps = (0..n).map(|i| {
        let (f, l, name) = (&fields[i], &lp[i], names[i]);
        let add = add_input(i);
        quote_spanned! {spans[i]=> {
            let (__x, __y, __c) = __t.forward_io(#i, x);
            #l::forward_train(&mut self.#f, __x, __y, __batch, __c)
                .map_err(|e| e.in_layer(#name))?;
            #add
        }}
    });
    let back_steps = (0..n).rev().map(|i| {
        let (f, l) = (&fields[i], &lp[i]);
        let dx = if i == 0 {
            quote!(::core::option::Option::None)
        } else {
            quote!(::core::option::Option::Some(__dx))
        };
        // A block's output gradient also goes around the block, to its input.
        let (before, after) = match layers[i].role {
            Some(Role::End { block, .. }) => (quote!(__t.stash_output_grad(#block, #i);), quote!()),
            Some(Role::Start(k)) if i > 0 => (quote!(), quote!(__t.add_stash_to_input_grad(#k);)),
            _ => (quote!(), quote!()),
        };
        quote_spanned! {spans[i]=> {
            let __start = __end - #l::PARAMS;
            #before
            let (__io, __dx) = __t.backward_io(#i, x);
            let _ = &__dx;
            #l::backward(&self.#f, __io, #dx, &mut grads[__start..__end]);
            #after
            __end = __start;
            __t.next_layer();
        }}
    });

    let in_doc = format!(" Input features per sample of `{name_str}`.");
    let summary_doc =
        format!(" The torchinfo-style table of `{name_str}`'s layers; print it with `{{}}`.");

    quote! {
        #(#attrs)*
        #vis struct #ident #body

        #(#type_checks)*

        // SAFETY: every field is a layer (the `Network` impl below uses each as one), and
        // `Layer` requires `Zeroable`, so all-zero bytes are a valid value of every field
        // and therefore of the struct.
        unsafe impl ::nn::__private::Zeroable for #ident {}

        #[allow(clippy::needless_update, unused_mut)]
        impl ::nn::Network for #ident {
            const IN: usize = #first::IN;
            const OUT: usize = #last::OUT;
            const PARAMS: usize = 0 #(+ #lp::PARAMS)*;
            const NAME: &'static str = #name_str;
            #input_image
            const LAYERS: &'static [::nn::LayerInfo] = &[#(::nn::LayerInfo {
                name: #names,
                inputs: #lp::IN,
                outputs: #lp::OUT,
                params: #lp::PARAMS,
                describe: #lp::describe,
                cache_len: #lp::cache_len,
                image: #images,
            }),*];

            fn init(&mut self, seed: u64) {
                let mut __rng = ::nn::Rng::seed(seed);
                #(#lp::init(&mut self.#fields, &mut __rng);)*
            }

            fn visit_params(&self, f: &mut ::nn::NetworkParamVisitor<'_>) {
                #(#lp::visit_params(&self.#fields, &mut |n, s, v| f(#names, n, s, v));)*
            }

            fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
                #(#lp::visit_params_mut(&mut self.#fields, &mut |_, v| f(v));)*
            }

            fn visit_state(&self, f: &mut ::nn::StateVisitor<'_>) {
                #(
                    #lp::visit_params(&self.#fields, &mut |n, s, v| f(#names, n, s, ::nn::Buffer::F32(v)));
                    #lp::visit_buffers(&self.#fields, &mut |n, s, v| f(#names, n, s, v));
                )*
            }

            fn visit_state_mut(&mut self, f: &mut ::nn::StateVisitorMut<'_>) {
                #(
                    #lp::visit_params_mut(&mut self.#fields, &mut |n, v| f(#names, n, ::nn::BufferMut::F32(v)));
                    #lp::visit_buffers_mut(&mut self.#fields, &mut |n, v| f(#names, n, v));
                )*
            }

            fn forward_slice(&self, x: &[f32], y: &mut [f32]) {
                ::core::assert!(
                    x.len() == <Self as ::nn::Network>::IN && y.len() == <Self as ::nn::Network>::OUT,
                    "{}: forward_slice takes {} inputs into {} outputs, got {} into {}",
                    #name_str, <Self as ::nn::Network>::IN, <Self as ::nn::Network>::OUT, x.len(), y.len()
                );
                #buffers
                #(#one)*
            }

            ::nn::__private::if_alloc! {
                fn __forward_batch(&self, x: &[f32], __t: &mut ::nn::__private::TapeBuffers) {
                    let __batch = __t.batch();
                    #(#batch_steps)*
                }

                fn __forward_train(
                    &mut self,
                    x: &[f32],
                    __t: &mut ::nn::__private::TapeBuffers,
                ) -> ::core::result::Result<(), ::nn::TrainError> {
                    let __batch = __t.batch();
                    #(#train_steps)*
                    ::core::result::Result::Ok(())
                }

                fn __backward(&self, x: &[f32], __t: &mut ::nn::__private::TapeBuffers, grads: &mut [f32]) {
                    let mut __end = <Self as ::nn::Network>::PARAMS;
                    #(#back_steps)*
                }
            }
        }

        impl #ident {
            #[doc = #in_doc]
            pub const IN: usize = <Self as ::nn::Network>::IN;
            /// Output features per sample.
            pub const OUT: usize = <Self as ::nn::Network>::OUT;
            /// Trainable numbers in all layers.
            pub const PARAMS: usize = <Self as ::nn::Network>::PARAMS;
            /// The widest layer output: the one-sample pass uses two stack buffers of it.
            pub const MAX_WIDTH: usize = ::nn::__private::max_width(&[#(#lp::OUT),*]);

            /// Sets every parameter to PyTorch's default initialisation, drawn from `seed`.
            pub fn init(&mut self, seed: u64) {
                <Self as ::nn::Network>::init(self, seed)
            }

            /// Inference on one sample, with no heap: batch norm uses its running statistics.
            pub fn forward(&self, x: &[f32; #ident::IN]) -> [f32; #ident::OUT] {
                let mut y = [0.0f32; #ident::OUT];
                <Self as ::nn::Network>::forward_slice(self, x, &mut y);
                y
            }

            #[doc = #summary_doc]
            pub fn summary() -> ::nn::Summary<Self> {
                ::nn::Summary::new()
            }
        }

        ::nn::__private::if_alloc! {
            impl #ident {
                /// A network on the heap, built in place (never on the stack) and
                /// initialised as PyTorch does, drawing from `seed`.
                pub fn new(seed: u64) -> ::nn::__private::Box<Self> {
                    let mut net = ::nn::__private::zeroed_box::<Self>();
                    <Self as ::nn::Network>::init(&mut net, seed);
                    net
                }

                /// Inference on a batch, `[batch, IN]` to `[batch, OUT]`, using `tape` as
                /// scratch space (no allocation once it has seen a batch this large).
                pub fn forward_batch<'t>(
                    &self,
                    x: &[[f32; #ident::IN]],
                    tape: &'t mut ::nn::Tape<Self>,
                ) -> &'t [[f32; #ident::OUT]] {
                    tape.infer(self, x.as_flattened()).as_chunks::<{ #ident::OUT }>().0
                }

                /// Inference on a batch into a new vector.
                pub fn predict(&self, x: &[[f32; #ident::IN]]) -> ::nn::__private::Vec<[f32; #ident::OUT]> {
                    let mut tape = ::nn::Tape::new();
                    self.forward_batch(x, &mut tape).to_vec()
                }

                /// The training forward pass: batch norm uses batch statistics and updates
                /// its running ones, and `tape` keeps what [`Self::backward`] needs.
                /// Fails on an empty batch, or a batch of one with batch norm.
                pub fn forward_train<'t>(
                    &mut self,
                    x: &[[f32; #ident::IN]],
                    tape: &'t mut ::nn::Tape<Self>,
                ) -> ::core::result::Result<&'t [[f32; #ident::OUT]], ::nn::TrainError> {
                    let out = tape.forward(self, x.as_flattened())?;
                    ::core::result::Result::Ok(out.as_chunks::<{ #ident::OUT }>().0)
                }

                /// The backward pass after [`Self::forward_train`] on the same `x` and
                /// `tape.loss(..)`: adds every parameter's gradient into `grads`.
                pub fn backward(
                    &self,
                    x: &[[f32; #ident::IN]],
                    tape: &mut ::nn::Tape<Self>,
                    grads: &mut ::nn::Gradients<Self>,
                ) {
                    tape.backward(self, x.as_flattened(), grads)
                }
            }
        }

        ::nn::__private::if_std! {
            impl #ident {
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
