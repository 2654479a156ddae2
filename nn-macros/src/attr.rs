//! `#[weights("file.safetensors")]` as written on a network: parsed here, read and baked
//! in `weights`.
//!
//! The parser takes the attribute off the network before anything else sees it; keeping its
//! parsing apart from the baking lets `ast` use it without importing `weights`, which
//! imports `ast`.

use syn::{Attribute, LitStr};

/// A parsed `#[weights("path")]` or `#[weights("path", dtype = int8)]`.
pub struct Attr {
    /// The whole attribute, for errors about the file.
    pub attr: Attribute,
    /// The file's path, as written: relative to the crate's root.
    pub path: LitStr,
    /// `dtype = int8`: the file is an int8 one, and the network its int8 form.
    pub int8: bool,
}

/// The file's path and, after a comma, `dtype = float32` or `dtype = int8`.
fn parse_args(input: syn::parse::ParseStream<'_>) -> syn::Result<(LitStr, bool)> {
    let path: LitStr = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), USAGE))?;
    if input.is_empty() {
        return Ok((path, false));
    }
    input.parse::<syn::Token![,]>()?;
    if input.is_empty() {
        return Ok((path, false));
    }
    let key: syn::Ident = input.parse()?;
    if key != "dtype" {
        return Err(syn::Error::new(
            key.span(),
            format!(
                "unknown setting `{key}`: `#[weights]` takes the file's path and, for an int8 \
                 file, `dtype = int8`"
            ),
        ));
    }
    input.parse::<syn::Token![=]>()?;
    let dtype: syn::Ident = input.parse()?;
    let int8 = match dtype.to_string().as_str() {
        "int8" => true,
        "float32" => false,
        other => {
            return Err(syn::Error::new(
                dtype.span(),
                format!(
                    "`#[weights]` bakes no `{other}` file: its dtypes are `float32` (the \
                     default, a state dict as PyTorch saves it) and `int8` (the int8 file \
                     `nn::int8::Quantized::save` and `tools/tflite_to_int8.py` write)"
                ),
            ))
        }
    };
    if !input.is_empty() {
        return Err(input.error("expected nothing after the dtype"));
    }
    Ok((path, int8))
}

const USAGE: &str = "expected the file's path: `#[weights(\"path/to/model.safetensors\")]`, \
                     relative to the crate's root (and `dtype = int8` after it for an int8 file)";

impl Attr {
    /// Splits `#[weights("path")]` off the network's attributes, so that it does not reach
    /// the struct.
    pub fn take(attrs: Vec<Attribute>) -> syn::Result<(Option<Attr>, Vec<Attribute>)> {
        let mut found: Option<Attr> = None;
        let mut rest = Vec::with_capacity(attrs.len());
        for attr in attrs {
            if !attr.path().is_ident("weights") {
                rest.push(attr);
                continue;
            }
            let (path, int8) = match &attr.meta {
                syn::Meta::List(list) => list.parse_args_with(parse_args)?,
                _ => return Err(syn::Error::new_spanned(&attr, USAGE)),
            };
            if found.is_some() {
                return Err(syn::Error::new_spanned(
                    &attr,
                    "a network takes its weights from one file; remove this `#[weights]`",
                ));
            }
            found = Some(Attr { attr, path, int8 });
        }
        Ok((found, rest))
    }
}
