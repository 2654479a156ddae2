//! A network declared once and used at several sizes: a network generic over sizes whose
//! input is an image (or whose forward is code) is a template. Stable Rust cannot compute a
//! convolution's output side from generic parameters inside a type, so the template is not
//! a generic type: `network!` turns it into a `macro_rules!` of the same name that declares
//! the network at concrete sizes, and a network that lists `layer2: BasicBlock!<32, 2>`
//! declares an instance at the sizes written and at the image that reaches it there, checked
//! like any network.
//!
//! The template's input may name sizes that are not its parameters (`Image<C, H, W>`,
//! `Features<N>`): those come from what flows into it at each use. The others are written
//! at the use, in the order of the template's parameters.

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};

use crate::ast::{Declared, Input};
use crate::size::{Shape, Size};

/// A use of a template in a network's list: `BasicBlock!<32, 2>`.
pub struct Use {
    pub mac: Ident,
    /// The sizes written, each one token tree (a literal, a name or a braced expression).
    pub args: Vec<TokenStream>,
    /// How messages and the summary show it.
    pub shown: String,
}

/// `tokens` as a template use, if they are one: `Name!<a, b>` or `Name!`.
pub fn parse_use(tokens: &TokenStream) -> Option<syn::Result<Use>> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let (mac, rest) = match trees.as_slice() {
        [TokenTree::Ident(i), TokenTree::Punct(p), rest @ ..] if p.as_char() == '!' => (i, rest),
        _ => return None,
    };
    let mut args = Vec::new();
    match rest {
        [] => {}
        [TokenTree::Punct(open), inner @ .., TokenTree::Punct(close)]
            if open.as_char() == '<' && close.as_char() == '>' =>
        {
            let mut arg = TokenStream::new();
            let mut depth = 0usize;
            for t in inner {
                match t {
                    TokenTree::Punct(p) if p.as_char() == ',' && depth == 0 => {
                        args.push(std::mem::take(&mut arg));
                        continue;
                    }
                    TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
                    TokenTree::Punct(p) if p.as_char() == '>' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                arg.extend([t.clone()]);
            }
            if !arg.is_empty() {
                args.push(arg);
            }
        }
        _ => {
            return Some(Err(syn::Error::new_spanned(
                tokens,
                "a template is used as `Name!<SIZE, ..>`, its sizes in angle brackets",
            )))
        }
    }
    let shown = format!(
        "{mac}!<{}>",
        args.iter()
            .map(crate::size::pretty)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let args = args.into_iter().map(one_tree).collect();
    Some(Ok(Use {
        mac: mac.clone(),
        args,
        shown,
    }))
}

/// A size as one token tree, which a `macro_rules!` matcher takes as `$x:tt`.
fn one_tree(ts: TokenStream) -> TokenStream {
    if ts.clone().into_iter().count() == 1 {
        ts
    } else {
        let g = Group::new(Delimiter::Brace, ts);
        g.into_token_stream()
    }
}

/// Whether `input` declares a template.
pub fn is_template(input: &Input) -> bool {
    !input.generics.params.is_empty() && (input.forward.is_some() || input.input.is_some())
}

/// The sizes of the template's input that are not its parameters: by position, the
/// image's channels, height and width, and the features' width.
fn free(input: &Input, params: &[String]) -> [Option<String>; 4] {
    let name = |s: &Size| match s {
        Size::Expr(ts) => syn::parse2::<Ident>(ts.clone())
            .ok()
            .map(|i| i.to_string())
            .filter(|n| !params.contains(n)),
        Size::Lit(_) => None,
    };
    let image = |s: &Shape| [name(&s.c), name(&s.h), name(&s.w), None];
    if let Some(shape) = &input.input {
        return image(shape);
    }
    match input
        .forward
        .as_ref()
        .and_then(|f| f.inputs.first())
        .map(|p| &p.declared)
    {
        Some(Declared::Image(s)) => image(s),
        Some(Declared::Features(n)) => [None, None, None, name(n)],
        _ => [None, None, None, None],
    }
}

fn dollar(name: &str) -> TokenStream {
    let mut out = TokenStream::new();
    out.extend([TokenTree::Punct(Punct::new('$', Spacing::Alone))]);
    out.extend([TokenTree::Ident(Ident::new(name, Span::call_site()))]);
    out
}

/// `tokens` with every identifier in `names` replaced by its metavariable.
fn substitute(tokens: TokenStream, names: &[(String, String)]) -> TokenStream {
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Ident(i) => match names.iter().find(|(n, _)| i == n) {
                Some((_, var)) => dollar(var),
                None => TokenTree::Ident(i).into_token_stream(),
            },
            TokenTree::Group(g) => {
                let mut inner = Group::new(g.delimiter(), substitute(g.stream(), names));
                inner.set_span(g.span());
                inner.into_token_stream()
            }
            other => other.into_token_stream(),
        })
        .collect()
}

