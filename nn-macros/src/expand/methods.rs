//! The typed methods of a network (`forward`, `predict`, `save`, ...): one list of their
//! signatures, from which both the real expansion and the stand-in of a refused network
//! (`crate::stub`) emit them, so that the two cannot drift apart.

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// Where a method exists: always, with the `alloc` feature, or with `std`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Always,
    Alloc,
    Std,
}

/// One typed method of a network.
pub struct Method {
    pub gate: Gate,
    pub name: &'static str,
    /// Whether it takes or returns arrays of the network's widths.
    pub typed: bool,
    /// Whether it is generic over the lifetime `'t`.
    pub lifetime: bool,
    /// The parameters and the return type: all of the signature after the generics.
    pub sig: TokenStream,
    /// Its documentation in the real expansion.
    pub doc: TokenStream,
    /// Its body in the real expansion.
    pub body: TokenStream,
}

/// Every typed method of network `name`, its arrays `in_len` and `out_len` long;
/// `clone_boxed` where the network derives `Clone`.
pub fn methods(
    name: &str,
    in_len: &TokenStream,
    out_len: &TokenStream,
    clone_boxed: bool,
) -> Vec<Method> {
    let summary_doc =
        format!(" The torchinfo-style table of `{name}`'s layers; print it with `{{}}`.");
    let mut all = vec![
        Method {
            gate: Gate::Always,
            name: "init",
            typed: false,
            lifetime: false,
            sig: quote!((&mut self, seed: u64)),
            doc: quote!(
                /// Sets every parameter to PyTorch's default initialisation, drawn from `seed`.
            ),
            body: quote!(<Self as ::nn::Network>::init_from_seed(self, seed)),
        },
        Method {
            gate: Gate::Always,
            name: "forward",
            typed: true,
            lifetime: false,
            sig: quote!((&self, x: &[f32; #in_len]) -> [f32; #out_len]),
            doc: quote!(
                /// Inference on one sample, with no heap: batch norm uses its running statistics.
            ),
            body: quote! {
                let mut y = [0.0f32; #out_len];
                <Self as ::nn::Layer>::forward(self, x, &mut y);
                y
            },
        },
        Method {
            gate: Gate::Always,
            name: "summary",
            typed: false,
            lifetime: false,
            sig: quote!(() -> ::nn::Summary<Self>),
            doc: quote!(#[doc = #summary_doc]),
            body: quote!(::nn::Summary::new()),
        },
        Method {
            gate: Gate::Alloc,
            name: "new",
            typed: false,
            lifetime: false,
            sig: quote!((seed: u64) -> ::nn::__private::Box<Self>),
            doc: quote! {
                /// A network on the heap, built in place (never on the stack) and
                /// initialised as PyTorch does, drawing from `seed`.
            },
            body: quote! {
                let mut net = ::nn::__private::zeroed_box::<Self>();
                <Self as ::nn::Network>::init_from_seed(&mut *net, seed);
                net
            },
        },
    ];
    if clone_boxed {
        all.push(Method {
            gate: Gate::Alloc,
            name: "clone_boxed",
            typed: false,
            lifetime: false,
            // For any lifetime, so that a network whose layers are not all `Clone` compiles
            // with this method uncallable, and `Clone`'s one error says which layer it is.
            sig: quote! {
                (&self) -> ::nn::__private::Box<Self>
                where
                    for<'__c> Self: ::core::clone::Clone
            },
            doc: quote! {
                /// A copy on the heap, cloned layer by layer in place: unlike
                /// `(*net).clone()`, a large network never passes through the stack.
            },
            body: quote! {
                let mut net = ::nn::__private::zeroed_box::<Self>();
                ::core::clone::Clone::clone_from(&mut *net, self);
                net
            },
        });
    }
    all.extend(batch_methods(in_len, out_len));
    all.extend(file_methods());
    all
}

/// The passes over a batch: inference, training and the backward pass.
fn batch_methods(in_len: &TokenStream, out_len: &TokenStream) -> [Method; 4] {
    [
        Method {
            gate: Gate::Alloc,
            name: "forward_batch",
            typed: true,
            lifetime: true,
            sig: quote! {(
                &self,
                x: &[[f32; #in_len]],
                tape: &'t mut ::nn::Tape<Self>,
            ) -> &'t [[f32; #out_len]]},
            doc: quote! {
                /// Inference on a batch, `[batch, IN]` to `[batch, OUT]`, using `tape` as
                /// scratch space (no allocation once it has seen a batch this large).
            },
            body: quote! {
                tape.infer(self, x.as_flattened()).as_chunks::<{ #out_len }>().0
            },
        },
        Method {
            gate: Gate::Alloc,
            name: "predict",
            typed: true,
            lifetime: false,
            sig: quote!((&self, x: &[[f32; #in_len]]) -> ::nn::__private::Vec<[f32; #out_len]>),
            doc: quote!(
                /// Inference on a batch into a new vector.
            ),
            body: quote! {
                let mut tape = ::nn::Tape::new();
                self.forward_batch(x, &mut tape).to_vec()
            },
        },
        Method {
            gate: Gate::Alloc,
            name: "forward_train",
            typed: true,
            lifetime: true,
            sig: quote! {(
                &mut self,
                x: &[[f32; #in_len]],
                tape: &'t mut ::nn::Tape<Self>,
            ) -> ::core::result::Result<&'t [[f32; #out_len]], ::nn::TrainError>},
            doc: quote! {
                /// The training forward pass: batch norm uses batch statistics and updates
                /// its running ones, and `tape` keeps what [`Self::backward`] needs.
                /// Fails on an empty batch, or a batch of one with batch norm.
            },
            body: quote! {
                let out = tape.forward(self, x.as_flattened())?;
                ::core::result::Result::Ok(out.as_chunks::<{ #out_len }>().0)
            },
        },
        Method {
            gate: Gate::Alloc,
            name: "backward",
            typed: true,
            lifetime: false,
            sig: quote! {(
                &self,
                x: &[[f32; #in_len]],
                tape: &mut ::nn::Tape<Self>,
                grads: &mut ::nn::Gradients<Self>,
            )},
            doc: quote! {
                /// The backward pass after [`Self::forward_train`] on the same `x` and
                /// `tape.loss(..)`: adds every parameter's gradient into `grads`.
            },
            body: quote!(tape.backward(self, x.as_flattened(), grads)),
        },
    ]
}

/// Saving and loading the state dict.
fn file_methods() -> [Method; 2] {
    let path = quote!(path: impl ::core::convert::AsRef<::std::path::Path>);
    let result = quote!(::core::result::Result<(), ::nn::io::WeightsError>);
    [
        Method {
            gate: Gate::Std,
            name: "save",
            typed: false,
            lifetime: false,
            sig: quote!((&self, #path) -> #result),
            doc: quote! {
                /// Saves the state dict (PyTorch's names and layouts) to a safetensors file,
                /// atomically. See `nn::io::save`.
            },
            body: quote!(::nn::io::save(self, path)),
        },
        Method {
            gate: Gate::Std,
            name: "load",
            typed: false,
            lifetime: false,
            sig: quote!((&mut self, #path) -> #result),
            doc: quote! {
                /// Loads a safetensors state dict strictly; on any error the network is
                /// unchanged. See `nn::io::load`.
            },
            body: quote!(::nn::io::load(self, path)),
        },
    ]
}

impl Method {
    /// The method as a network has it. A typed method is named with the span of the
    /// struct's name, so that rustc's "method defined here" points at the name rather
    /// than at the whole invocation.
    pub fn real(&self, name_span: Span) -> TokenStream {
        let span = if self.typed {
            name_span
        } else {
            Span::call_site()
        };
        let name = syn::Ident::new(self.name, span);
        let generics = self.lifetime.then(|| quote!(<'t>));
        let Method { doc, sig, body, .. } = self;
        quote! {
            #doc
            pub fn #name #generics #sig {
                #body
            }
        }
    }

    /// The method as a stand-in has it: hidden, its body `never`, and its arrays as long
    /// as `lens` leaves them (const parameters for the widths the declaration does not
    /// state).
    pub fn stand_in(&self, lens: &[TokenStream], never: &TokenStream) -> TokenStream {
        let name = syn::Ident::new(self.name, Span::call_site());
        let generics = match (self.typed, self.lifetime) {
            (false, _) => quote!(),
            (true, true) => quote!(<'t, #(#lens),*>),
            (true, false) => quote!(<#(#lens),*>),
        };
        let sig = &self.sig;
        quote! {
            #[doc(hidden)]
            pub fn #name #generics #sig {
                #never
            }
        }
    }
}
