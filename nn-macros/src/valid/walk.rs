//! What validation collects while it walks the layers (errors, sizes for the compiler to
//! compare, constant assertions) and how it compares two sizes.

use proc_macro2::{Span, TokenStream};
use quote::{quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Type;

use crate::ctxt::Ctxt;
use crate::size::{pretty, Size};

/// A pair of sizes the compiler must compare: `prev` is the output size of the layer
/// before, `input` the input size of the layer at `span`.
pub struct TypeCheck {
    /// The first and last token of the layer, so that the error underlines all of it.
    pub span: (Span, Span),
    /// Whether `prev` is a residual block's input and `input` its output, which must be
    /// equal for the block to keep its width.
    pub keeps: bool,
    pub prev: TokenStream,
    pub input: TokenStream,
    /// Where images may meet, the check in image terms that replaces this one where they do.
    pub image: Option<ImageCheck>,
}

/// A size check between images, where the layers say they take and produce them.
pub enum ImageCheck {
    /// `layer`, the user's or a network, after a layer that produces the image `prev`:
    /// compared as images where `layer` takes one.
    After {
        layer: TokenStream,
        prev: [TokenStream; 3],
    },
    /// `Residual<layer>`: the image `layer` produces must be the one it takes, where it
    /// says both.
    Keeps { layer: TokenStream },
}

pub(super) fn first_last(ty: &Type) -> (Span, Span) {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(|| ty.span(), |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}

/// Everything validation collects while it walks the layers: errors, and checks for the
/// compiler.
#[derive(Default)]
pub(super) struct Walk {
    pub(super) errors: Ctxt,
    /// Sizes for the compiler to compare: [`Net::checks`].
    pub(super) checks: Vec<TypeCheck>,
    /// Constant assertions, each spanned on its layer: [`Net::asserts`].
    pub(super) asserts: Vec<TokenStream>,
    /// The network's generic parameters, by name.
    pub(super) generics: Vec<String>,
    /// Assertions that name generic parameters: they live in the network's impl.
    pub(super) generic_asserts: Vec<TokenStream>,
    /// The network's generic arguments (`<H>`), which its inline blocks' networks take too.
    pub(super) ty_generics: TokenStream,
}

/// Why two sizes cannot be equal.
pub(super) enum Mismatch {
    /// Two different literals; the one flowing in.
    Lit(u64),
    /// Sizes that differ for some values of the generic parameters.
    Generic,
}

impl Walk {
    /// Compares the width flowing in (`have`) with a layer's input (`want`): literals
    /// and generic sizes here, anything else by the compiler.
    pub(super) fn compare(&mut self, ty: &Type, have: &Size, want: &Size) -> Result<(), Mismatch> {
        match (have, want) {
            (Size::Lit(h), Size::Lit(w)) if h != w => Err(Mismatch::Lit(*h)),
            (Size::Lit(_), Size::Lit(_)) => Ok(()),
            (have, want) if have.mentions(&self.generics) || want.mentions(&self.generics) => {
                let layer_size =
                    |s: &Size| matches!(s, Size::Expr(ts) if ts.to_string().contains("Layer"));
                if have.show() == want.show() {
                    Ok(())
                } else if layer_size(have) || layer_size(want) {
                    // A size from a generic layer's impl: only known once the network's
                    // parameters are.
                    let (h, w) = (have.expr(), want.expr());
                    let msg = format!(
                        "layer size mismatch: `{}` takes `{}` features but the layer before it produces `{}`",
                        pretty(&ty.to_token_stream()),
                        want.show(),
                        have.show()
                    );
                    let (first, _) = first_last(ty);
                    self.generic_asserts
                        .push(quote_spanned!(first=> ::core::assert!(#h == #w, "{}", #msg);));
                    Ok(())
                } else {
                    Err(Mismatch::Generic)
                }
            }
            (have, want) => {
                self.checks.push(TypeCheck {
                    span: first_last(ty),
                    keeps: false,
                    prev: have.expr(),
                    input: want.expr(),
                    image: None,
                });
                Ok(())
            }
        }
    }
}