/// The `macro_rules!` a template declaration becomes. `raw` is the declaration as written.
pub fn expand(input: &Input, raw: TokenStream) -> TokenStream {
    let ident = &input.ident;
    if let Some(w) = &input.weights {
        return syn::Error::new_spanned(
            &w.attr,
            "a template cannot have its weights baked in: bake each network declared from it",
        )
        .to_compile_error();
    }
    let params: Vec<String> = input
        .generics
        .const_params()
        .map(|c| c.ident.to_string())
        .collect();
    if params.len() != input.generics.params.len() {
        return syn::Error::new_spanned(
            &input.generics,
            "a network is generic over sizes only: write `const H: usize`",
        )
        .to_compile_error();
    }
    let free = free(input, &params);
    // The declaration without its generics, named by the use.
    let trees: Vec<TokenTree> = raw.into_iter().collect();
    let at = trees
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i == "struct"))
        .expect("a parsed network has `struct`");
    let mut body: Vec<TokenTree> = trees[..at + 1].to_vec();
    let mut rest = trees[at + 2..].iter().cloned().peekable();
    // Skip `<...>` after the name.
    let mut depth = 0usize;
    while let Some(t) = rest.peek() {
        match t {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => {
                depth -= 1;
                if depth == 0 {
                    rest.next();
                    break;
                }
            }
            _ if depth == 0 => break,
            _ => {}
        }
        rest.next();
    }
    let mut names: Vec<(String, String)> = params.iter().map(|p| (p.clone(), p.clone())).collect();
    let slots = ["__c", "__h", "__w", "__n"];
    for (f, slot) in free.iter().zip(slots) {
        if let Some(f) = f {
            if !names.iter().any(|(n, _)| n == f) {
                names.push((f.clone(), slot.to_string()));
            }
        }
    }
    let head: TokenStream = body.drain(..).collect();
    let rest: TokenStream = rest.collect();
    // For an int8 network baking this template's layers with its own: the declaration at
    // the sizes written, the sizes of its input left as names.
    let own: Vec<(String, String)> = params.iter().map(|p| (p.clone(), p.clone())).collect();
    let inlined = {
        let (head, tail) = (
            substitute(head.clone(), &own),
            substitute(rest.clone(), &own),
        );
        quote!(#head #ident #tail)
    };
    let head = substitute(head, &names);
    let tail = substitute(rest, &names);
    let name_var = dollar("__name");
    let shown_var = dollar("__shown");
    let matcher_params = params.iter().map(|p| {
        let d = dollar(p);
        quote!(#d:tt)
    });
    let image_vars: Vec<TokenStream> = slots
        .iter()
        .map(|s| {
            // A slot the template does not read is still matched, under a name of its own.
            let used = names.iter().any(|(_, v)| v == s);
            let d = if used {
                dollar(s)
            } else {
                dollar(&format!("{s}_"))
            };
            quote!(#d:tt)
        })
        .collect();
    let usage = format!(
        "`{ident}!` takes {} size{}{}; the sizes of its input come from what flows into it",
        params.len(),
        if params.len() == 1 { "" } else { "s" },
        if params.is_empty() {
            String::new()
        } else {
            format!(", `{ident}!<{}>`", params.join(", "))
        }
    );
    let doc = format!(
        " The template `{ident}`: `{ident}!<{}>` in a network's list declares it at those sizes.",
        params.join(", ")
    );
    let vis = &input.vis;
    let export = (!matches!(vis, syn::Visibility::Inherited)).then(|| {
        quote! {
            #[allow(unused_imports)]
            pub(crate) use #ident;
        }
    });
    // `$($__other:tt)*`: any other use, answered with the usage.
    let other = {
        let mut inner = dollar("__other");
        inner.extend(quote!(:tt));
        let mut t = TokenStream::new();
        t.extend([TokenTree::Punct(Punct::new('$', Spacing::Alone))]);
        t.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, inner))]);
        t.extend([TokenTree::Punct(Punct::new('*', Spacing::Alone))]);
        t
    };
    // `$($__rest:tt)*` and `$($__rest)*`: the int8 network's own declaration, given back.
    let (rest_matcher, rest_tokens) = {
        let repeat = |inner: TokenStream| {
            let mut t = TokenStream::new();
            t.extend([TokenTree::Punct(Punct::new('$', Spacing::Alone))]);
            t.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, inner))]);
            t.extend([TokenTree::Punct(Punct::new('*', Spacing::Alone))]);
            t
        };
        let mut m = dollar("__rest");
        m.extend(quote!(:tt));
        (repeat(m), repeat(dollar("__rest")))
    };
    let field_var = dollar("__field");
    let inline_params = params.iter().map(|p| {
        let d = dollar(p);
        quote!(#d:tt)
    });
    quote! {
        #[doc = #doc]
        #[allow(unused_macros)]
        macro_rules! #ident {
            (@int8 #field_var:ident; #(#inline_params),*; { #rest_matcher }) => {
                ::nn::network! {
                    #[__inlined(#field_var, { #inlined })]
                    #rest_tokens
                }
            };
            (#name_var:ident, #shown_var:literal; #(#matcher_params),*; #(#image_vars),*) => {
                ::nn::network! {
                    #[shown_as(#shown_var)]
                    #[allow(non_camel_case_types)]
                    #head #name_var #tail
                }
            };
            (#other) => {
                ::core::compile_error!(#usage);
            };
        }
        #export
    }
}

