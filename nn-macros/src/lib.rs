//! The `network!` macro of the `nn` crate: parse, validate, expand.
//!
//! Use it through `nn::network!`; its documentation is there.

mod ast;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Declares a network: a struct of layers with shape-checked forward and backward passes.
///
/// ```
/// nn::network! {
///     /// The design card's network.
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
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as ast::Input);
    expand::expand(input).into()
}
