//! `#[weights("file.safetensors")]`: a network's parameters read from a file at compile
//! time and emitted as a constant of literal data, so that
//! `static MODEL: Net = Net::WEIGHTS;` sits in flash and nothing is parsed at run time.
//!
//! Every tensor is checked against the declared layers here, so a file that does not fit
//! the network is a compile error at the layer it does not fit, naming the file, the
//! tensor and both shapes. Sizes given as const items cannot be compared by the macro; the
//! literal arrays are then shaped as the file says, and the compiler rejects a mismatch.

mod check;
mod int8;
mod literal;
mod wanted;

use std::path::{Path, PathBuf};

use nn_safetensors::{Dtype, File, ReadError};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use self::wanted::ExpectedTensor;
use crate::ast::Input;
use crate::attr::Attr;
use crate::size::Size;
use crate::valid::{ImageKind, Keeps, Kind, Net, Resolved};

/// The constant `WEIGHTS` and an `include_bytes!` of the file, or the errors that stop
/// them together with a stub of the constant, so that code naming it gets no follow-on
/// error.
pub fn expand(input: &Input, net: &Net<'_>, attr: &Attr) -> TokenStream {
    let ident = &input.ident;
    match bake(input, net, attr) {
        Ok(tokens) => tokens,
        Err(e) => {
            let err = e.to_compile_error();
            quote! {
                #err
                impl #ident {
                    #[doc(hidden)]
                    pub const WEIGHTS: Self = ::nn::__private::zeroed();
                }
            }
        }
    }
}

/// The int8 form of the declaration, `#[weights("file", dtype = int8)]` (see `int8`), or
/// the errors that stop it together with a stand-in of the struct, so that code naming it
/// gets no follow-on error.
pub fn expand_int8(input: &Input, net: &Net<'_>, attr: &Attr) -> TokenStream {
    let baked =
        read_file(attr).and_then(|(file, bytes)| int8::bake(input, net, attr, &file, &bytes));
    match baked {
        Ok(tokens) => tokens,
        Err(e) => {
            let err = e.to_compile_error();
            let (attrs, vis, ident) = (&input.attrs, &input.vis, &input.ident);
            quote! {
                #err
                #(#attrs)*
                #vis struct #ident;
                #[allow(dead_code)]
                impl #ident {
                    #[doc(hidden)]
                    pub const WEIGHTS: Self = #ident;
                    #[doc(hidden)]
                    pub const SCRATCH_BYTES: usize = 0;
                    #[doc(hidden)]
                    pub fn forward<const I: usize, const O: usize>(&self, _: &[i8; I]) -> [i8; O] {
                        [0; O]
                    }
                }
            }
        }
    }
}

/// The weights file named by `#[weights]`, resolved and read whole.
fn read_file(attr: &Attr) -> syn::Result<(PathBuf, Vec<u8>)> {
    let shown_path = attr.path.value();
    let file_err =
        |msg: String| syn::Error::new_spanned(&attr.attr, format!("`{shown_path}`: {msg}"));
    let file = resolve(&shown_path).map_err(&file_err)?;
    // Read and checked as `nn::io::load` reads and checks it: regular files only, no more
    // bytes than the header promises.
    let bytes = nn_safetensors::read(&file).map_err(|e| match e {
        ReadError::Io(e) => file_err(format!(
            "cannot read the weights file: {e}; the path is relative to the crate's root, \
             the folder of its Cargo.toml"
        )),
        other => file_err(other.to_string()),
    })?;
    Ok((file, bytes))
}

/// Whether a layer fills itself from the file: a nested network, an inline block, a
/// sequence layer (whose `Bake` impl lays out its gates), or a layer of the user's (which
/// the compiler then refuses, having no `Bake` impl).
fn is_nested(layer: &Resolved<'_>) -> bool {
    matches!(
        layer.kind,
        Kind::User | Kind::Sequence(_) | Kind::Image(ImageKind::Conv1d(_))
    )
}

