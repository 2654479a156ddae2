//! The `Layer` impl of a network: its sizes, its table of layers, and every pass (one
//! sample, a batch, training, backward) as the layers in turn.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{layer_paths, NetStruct};

/// `impl nn::Layer` for the network.
pub fn layer_impl(def: NetStruct<'_>) -> TokenStream {
    let (ident, layers, checked) = (def.ident, def.layers, def.checked);
    let (impl_g, ty_g, _) = def.generics.split_for_impl();
    let lp = layer_paths(layers);
    let fields: Vec<&TokenStream> = layers.iter().map(|l| &l.field).collect();
    let names: Vec<&String> = layers.iter().map(|l| &l.name).collect();
    let (first, last) = (&lp[0], &lp[lp.len() - 1]);
    // A layer's output image as validation traced it, or else as the layer says (a network
    // or a layer of the user's that produces an image).
    let images = layers.iter().zip(&lp).map(|(l, p)| match &l.image {
        Some([c, h, w]) => quote!(::core::option::Option::Some([#c, #h, #w])),
        None => quote!(#p::OUT_IMAGE),
    });
    let (buffers, one) = one_sample(def, &lp);
    let describe = describe(def);
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
    let some = |[c, h, w]: &[TokenStream; 3]| quote!(::core::option::Option::Some([#c, #h, #w]));
    // The image taken: as declared, or else as the first layer takes it.
    let in_image = match def.in_image {
        Some(shape) => some(shape),
        None => quote!(#first::IN_IMAGE),
    };
    // The image produced: as validation traced it, or else as the last layer says.
    let out_image = match layers.last().and_then(|l| l.image.as_ref()) {
        Some(shape) => some(shape),
        None => quote!(#last::OUT_IMAGE),
    };
    let (mut input, mut output, mut in_image, mut out_image) =
        (input, quote!(#last::OUT), in_image, out_image);
    let (mut buffers, mut one, mut passes) = (buffers, one, batch_passes(def, &lp));
    let mut cache_len = quote!(::nn::__private::cache_len(
        <Self as ::nn::Layer>::LAYERS,
        batch
    ));
    let mut activations = chain_activations(def, &lp);
    let mut region = quote!();
    if let Some(g) = def.graph {
        // A forward written as code: its own sizes and passes, the rest as a chain's.
        let plan = super::graph::Plan::new(g);
        (input, output) = plan.sizes();
        in_image = g
            .in_image
            .as_ref()
            .map_or(quote!(::core::option::Option::None), some);
        out_image = g
            .out_image
            .as_ref()
            .map_or(quote!(::core::option::Option::None), some);
        (buffers, one) = (quote!(), vec![plan.one_sample()]);
        cache_len = plan.cache_len();
        activations = plan.activations();
        region = plan.region();
        passes = graph_passes(&plan, layers);
    }
    let forward = def.graph.map(super::graph::forward_table);
    let walks = walks(def, &lp);
    quote! {
        #[allow(clippy::needless_update, unused_mut, unused_variables)]
        #[diagnostic::do_not_recommend]
        impl #impl_g ::nn::Layer for #ident #ty_g {
            const IN: usize = #input;
            const OUT: usize = #output;
            const PARAMS: usize = 0 #(+ #lp::PARAMS)*;
            const MACS: usize = 0 #(+ #lp::MACS)*;
            const IN_IMAGE: ::core::option::Option<[usize; 3]> = #in_image;
            const OUT_IMAGE: ::core::option::Option<[usize; 3]> = #out_image;
            const ACTIVATIONS: usize = #activations;
            const LAYERS: &'static [::nn::LayerInfo] = &[#(::nn::LayerInfo {
                name: #names,
                inputs: #lp::IN,
                outputs: #lp::OUT,
                params: #lp::PARAMS,
                macs: #lp::MACS,
                describe: #lp::describe,
                cache_len: #lp::cache_len,
                image: #images,
                children: #lp::LAYERS,
                forward: #lp::FORWARD,
            }),*];
            #forward
            #region

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
                #cache_len
            }

            #passes

            #walks
        }
    }
}

/// How a summary shows the network: its name, with its generic sizes' values.
fn describe(def: NetStruct<'_>) -> TokenStream {
    let (generics, describe) = (def.generics, def.describe);
    if generics.params.is_empty() {
        quote!(f.write_str(#describe))
    } else {
        let params: Vec<&syn::Ident> = generics.const_params().map(|c| &c.ident).collect();
        let format = format!("{describe}<{}>", vec!["{}"; params.len()].join(", "));
        quote!(::core::write!(f, #format, #(#params),*))
    }
}

/// A chain's one-sample values laid out at compile time (`nn::__private::chain_plan`): every
/// layer's output but the last's, an elementwise layer's (`Layer::IN_PLACE`) over its input.
/// The offsets and the stack array's length, as a constant expression.
pub fn chain_layout(lp: &[TokenStream]) -> TokenStream {
    let inner = &lp[..lp.len().saturating_sub(1)];
    quote!(::nn::__private::chain_plan(
        [#(#inner::OUT),*],
        [#(::nn::__private::in_place(#inner::IN_PLACE, #inner::IN, #inner::OUT)),*],
    ))
}

/// `Layer::ACTIVATIONS` of a chain: the stack array its one-sample pass declares (see
/// `one_sample`), and the most a layer inside keeps.
fn chain_activations(def: NetStruct<'_>, lp: &[TokenStream]) -> TokenStream {
    let layers = def.layers;
    let own = if def.generics.params.is_empty() {
        quote!(<Self>::__LAYOUT.1)
    } else {
        // A buffer per layer but the last, each as wide as its layer's output.
        let widths = layers[..layers.len().saturating_sub(1)]
            .iter()
            .map(|l| &l.width);
        quote!(0 #(+ #widths)*)
    };
    quote!(#own + ::nn::__private::max_width(&[#(#lp::ACTIVATIONS),*]))
}

/// The one-sample forward pass: the stack buffers it declares, and a step per layer.
fn one_sample(def: NetStruct<'_>, lp: &[TokenStream]) -> (TokenStream, Vec<TokenStream>) {
    let layers = def.layers;
    let n = layers.len();
    let mut one = Vec::new();
    let mut src = quote!(x);
    if !def.generics.params.is_empty() {
        // Stable Rust cannot size an array by a constant computed from generic parameters:
        // each layer's output gets a buffer of its own width instead (a number, a `const`
        // item or a bare parameter, as validation ensured).
        for (i, (layer, l)) in layers.iter().zip(lp).enumerate() {
            let (f, span) = (&layer.field, layer.decl.ty.span());
            if i == n - 1 {
                one.push(quote_spanned!(span=> #l::forward(&self.#f, #src, y);));
            } else {
                let buf = syn::Ident::new(&format!("__o{i}"), Span::call_site());
                let width = &layer.width;
                one.push(quote_spanned!(span=>
                    let mut #buf = [0.0f32; #width];
                    #l::forward(&self.#f, #src, &mut #buf);
                ));
                src = quote!(&#buf);
            }
        }
        return (quote!(), one);
    }
    // One stack array laid out at compile time (`Self::__LAYOUT`): layer `i` writes its
    // output at its offset, over its input where it is elementwise; the last writes `y`.
    for (i, (layer, l)) in layers.iter().zip(lp).enumerate() {
        let (f, span) = (&layer.field, layer.decl.ty.span());
        let made = quote!((Self::__LAYOUT.0[#i], #l::OUT));
        let step = if i == 0 {
            let dst = if n == 1 {
                quote!(y)
            } else {
                quote!(&mut __arena[Self::__LAYOUT.0[0]..Self::__LAYOUT.0[0] + #l::OUT])
            };
            quote!(#l::forward(&self.#f, x, #dst);)
        } else {
            let (p, prev) = (i - 1, &lp[i - 1]);
            let read = quote!((Self::__LAYOUT.0[#p], #prev::OUT));
            if i == n - 1 {
                quote!({
                    let (__at, __w) = #read;
                    #l::forward(&self.#f, &__arena[__at..__at + __w], y);
                })
            } else {
                quote!(if ::nn::__private::in_place(#l::IN_PLACE, #l::IN, #l::OUT) {
                    let (__at, __w) = #made;
                    #l::forward_in_place(&self.#f, &mut __arena[__at..__at + __w]);
                } else {
                    let (__o, [__i]) = ::nn::__private::graph::parts(&mut __arena, #made, [#read]);
                    #l::forward(&self.#f, __i, __o);
                })
            }
        };
        one.push(quote_spanned!(span=> #step));
    }
    let buffers = quote!(let mut __arena = [0.0f32; Self::__LAYOUT.1];);
    (buffers, one)
}

/// The passes over a batch (inference, training, backward), a block per layer.
fn batch_passes(def: NetStruct<'_>, lp: &[TokenStream]) -> TokenStream {
    let layers = def.layers;
    let step = |i: usize| {
        let l = &layers[i];
        (&l.field, &lp[i], &l.name, l.decl.ty.span())
    };
    let batch_steps = (0..layers.len()).map(|i| {
        let (f, l, _, span) = step(i);
        quote_spanned! {span=> {
            let (__x, __y, __c) = ::nn::__private::forward_io(__layers, batch, #i, x, y, cache);
            #l::forward_batch(&self.#f, __x, __y, batch, __c);
        }}
    });
    let train_steps = (0..layers.len()).map(|i| {
        let (f, l, name, span) = step(i);
        quote_spanned! {span=> {
            let (__x, __y, __c) = ::nn::__private::forward_io(__layers, batch, #i, x, y, cache);
            #l::forward_train(&mut self.#f, __x, __y, batch, __c)
                .map_err(|e| e.in_layer(#name))?;
        }}
    });
    let back_steps = (0..layers.len()).rev().map(|i| {
        let (f, l, _, span) = step(i);
        quote_spanned! {span=> {
            let __start = __end - #l::PARAMS;
            let (__io, __dx) = ::nn::__private::backward_io(__layers, &mut io, &mut dx, #i);
            #l::backward(&self.#f, __io, __dx, &mut grad[__start..__end]);
            __end = __start;
        }}
    });
    quote! {
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
    }
}

/// The passes over a batch of a forward written as code.
fn graph_passes(plan: &super::graph::Plan<'_>, layers: &[super::Resolved<'_>]) -> TokenStream {
    let infer = plan.batch_forward(false);
    let train = plan.batch_forward(true);
    let fields: Vec<TokenStream> = layers.iter().map(|l| l.field_ty.clone()).collect();
    let back = plan.backward(&fields);
    quote! {
        ::nn::__private::if_alloc! {
            fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, cache: &mut [f32]) {
                #infer
            }

            fn forward_train(
                &mut self,
                x: &[f32],
                y: &mut [f32],
                batch: usize,
                cache: &mut [f32],
            ) -> ::core::result::Result<(), ::nn::TrainError> {
                #train
                ::core::result::Result::Ok(())
            }
        }

        fn backward(
            &self,
            io: ::nn::Backward<'_>,
            mut dx: ::core::option::Option<&mut [f32]>,
            grad: &mut [f32],
        ) {
            ::nn::__private::if_alloc! {
                let (x, batch) = (io.x, io.batch);
                let __want_dx = dx.is_some();
                #back
            }
        }
    }
}

/// The walks over the parameters and the state, each layer under its name.
fn walks(def: NetStruct<'_>, lp: &[TokenStream]) -> TokenStream {
    let fields: Vec<&TokenStream> = def.layers.iter().map(|l| &l.field).collect();
    // A layer left unnamed has no state of its own to name: it walks under this path.
    let paths: Vec<TokenStream> = def
        .layers
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
    quote! {
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

        fn walk_streams(&self, f: &mut dyn FnMut(u64, u64)) {
            #(#lp::walk_streams(&self.#fields, f);)*
        }

        fn walk_streams_mut(&mut self, f: &mut dyn FnMut(&mut u64, &mut u64)) {
            #(#lp::walk_streams_mut(&mut self.#fields, f);)*
        }
    }
}
