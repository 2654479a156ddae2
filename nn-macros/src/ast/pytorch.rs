//! Layers written as PyTorch writes them, `nn.Linear(784, 128)` or `Dropout(0.2)`, answered
//! with how `network!` writes them: `Linear<784, 128>`, `Dropout<0.2>`.
//!
//! A call has no place in a type, so these are never a layer of the user's: the answer is
//! certain. Arguments are translated by position and by PyTorch's keyword names, for the
//! layers whose arguments differ between the two (a `Conv2d`'s positional stride, a pool's
//! stride equal to its kernel, a square `(3, 3)`).

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use syn::Type;

use crate::size::pretty;

/// When `tokens` are a PyTorch call (`nn.Linear(784, 128)`, `Dropout(p=0.2)`, `nn.ReLU`),
/// its name as a type (for spans) and the error that answers it.
pub fn call(tokens: &TokenStream) -> Option<(Type, syn::Error)> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let (args, path) = match trees.split_last() {
        Some((TokenTree::Group(g), path)) if g.delimiter() == Delimiter::Parenthesis => {
            (Some(g.stream()), path)
        }
        _ => (None, trees.as_slice()),
    };
    // `a.b.c` or `a::b::c`: identifiers joined by dots or paths; a dot makes it PyTorch's.
    let mut dotted = false;
    let mut name = None;
    for t in path {
        match t {
            TokenTree::Ident(id) => name = Some(id.clone()),
            TokenTree::Punct(p) if p.as_char() == '.' => dotted = true,
            TokenTree::Punct(p) if p.as_char() == ':' => {}
            _ => return None,
        }
    }
    let name = name?;
    if !dotted && args.is_none() {
        return None;
    }
    let ours = translate(&name.to_string(), args.unwrap_or_default());
    let written = pretty(tokens).replace(" . ", ".").replace(" (", "(");
    let why = if ours.contains('<') {
        "in `network!` a layer's sizes are part of its type, in angle brackets"
    } else {
        "`network!` lists the layers' types"
    };
    let msg = format!("`{written}` is PyTorch's spelling; write `{ours}`: {why}");
    let ty = syn::parse2::<Type>(name.to_token_stream()).ok()?;
    Some((ty, syn::Error::new_spanned(tokens, msg)))
}

/// The call `name(args)` as `network!` writes the layer.
fn translate(name: &str, args: TokenStream) -> String {
    // Split the arguments at commas; `key=value` is a keyword argument.
    let mut positional = Vec::new();
    let mut keywords = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    let mut flush = |current: &mut Vec<TokenTree>| {
        if current.is_empty() {
            return;
        }
        match current.as_slice() {
            [TokenTree::Ident(k), TokenTree::Punct(eq), value @ ..]
                if eq.as_char() == '=' && !value.is_empty() =>
            {
                keywords.push((k.to_string(), value_text(value)));
            }
            all => positional.push(value_text(all)),
        }
        current.clear();
    };
    for t in args {
        match &t {
            TokenTree::Punct(p) if p.as_char() == ',' => flush(&mut current),
            _ => current.push(t),
        }
    }
    flush(&mut current);

    // PyTorch's keyword names, by position.
    let order: &[&str] = match name {
        "Linear" => &["in_features", "out_features"],
        "BatchNorm1d" | "BatchNorm" | "BatchNorm2d" | "LayerNorm" => {
            &["num_features", "normalized_shape"]
        }
        "Conv2d" => &[
            "in_channels",
            "out_channels",
            "kernel_size",
            "stride",
            "padding",
        ],
        "ConvTranspose2d" => &[
            "in_channels",
            "out_channels",
            "kernel_size",
            "stride",
            "padding",
            "output_padding",
        ],
        "MaxPool2d" | "AvgPool2d" => &["kernel_size", "stride"],
        "Dropout" => &["p"],
        "LeakyReLU" => &["negative_slope"],
        "ELU" => &["alpha"],
        _ => &[],
    };
    let mut take = |key: &str| {
        keywords
            .iter()
            .position(|(k, _)| k == key)
            .map(|i| keywords.remove(i).1)
    };
    for (i, key) in order.iter().enumerate() {
        if let Some(v) = take(key) {
            positional.push(v);
        } else if positional.len() == i {
            // A convolution's stride or padding left at its default, so that the keywords
            // after it keep their places.
            match (name, *key) {
                ("Conv2d" | "ConvTranspose2d", "stride") => positional.push("1".to_string()),
                ("Conv2d" | "ConvTranspose2d", "padding" | "output_padding") => {
                    positional.push("0".to_string())
                }
                _ => {}
            }
        }
    }
    let _ = (take("inplace"), take("dim"));
    // `bias=False` where `network!` takes it; PyTorch's default, `True`, says nothing.
    let no_bias = take("bias").as_deref() == Some("False")
        && matches!(name, "Linear" | "Conv2d" | "ConvTranspose2d");
    let mut out_name = match name {
        "BatchNorm1d" => "BatchNorm",
        other => other,
    }
    .to_string();
    let mut args: Vec<String> = Vec::new();
    match name {
        "Conv2d" | "ConvTranspose2d" => {
            let mut it = positional.into_iter();
            args.extend(it.by_ref().take(3));
            if let Some(s) = it.next().filter(|s| s != "1") {
                args.push(format!("stride = {s}"));
            }
            if let Some(p) = it.next().filter(|p| p != "0") {
                args.push(format!("padding = {p}"));
            }
            if let Some(op) = it.next().filter(|op| op != "0") {
                args.push(format!("output_padding = {op}"));
            }
        }
        "MaxPool2d" | "AvgPool2d" => {
            let mut it = positional.into_iter();
            let k = it.next();
            args.extend(k.clone());
            if let Some(s) = it.next().filter(|s| Some(s) != k.as_ref()) {
                args.push(format!("stride = {s}"));
            }
        }
        "GELU" => {
            if take("approximate").as_deref() == Some("\"tanh\"") {
                out_name = "GELU<tanh>".to_string();
            }
        }
        "Softmax" | "LogSoftmax" | "ReLU" | "Sigmoid" | "Tanh" | "SiLU" | "Identity"
        | "Flatten" => {}
        _ => args.extend(positional),
    }
    if no_bias {
        args.push("bias = false".to_string());
    }
    args.extend(keywords.into_iter().map(|(k, v)| format!("{k} = {v}")));
    if args.is_empty() {
        out_name
    } else {
        format!("{out_name}<{}>", args.join(", "))
    }
}

/// An argument's text; a square pair `(3, 3)` is one size here, and PyTorch's string
/// `padding='same'` (or `'valid'`) the bare word.
fn value_text(tokens: &[TokenTree]) -> String {
    if let [TokenTree::Literal(l)] = tokens {
        let text = l.to_string();
        let word = text.trim_matches(|c| c == '\'' || c == '"');
        if matches!(word, "same" | "valid") && word.len() + 2 == text.len() {
            return word.to_string();
        }
    }
    if let [TokenTree::Group(g)] = tokens {
        if g.delimiter() == Delimiter::Parenthesis {
            let parts: Vec<String> = g
                .stream()
                .into_iter()
                .filter(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
                .map(|t| t.to_string())
                .collect();
            if let [a, b] = parts.as_slice() {
                if a == b {
                    return a.clone();
                }
            }
        }
    }
    pretty(&tokens.iter().cloned().collect())
}