/// Whether tensor `key` belongs to `layer`, a layer that fills itself from the file: the
/// keys under its name, or every key for a layer left unnamed.
fn is_under(layer: &Resolved<'_>, key: &str) -> bool {
    layer.name.is_empty()
        || key
            .strip_prefix(layer.name.as_str())
            .is_some_and(|r| r.starts_with('.'))
}

/// The type that names layer `layer` of network `owner` in a baking table's path.
///
/// The tables are named here, beside the baking, so that this module needs nothing of
/// `expand`; `expand` names them too, in the `Bake` impl it gives every network.
pub fn name_type(owner: &syn::Ident, layer: &Resolved<'_>) -> syn::Ident {
    syn::Ident::new(&format!("__{owner}_{}_name", layer.name), Span::call_site())
}

/// The baking table of layer `layer` of network `owner`, whose own table is `table`: the
/// same table one name deeper, or the same table for a layer left unnamed (it has no
/// tensors of its own to name).
pub fn child_table(owner: &syn::Ident, layer: &Resolved<'_>, table: TokenStream) -> TokenStream {
    if layer.name.is_empty() {
        table
    } else {
        let name = name_type(owner, layer);
        quote!(::nn::__private::Child<#table, #name>)
    }
}

fn bake(input: &Input, net: &Net<'_>, attr: &Attr) -> syn::Result<TokenStream> {
    let layers = &net.layers[..];
    let table_ident = syn::Ident::new(&format!("__{}_weights", input.ident), Span::call_site());
    let shown_path = attr.path.value();
    let file_err =
        |msg: String| syn::Error::new_spanned(&attr.attr, format!("`{shown_path}`: {msg}"));

    let wants = wanted::tensors(layers);
    let (file, bytes) = read_file(attr)?;
    let tensors = File::parse(&bytes).map_err(|e| file_err(e.to_string()))?;
    // An int8 file (`Quantized::save`'s): said once, at the first layer it gives an int8
    // weight, with the attribute that bakes it.
    if let Some(w) = wants.iter().find(|w| {
        tensors
            .tensor(&w.key)
            .is_some_and(|t| t.dtype() == Dtype::I8)
    }) {
        return Err(syn::Error::new_spanned(
            &w.layer.decl.ty,
            format!(
                "`{shown_path}`: tensor `{}` is I8: this is an int8 file, and the network \
                 bakes float32; bake its int8 form with \
                 `#[weights(\"{shown_path}\", dtype = int8)]`, or bake the float32 file it \
                 was quantised from",
                w.key
            ),
        ));
    }

    // The layers that fill themselves from the file: nested networks and inline blocks,
    // whose tensors are the keys under their names. What they miss, the compiler reports
    // when it evaluates `WEIGHTS` (see `nn-core/src/bake.rs`).
    let nested: Vec<&Resolved<'_>> = layers.iter().filter(|l| is_nested(l)).collect();
    // A file with none of the network's names was saved from another network, or with other
    // layer names: one error says so, rather than one per tensor.
    if !wants.is_empty()
        && nested.is_empty()
        && wants.iter().all(|w| tensors.tensor(&w.key).is_none())
    {
        let have = tensors.names();
        return Err(file_err(format!(
            "none of `{}`'s tensors is in the file: it needs {}, the file has {}; \
             were the layers named otherwise when it was saved?",
            input.ident,
            check::listing(wants.iter().map(|w| w.key.as_str())),
            check::listing(have),
        )));
    }
    let values = check::all(&tensors, &wants, &nested, layers, input, attr, &shown_path)?;

    // The literal value of each layer, in declaration order.
    let mut fields = Vec::with_capacity(layers.len());
    let mut next = wants.iter().zip(&values).peekable();
    for layer in layers {
        let own = std::iter::from_fn(|| next.next_if(|(w, _)| std::ptr::eq(w.layer, layer)));
        let value = layer_value(layer, own, &input.ident, &table_ident, &shown_path)?;
        let field = &layer.field;
        fields.push(if net.named {
            quote!(#field: #value)
        } else {
            value
        });
    }

    let ident = &input.ident;
    let body = if net.named {
        quote!(#ident { #(#fields),* })
    } else {
        quote!(#ident( #(#fields),* ))
    };
    let Some(include) = file.to_str() else {
        return Err(file_err(
            "the path is not valid UTF-8, which `include_bytes!` needs".to_string(),
        ));
    };
    let doc = format!(
        " The weights of `{shown_path}`, baked in at compile time: \
         `static MODEL: {ident} = {ident}::WEIGHTS;` keeps them in read-only memory (flash \
         on a microcontroller), with nothing parsed at run time."
    );
    let table = nested_table(
        &tensors,
        &bytes,
        include,
        &nested,
        &input.ident,
        &table_ident,
        &shown_path,
    )?;
    Ok(quote! {
        // Makes cargo rebuild the crate when the weights file changes.
        const _: &[u8] = ::core::include_bytes!(#include);
        #table

        impl #ident {
            #[doc = #doc]
            pub const WEIGHTS: Self = #body;
        }
    })
}

/// The literal value of one layer of network `owner`, from its own tensors `own`: the
/// built-in's fields, or for a layer that fills itself, its `Bake` constant from the
/// network's table.
fn layer_value<'w, 'f: 'w, 'a: 'f>(
    layer: &Resolved<'_>,
    own: impl Iterator<Item = (&'w ExpectedTensor<'w>, &'w &'f nn_safetensors::Tensor<'a>)>,
    owner: &syn::Ident,
    table_ident: &syn::Ident,
    shown_path: &str,
) -> syn::Result<TokenStream> {
    let span = layer.decl.ty.span();
    let mut inits = Vec::new();
    for (w, view) in own {
        let name = syn::Ident::new(w.name, span);
        let value = literal::literal(view, span).map_err(|msg| {
            let key = &w.key;
            syn::Error::new_spanned(
                &layer.decl.ty,
                format!("`{shown_path}`: tensor `{key}`: {msg}"),
            )
        })?;
        inits.push(quote!(#name: #value));
    }
    // A layer without bias holds zeros where its bias would be (no tensor of the file's).
    let zero_bias = |n: &Size| {
        let n = n.expr();
        quote_spanned!(span=> bias: [0.0f32; #n])
    };
    match &layer.kind {
        Kind::Linear {
            outputs,
            bias: false,
            ..
        } => inits.push(zero_bias(outputs)),
        Kind::Image(ImageKind::Conv(conv) | ImageKind::ConvTranspose(conv, _)) if !conv.bias => {
            inits.push(zero_bias(&conv.cout))
        }
        _ => {}
    }
    Ok(match &layer.kind {
        Kind::Linear { .. } => quote_spanned!(span=> ::nn::Linear { #(#inits),* }),
        Kind::BatchNorm { .. } => quote_spanned!(span=> ::nn::BatchNorm { #(#inits),* }),
        Kind::Activation(Keeps { width: Some(_), .. }) => {
            quote_spanned!(span=> ::nn::LayerNorm { #(#inits),* })
        }
        // The type `valid` chose: `Conv2d`'s fast one where it takes the layer.
        Kind::Image(ImageKind::Conv(_))
            if !layer.field_ty.to_string().contains("Conv2dGeneral") =>
        {
            quote_spanned!(span=> ::nn::Conv2d { #(#inits),* })
        }
        Kind::Image(ImageKind::Conv(_)) => {
            quote_spanned!(span=> ::nn::Conv2dGeneral { #(#inits),* })
        }
        Kind::Image(ImageKind::ConvTranspose(..)) => {
            quote_spanned!(span=> ::nn::ConvTranspose2d { #(#inits),* })
        }
        Kind::Image(ImageKind::BatchNorm2d(_) | ImageKind::BatchNorm1d(_)) => {
            quote_spanned!(span=> ::nn::BatchNorm2d { #(#inits),* })
        }
        Kind::User | Kind::Sequence(_) | Kind::Image(ImageKind::Conv1d(_)) => {
            let ty = &layer.field_ty;
            let table = child_table(owner, layer, quote!(#table_ident));
            quote_spanned!(span=> <#ty as ::nn::__private::Bake<#table>>::BAKED)
        }
        // A layer without tensors: its only value is the zero-sized one.
        Kind::Activation(_) | Kind::Image(_) => {
            quote_spanned!(span=> ::nn::__private::zeroed())
        }
    })
}

/// The table the nested networks fill themselves from at compile time: the key, shape and
/// data offset of every tensor under their names, over the file's bytes included whole, and
/// for each named nested layer a check that it has at least as many tensors as the file
/// holds under its name (every one it has must be there, so a larger count in the file is a
/// tensor it does not have). Nothing when there is no nested network.
fn nested_table(
    tensors: &File<'_>,
    bytes: &[u8],
    include: &str,
    nested: &[&Resolved<'_>],
    owner: &syn::Ident,
    table_ident: &syn::Ident,
    shown_path: &str,
) -> syn::Result<Option<TokenStream>> {
    if nested.is_empty() {
        return Ok(None);
    }
    let mut entries = Vec::new();
    for view in tensors.tensors() {
        let key = view.name();
        let Some(layer) = nested.iter().find(|l| is_under(l, key)) else {
            continue;
        };
        let counter = match view.dtype() {
            Dtype::F32 => false,
            Dtype::I64 => true,
            other => {
                return Err(syn::Error::new_spanned(
                    &layer.decl.ty,
                    format!(
                        "`{shown_path}`: tensor `{key}` is {other}; a network's tensors are \
                         F32, and its batch norms' counters I64"
                    ),
                ))
            }
        };
        // The tensor's data lies inside `bytes`: its offset there, for the constants to read.
        let start = view.data().as_ptr() as usize - bytes.as_ptr() as usize;
        let shape = view.shape();
        entries.push(quote! {
            ::nn::__private::Entry { key: #key, shape: &[#(#shape),*], counter: #counter, start: #start }
        });
    }
    let counts = nested.iter().filter(|l| !l.name.is_empty()).map(|l| {
        let keys: Vec<&str> = tensors.names().filter(|k| is_under(l, k)).collect();
        let n = keys.len();
        let ty = &l.field_ty;
        let table = child_table(owner, l, quote!(#table_ident));
        let shown_ty = quote!(#ty).to_string().replace(' ', "");
        let msg = format!(
            "#[weights]: `{shown_path}` holds {n} tensors under `{name}.` ({listing}), more \
             than `{shown_ty}` (layer `{name}`) has; the file is for another network",
            name = l.name,
            listing = check::listing(keys.iter().copied()),
        );
        // `assert!` reads its message as a format string; a type may hold braces.
        let msg = msg.replace('{', "{{").replace('}', "}}");
        quote_spanned! {l.decl.ty.span()=>
            const _: () = ::core::assert!(
                <#ty as ::nn::__private::Bake<#table>>::TENSORS >= #n,
                #msg
            );
        }
    });
    Ok(Some(quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub struct #table_ident;
        impl ::nn::__private::Table for #table_ident {
            const BYTES: &'static [u8] = ::core::include_bytes!(#include);
            const ENTRIES: &'static [::nn::__private::Entry] = &[#(#entries),*];
            const PATH: ::nn::Path<'static> = ::nn::Path::ROOT;
        }
        #(#counts)*
    }))
}

/// The file named by `path`: relative to the crate's root (`CARGO_MANIFEST_DIR`). When the
/// macro is called from a file outside that folder (trybuild compiles `tests/ui` files in a
/// crate of its own), relative to the root of the package that holds the calling file: the
/// nearest folder above it with a `Cargo.toml`.
fn resolve(path: &str) -> Result<PathBuf, String> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let caller = proc_macro::Span::call_site()
        .local_file()
        .map(|f| canonical(&f));
    let root = match (manifest, caller) {
        (Some(manifest), Some(caller)) if !caller.starts_with(canonical(&manifest)) => caller
            .ancestors()
            .skip(1)
            .find(|d| d.join("Cargo.toml").is_file())
            .map_or(manifest, Path::to_path_buf),
        (Some(manifest), _) => manifest,
        (None, _) => {
            return Err(
                "`CARGO_MANIFEST_DIR` is not set, so the path has nothing to be relative to; \
                 build with cargo"
                    .to_string(),
            )
        }
    };
    Ok(root.join(path))
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}