/// The instance of `u` a network declares for its layer `ty`, given what flows into it:
/// `image` (an image's channels, height and width) or `width` features.
pub fn instance(
    u: &Use,
    ty: &syn::Type,
    image: Option<&[TokenStream; 3]>,
    width: Option<&TokenStream>,
) -> TokenStream {
    let mac = &u.mac;
    let zero = quote!(0);
    let [c, h, w] = match image {
        Some([c, h, w]) => [c, h, w].map(|t| one_tree(t.clone())),
        None => [zero.clone(), zero.clone(), zero.clone()],
    };
    let n = width.map_or(zero, |t| one_tree(t.clone()));
    let args = &u.args;
    let shown = u.shown.replace('!', "");
    quote!(#mac! { #ty, #shown; #(#args),*; #c, #h, #w, #n })
}

/// For an int8 network whose forward is code: the first template among its layers whose
/// declaration it has not been given, asked to give it back (`#[__inlined(..)]` on `raw`,
/// the network's declaration as written), so that the network bakes the template's layers
/// with its own, every size known. `None` when it has them all.
pub fn request(input: &Input, raw: &TokenStream) -> Option<TokenStream> {
    let (field, u) = input.layers.iter().find_map(|l| {
        let u = l.template.as_ref()?;
        let name = l.name.as_ref()?;
        (!input.inlined.iter().any(|(f, _)| f == name)).then_some((name, u))
    })?;
    let (mac, args) = (&u.mac, &u.args);
    Some(quote!(#mac! { @int8 #field; #(#args),*; { #raw } }))
}
