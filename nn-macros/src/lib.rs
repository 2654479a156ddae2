//! The `network!` macro of the `nn` crate: parse, validate, expand.
//!
//! Use it through `nn::network!`; its documentation is there.

// The modules depend one way, so that each can be read without the ones after it:
// `size` and `attr` under `ast`, then `valid`, `weights`, and `expand` on top of all.
mod ast;
mod attr;
mod expand;
mod size;
mod stub;
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
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    match syn::parse::<ast::Input>(input.clone()) {
        Ok(input) => expand::expand(input).into(),
        // The network's name still gets a stand-in, so that its uses add no errors.
        Err(e) => match ast::head(input) {
            Some(head) => stub::stub(&head, e).into(),
            None => e.to_compile_error().into(),
        },
    }
}
