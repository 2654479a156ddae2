//! `#[weights("file.safetensors")]` as written on a network: parsed here, read and baked
//! in `weights`.
//!
//! The parser takes the attribute off the network before anything else sees it; keeping its
//! parsing apart from the baking lets `ast` use it without importing `weights`, which
//! imports `ast`.

use syn::{Attribute, LitStr};

/// A parsed `#[weights("path")]`.
pub struct Attr {
    /// The whole attribute, for errors about the file.
    pub attr: Attribute,
    /// The file's path, as written: relative to the crate's root.
    pub path: LitStr,
}

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
            let usage = "expected the file's path: `#[weights(\"path/to/model.safetensors\")]`, \
                         relative to the crate's root";
            let path = match &attr.meta {
                syn::Meta::List(list) => list
                    .parse_args::<LitStr>()
                    .map_err(|e| syn::Error::new(e.span(), usage))?,
                _ => return Err(syn::Error::new_spanned(&attr, usage)),
            };
            if found.is_some() {
                return Err(syn::Error::new_spanned(
                    &attr,
                    "a network takes its weights from one file; remove this `#[weights]`",
                ));
            }
            found = Some(Attr { attr, path });
        }
        Ok((found, rest))
    }
}
