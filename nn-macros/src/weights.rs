//! `#[weights("file.safetensors")]`: a network's parameters read from a file at compile
//! time and emitted as a constant of literal data, so that
//! `static MODEL: Net = Net::WEIGHTS;` sits in flash and nothing is parsed at run time.
//!
//! Every tensor is checked against the declared layers here, so a file that does not fit
//! the network is a compile error at the layer it does not fit, naming the file, the
//! tensor and both shapes. Sizes given as const items cannot be compared by the macro; the
//! literal arrays are then shaped as the file says, and the compiler rejects a mismatch.

use std::path::{Path, PathBuf};

use nn_safetensors::{Dtype, File, ReadError, Tensor};
use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::Input;
use crate::attr::Attr;
use crate::ctxt::Ctxt;
use crate::size::Size;
use crate::valid::{self, ImageKind, Keeps, Kind, Net, Resolved};

/// One tensor a layer needs.
struct ExpectedTensor<'a> {
    layer: &'a Resolved<'a>,
    /// The layer as declared, for messages: `Linear<784, 128>`.
    shown: String,
    /// `weight`, `running_mean`, ...
    name: &'static str,
    /// The state-dict key, `0.weight`.
    key: String,
    dtype: Dtype,
    shape: Vec<Size>,
}

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

