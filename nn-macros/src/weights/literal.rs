//! The checked tensors as literal data: nested `f32` arrays shaped as in the file, and
//! the batch norms' counters as `u64`.

use nn_safetensors::{Dtype, Tensor};
use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::quote;

/// A tensor's values, flat.
pub fn floats(view: &Tensor<'_>) -> Vec<f32> {
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A float that reads back to exactly `v`: the shortest decimal that round-trips, or its
/// bits where no literal exists (infinities, NaN).
fn float(v: f32, out: &mut String) {
    use std::fmt::Write;
    let _ = if !v.is_finite() {
        write!(
            out,
            "::core::primitive::f32::from_bits({:#010x}),",
            v.to_bits()
        )
    } else if v.is_sign_negative() {
        write!(out, "-{:?}f32,", -v)
    } else {
        write!(out, "{v:?}f32,")
    };
}

/// The literal value of a checked tensor: nested arrays shaped as in the file for `F32`,
/// a `u64` for the `I64` counter (a negative count reads as 0, as `nn::io::load` reads it).
pub fn literal(view: &Tensor<'_>, span: Span) -> Result<TokenStream, String> {
    if view.dtype() == Dtype::I64 {
        let count = <[u8; 8]>::try_from(view.data())
            .map(i64::from_le_bytes)
            .map_err(|_| "the counter is not one int64".to_string())?;
        // As `nn::io::load`: a count below zero is a damaged file, not a count.
        let count = u64::try_from(count).map_err(|_| {
            format!(
                "holds a negative count ({count}), which `nn::io::load` refuses too; \
                 a batch norm counts the batches it has seen"
            )
        })?;
        return Ok(quote!(#count));
    }
    nest(&floats(view), view.shape(), span)
}

/// `values` as nested array expressions of `shape`. The innermost rows are lexed from one
/// string each: far cheaper than a token per number through the compiler's bridge.
pub fn nest(values: &[f32], shape: &[usize], span: Span) -> Result<TokenStream, String> {
    let bracket = |inner: TokenStream| {
        let mut g = Group::new(Delimiter::Bracket, inner);
        g.set_span(span);
        TokenStream::from(TokenTree::Group(g))
    };
    match shape {
        [] => Err("a scalar where an array is needed".to_string()),
        [_] => {
            let mut s = String::with_capacity(values.len() * 14);
            for &v in values {
                float(v, &mut s);
            }
            let inner: TokenStream = s
                .parse()
                .map_err(|e| format!("cannot emit the values: {e}"))?;
            Ok(bracket(inner))
        }
        [_, inner @ ..] => {
            let row: usize = inner.iter().product();
            let mut out = TokenStream::new();
            for chunk in values.chunks(row.max(1)) {
                out.extend(nest(chunk, inner, span)?);
                out.extend(quote!(,));
            }
            Ok(bracket(out))
        }
    }
}
