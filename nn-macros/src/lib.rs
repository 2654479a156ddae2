//! The `network!` macro and `#[derive(Parameters)]` of the `nn` crate: parse, validate,
//! expand.
//!
//! Use them through `nn::network!` and `nn::Parameters`; their documentation is there.
//!
//! # Modules
//!
//! `network!` goes through its phases in order, each module depending only on the ones
//! before it:
//!
//! - `ctxt`: the one error collector, so that one compile shows every mistake.
//! - `size`: sizes and image shapes, as every phase speaks of them.
//! - `attr`: `#[weights("file")]` as written on a network.
//! - `ast`: the typed input, each node keeping its tokens for spans; `ast::pytorch`
//!   answers a layer written as PyTorch writes it.
//! - `valid`: every semantic rule, one step per kind of layer (`flat`, `image`, `block`),
//!   what each layer is (`kind`, `keeps`), the PyTorch habits it answers (`habits`), and
//!   what a walk over the layers collects (`walk`).
//! - `weights`: `#[weights]` read at compile time: the tensors wanted, the checks against
//!   the file, the literals.
//! - `expand`: the generated code, by what it emits: the struct (`item`), its `Layer` impl
//!   (`layer_impl`), its `Bake` impl (`bake`) and the typed methods (`methods`).
//! - `stub`: the stand-in of a refused network, its typed methods from `expand::methods`.
//!
//! `derive` is `#[derive(Parameters)]`, with phases of its own (`ast`, `valid`,
//! `expand`); it shares `ctxt` and borrows `size`'s printing only.

mod ast;
mod attr;
mod ctxt;
mod derive;
mod expand;
mod graph;
mod size;
mod stub;
mod template;
mod valid;
mod weights;

use proc_macro::TokenStream;

/// Declares a network: a struct of layers with shape-checked forward and backward passes.
///
/// ```
/// nn::network! {
///     /// The MNIST network: 784-128 ReLU BatchNorm 128-10.
///     pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
/// }
/// nn::network! {
///     struct Named<fc1: Linear<4, 8>, act: Tanh, fc2: Linear<8, 2>>
/// }
/// let net = Named::new(0);
/// let _: [f32; 2] = net.forward(&[0.0; 4]);
/// assert_eq!(Mnist::IN, 784);
/// ```
///
/// A size that does not fit is a compile error at the layer that is wrong, naming both
/// sizes and the fix. See the crate documentation of `nn` for the generated items.
///
/// # Weights baked in at compile time
///
/// `#[weights("path.safetensors")]` on the network reads a state dict (PyTorch's names:
/// `0.weight`, `fc1.bias`, `2.running_mean`, ...) when the crate is compiled and adds the
/// constant `WEIGHTS`, every parameter and buffer as literal data, so that a `static`
/// model sits in flash with nothing parsed at run time. The path is relative to the
/// crate's root (`CARGO_MANIFEST_DIR`); the crate is rebuilt when the file changes.
///
/// ```
/// nn::network! {
///     #[weights("../tests/ui/weights/tiny.safetensors")]
///     pub struct Tiny<Linear<2, 3>, ReLU, Linear<3, 1>>
/// }
/// static MODEL: Tiny = Tiny::WEIGHTS;
/// let _: [f32; 1] = MODEL.forward(&[0.5, -1.0]);
/// ```
///
/// Every tensor is checked against the declared layers: a missing, extra, misshapen or
/// non-`F32` tensor, or a file that cannot be read, is a compile error at the layer (or
/// the attribute) concerned, naming the file, the tensor and both shapes. Only the
/// built-in layers can be baked; a network with a layer of the user's own loads its
/// weights at run time with `nn::io::load`.
///
/// # An int8 network baked in
///
/// `#[weights("path.safetensors", dtype = int8)]` reads an int8 file (what
/// `nn::int8::Quantized::save` and `tools/tflite_to_int8.py` write) and makes the struct the
/// declaration's int8 form: `forward` takes `[i8; IN]` and gives `[i8; OUT]` with integer
/// arithmetic only and no heap, its multipliers, shifts and zero-point sums prepared when the
/// crate compiles; `SCRATCH_BYTES` is the activation memory one inference needs.
///
/// ```
/// nn::network! {
///     #[weights("../tests/ui/weights/tiny-int8.safetensors", dtype = int8)]
///     pub struct Tiny<Linear<2, 3>, ReLU, Linear<3, 1>>
/// }
/// static MODEL: Tiny = Tiny::WEIGHTS;
/// let y: [i8; 1] = MODEL.forward(&[12, -40]);
/// assert_eq!(Tiny::SCRATCH_BYTES, 3);
/// # let _ = y;
/// ```
///
/// A float32 file, a missing tensor, a scale count that is not the layer's output channels,
/// a zero point outside int8, or a layer without int8 form is a compile error at the layer.
///
/// A network whose forward is code bakes too: its layer calls, `relu`, `flatten` and `+`
/// (TFLite's ADD, its output quantisation `add.output_scale`, `add_1...` in the file), with
/// networks declared from templates nested in it, their tensors under their field's name
/// (`stack1.conv1.weight`); the activations of the whole are laid out at compile time.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    match syn::parse::<ast::Input>(input.clone()) {
        Ok(parsed) if template::is_template(&parsed) => {
            template::expand(&parsed, input.into()).into()
        }
        Ok(parsed)
            if parsed.weights.as_ref().is_some_and(|w| w.int8) && parsed.forward.is_some() =>
        {
            match template::request(&parsed, &input.clone().into()) {
                Some(request) => request.into(),
                None => expand::expand(parsed).into(),
            }
        }
        Ok(input) => expand::expand(input).into(),
        // The network's name still gets a stand-in, so that its uses add no errors.
        Err(e) => match ast::head(input) {
            Some(head) => stub::stub(&head, e).into(),
            None => e.to_compile_error().into(),
        },
    }
}

/// Implements `nn::Parameters` and `nn::Zeroable` for a layer of the user's, from its fields:
/// `#[param]` on an `f32` array (nested for more dimensions) makes a trainable parameter,
/// `#[buffer]` on an `f32` array or a `u64` counter a buffer, saved but not trained; other
/// fields are neither. `nn::parameters!()` inside the layer's `impl nn::Layer` then writes
/// `PARAMS` and the visitors.
///
/// ```
/// #[derive(Clone, Copy, nn::Parameters)]
/// struct Affine<const N: usize> {
///     #[param]
///     weight: [[f32; N]; N],
///     #[param]
///     bias: [f32; N],
///     #[buffer]
///     calls: u64,
/// }
/// assert_eq!(<Affine<3> as nn::Parameters>::PARAM_COUNT, 3 * 3 + 3);
/// ```
///
/// A whole layer, with its `impl nn::Layer`, is in the documentation of `nn::Layer`.
#[proc_macro_derive(Parameters, attributes(param, buffer))]
pub fn derive_parameters(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::derive(&input).into()
}