/// Whether a layer fills itself from the file: a nested network, an inline block, or a
/// layer of the user's (which the compiler then refuses, having no `Bake` impl).
fn is_nested(layer: &Resolved<'_>) -> bool {
    layer.decl.inline.is_some() || matches!(valid::classify(&layer.decl.ty), Ok(Kind::User))
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

/// A tensor's values, flat.
fn floats(view: &Tensor<'_>) -> Vec<f32> {
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn bake(input: &Input, net: &Net<'_>, attr: &Attr) -> syn::Result<TokenStream> {
    let layers = &net.layers[..];
    let table_ident = syn::Ident::new(&format!("__{}_weights", input.ident), Span::call_site());
    let shown_path = attr.path.value();
    let file_err =
        |msg: String| syn::Error::new_spanned(&attr.attr, format!("`{shown_path}`: {msg}"));

    // What the network's own built-in layers need, layer by layer.
    let mut wants = Vec::new();
    for layer in layers {
        // An inline block is a network of its own: it fills itself (see `nested`).
        let kind = match &layer.decl.inline {
            Some(_) => Kind::User,
            None => valid::classify(&layer.decl.ty)?,
        };
        let shown = valid::show(&kind, &layer.decl.ty);
        let mut want = |name: &'static str, dtype: Dtype, shape: Vec<Size>| {
            wants.push(ExpectedTensor {
                layer,
                shown: shown.clone(),
                name,
                key: format!("{}.{name}", layer.name),
                dtype,
                shape,
            })
        };
        match kind {
            Kind::Linear { inputs, outputs } => {
                want("weight", Dtype::F32, vec![outputs.clone(), inputs]);
                want("bias", Dtype::F32, vec![outputs]);
            }
            Kind::BatchNorm { width } => {
                for name in ["weight", "bias", "running_mean", "running_var"] {
                    want(name, Dtype::F32, vec![width.clone()]);
                }
                want("num_batches_tracked", Dtype::I64, vec![]);
            }
            // `LayerNorm<N>`, the one width-keeping built-in with data.
            Kind::Activation(Keeps {
                width: Some(width), ..
            }) => {
                for name in ["weight", "bias"] {
                    want(name, Dtype::F32, vec![width.clone()]);
                }
            }
            Kind::Image(ImageKind::Conv { cin, cout, k, .. }) => {
                want("weight", Dtype::F32, vec![cout.clone(), cin, k.clone(), k]);
                want("bias", Dtype::F32, vec![cout]);
            }
            Kind::Image(ImageKind::BatchNorm2d(c)) => {
                for name in ["weight", "bias", "running_mean", "running_var"] {
                    want(name, Dtype::F32, vec![c.clone()]);
                }
                want("num_batches_tracked", Dtype::I64, vec![]);
            }
            // Layers without tensors; a network (or a layer of the user's, which the
            // compiler then refuses) fills itself from the file.
            Kind::Activation(_) | Kind::Image(_) | Kind::User => {}
        }
    }
    let mut errors = Ctxt::default();

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
    let tensors = File::parse(&bytes).map_err(|e| file_err(e.to_string()))?;

    // The layers that fill themselves from the file: nested networks and inline blocks,
    // whose tensors are the keys under their names. What they miss, the compiler reports
    // when it evaluates `WEIGHTS` (see `nn-core/src/bake.rs`).
    let nested: Vec<&Resolved<'_>> = layers.iter().filter(|l| is_nested(l)).collect();
    let under = |l: &Resolved<'_>, key: &str| {
        l.name.is_empty()
            || key
                .strip_prefix(l.name.as_str())
                .is_some_and(|r| r.starts_with('.'))
    };
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
            listing(wants.iter().map(|w| w.key.as_str())),
            listing(have),
        )));
    }

    // Check every tensor before emitting any, reporting all mistakes at once.
    let mut values = Vec::with_capacity(wants.len());
    for w in &wants {
        match check(&tensors, w, &shown_path) {
            Ok(view) => values.push(view),
            Err(e) => errors.push(e),
        }
    }
    // Sorted, as `names` gives them.
    // The extra tensors, grouped in one pass by the layer name they start with: one error
    // per layer of the network that they name, and one for every name no layer has.
    let mut extra: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for key in tensors
        .names()
        .filter(|n| !wants.iter().any(|w| w.key == *n))
        .filter(|n| !nested.iter().any(|l| under(l, n)))
    {
        let prefix = key.split_once('.').map_or(key, |(p, _)| p);
        extra.entry(prefix).or_default().push(key);
    }
    let mut strangers: (Vec<&str>, Vec<&str>) = Default::default();
    for (prefix, keys) in extra {
        match layers.iter().find(|l| l.name == prefix) {
            Some(layer) => errors.push(unexpected_in(layer, &keys, &wants, &shown_path)),
            None => {
                strangers.0.push(prefix);
                strangers.1.extend(keys);
            }
        }
    }
    if !strangers.0.is_empty() {
        errors.push(unexpected_layers(
            &strangers.0,
            &strangers.1,
            layers,
            input,
            attr,
            &shown_path,
        ));
    }
    errors.finish()?;

    // The literal value of each layer, in declaration order.
    let mut fields = Vec::with_capacity(layers.len());
    let mut next = wants.iter().zip(&values).peekable();
    for layer in layers {
        let span = layer.decl.ty.span();
        let mut inits = Vec::new();
        while let Some((w, view)) = next.next_if(|(w, _)| std::ptr::eq(w.layer, layer)) {
            let name = syn::Ident::new(w.name, span);
            let value = literal(view, span).map_err(|msg| {
                let key = &w.key;
                syn::Error::new_spanned(
                    &layer.decl.ty,
                    format!("`{shown_path}`: tensor `{key}`: {msg}"),
                )
            })?;
            inits.push(quote!(#name: #value));
        }
        let kind = match is_nested(layer) {
            true => Kind::User,
            false => valid::classify(&layer.decl.ty)?,
        };
        let value = match kind {
            Kind::Linear { .. } => quote_spanned!(span=> ::nn::Linear { #(#inits),* }),
            Kind::BatchNorm { .. } => quote_spanned!(span=> ::nn::BatchNorm { #(#inits),* }),
            Kind::Activation(Keeps { width: Some(_), .. }) => {
                quote_spanned!(span=> ::nn::LayerNorm { #(#inits),* })
            }
            Kind::Image(ImageKind::Conv { .. }) => {
                quote_spanned!(span=> ::nn::Conv2d { #(#inits),* })
            }
            Kind::Image(ImageKind::BatchNorm2d(_)) => {
                quote_spanned!(span=> ::nn::BatchNorm2d { #(#inits),* })
            }
            Kind::User => {
                let ty = &layer.field_ty;
                let table = child_table(&input.ident, layer, quote!(#table_ident));
                quote_spanned!(span=> <#ty as ::nn::__private::Bake<#table>>::BAKED)
            }
            // A layer without tensors: its only value is the zero-sized one.
            Kind::Activation(_) | Kind::Image(_) => {
                quote_spanned!(span=> ::nn::__private::zeroed())
            }
        };
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
    // The tensors the nested networks fill themselves from, at compile time.
    let mut f32s = Vec::new();
    let mut counts = Vec::new();
    for key in tensors
        .names()
        .filter(|k| nested.iter().any(|l| under(l, k)))
    {
        let Some(view) = tensors.tensor(key) else {
            continue;
        };
        let span = attr.attr.span();
        match view.dtype() {
            Dtype::F32 => {
                let values = floats(view);
                let values = nest(&values, &[values.len()], span).map_err(&file_err)?;
                f32s.push(quote!((#key, &#values)));
            }
            Dtype::I64 => {
                let count = literal(view, span).map_err(&file_err)?;
                counts.push(quote!((#key, #count)));
            }
            _ => {}
        }
    }
    let table = (!nested.is_empty()).then(|| {
        quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            pub struct #table_ident;
            impl ::nn::__private::Table for #table_ident {
                const F32: &'static [(&'static str, &'static [f32])] = &[#(#f32s),*];
                const COUNTS: &'static [(&'static str, u64)] = &[#(#counts),*];
                const PATH: ::nn::Path<'static> = ::nn::Path::ROOT;
            }
        }
    });
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

/// `names` in backticks, at most five of them: "`a`, `b`, `c`, `d`, 3 more".
fn listing<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 5;
    let total = names.len();
    if total == 0 {
        return "no tensors".to_string();
    }
    let shown = if total > SHOWN { SHOWN - 1 } else { total };
    let mut listed: Vec<String> = names.take(shown).map(|n| format!("`{n}`")).collect();
    if total > shown {
        listed.push(format!("{} more", total - shown));
    }
    listed.join(", ")
}

/// Writes a shape as PyTorch prints sizes: `[128, 784]`, `[]` for a scalar.
fn show_shape<T>(dims: &[T], show: impl Fn(&T) -> String) -> String {
    let dims: Vec<String> = dims.iter().map(show).collect();
    format!("[{}]", dims.join(", "))
}

/// The tensor `w` asks for, if the file has it with the right type and shape. Dimensions
/// given as const items are left to the compiler.
fn check<'f, 'a>(
    file: &'f File<'a>,
    w: &ExpectedTensor<'_>,
    path: &str,
) -> syn::Result<&'f Tensor<'a>> {
    let (key, shown) = (&w.key, &w.shown);
    let want_shape = show_shape(&w.shape, Size::show);
    let err = |msg: String| syn::Error::new_spanned(&w.layer.decl.ty, format!("`{path}`: {msg}"));
    let Some(view) = file.tensor(key) else {
        return Err(err(format!(
            "tensor `{key}` is missing, but `{shown}` needs it, of shape {want_shape}"
        )));
    };
    if view.dtype() != w.dtype {
        let fix = match w.dtype {
            Dtype::F32 => "; save the model as float32 (`model.float()` in PyTorch)",
            _ => "; PyTorch saves this counter as int64",
        };
        return Err(err(format!(
            "tensor `{key}` has type {} but `{shown}` needs {}{fix}",
            view.dtype(),
            w.dtype
        )));
    }
    let fits = view.shape().len() == w.shape.len()
        && view
            .shape()
            .iter()
            .zip(&w.shape)
            .all(|(have, want)| match want {
                Size::Lit(n) => *have as u64 == *n,
                Size::Expr(_) => true,
            });
    if !fits {
        let found = show_shape(view.shape(), usize::to_string);
        let transposed = w.name == "weight"
            && w.shape.len() == 2
            && show_shape(&[&w.shape[1], &w.shape[0]], |s| s.show()) == found;
        let hint = if transposed {
            "; it is transposed: PyTorch stores a `Linear` weight as [out, in]"
        } else {
            ""
        };
        return Err(err(format!(
            "tensor `{key}` has shape {found} but `{shown}` needs {want_shape}{hint}"
        )));
    }
    Ok(view)
}

/// "unexpected tensors `a`, `b`", listing at most a few.
fn unexpected_what(keys: &[&str], path: &str) -> String {
    let plural = if keys.len() == 1 { "" } else { "s" };
    format!(
        "`{path}`: unexpected tensor{plural} {}",
        listing(keys.iter().copied())
    )
}

/// The error for tensors in the file that layer `layer` does not have.
fn unexpected_in(
    layer: &Resolved<'_>,
    keys: &[&str],
    wants: &[ExpectedTensor<'_>],
    path: &str,
) -> syn::Error {
    let what = unexpected_what(keys, path);
    let own: Vec<String> = wants
        .iter()
        .filter(|w| std::ptr::eq(w.layer, layer))
        .map(|w| format!("`{}`", w.key))
        .collect();
    let shown = valid::classify(&layer.decl.ty)
        .map(|k| valid::show(&k, &layer.decl.ty))
        .unwrap_or_else(|_| layer.name.clone());
    let has = if own.is_empty() {
        "has no tensors".to_string()
    } else {
        format!("has only {}", own.join(", "))
    };
    syn::Error::new_spanned(
        &layer.decl.ty,
        format!("{what}: `{shown}` {has}; the file is for another network"),
    )
}

/// The one error, on the attribute, for tensors under names (`prefixes`) that no layer of
/// the network has.
fn unexpected_layers(
    prefixes: &[&str],
    keys: &[&str],
    layers: &[Resolved<'_>],
    input: &Input,
    attr: &Attr,
    path: &str,
) -> syn::Error {
    let what = unexpected_what(keys, path);
    let names: Vec<String> = layers.iter().map(|l| format!("`{}`", l.name)).collect();
    let missing = match prefixes {
        [one] => format!("no layer `{one}`"),
        many => format!("no layers {}", listing(many.iter().copied())),
    };
    syn::Error::new_spanned(
        &attr.attr,
        format!(
            "{what}: `{}` has {missing}, only {}; the file is for another network",
            input.ident,
            names.join(", ")
        ),
    )
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
fn literal(view: &Tensor<'_>, span: Span) -> Result<TokenStream, String> {
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
fn nest(values: &[f32], shape: &[usize], span: Span) -> Result<TokenStream, String> {
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
