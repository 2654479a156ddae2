//! The typed input of `network!`, each node keeping the tokens it came from for spans.

use proc_macro2::{Delimiter, Group, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, token, Attribute, GenericArgument, Ident, Token, Type, Visibility};

use crate::attr::Attr;
use crate::size::{size_arg, Shape, Size};

mod forward;
mod pytorch;

pub use forward::{Declared, Forward, Objective};

/// `#[attrs] vis struct Name<layer, layer, ...>` or `... struct Name { name: layer, ... }`,
/// where the attributes may include `#[weights("file.safetensors")]`.
pub struct Input {
    pub attrs: Vec<Attribute>,
    /// `#[weights("file.safetensors")]`, taken out of `attrs`.
    pub weights: Option<Attr>,
    /// `#[input(C, H, W)]`, taken out of `attrs`: the shape of an image input.
    pub input: Option<Shape>,
    pub vis: Visibility,
    pub ident: Ident,
    /// `<const H: usize>` after the name, before a `{ ... }` layer list.
    pub generics: syn::Generics,
    pub layers: Vec<LayerDecl>,
    /// `fn forward(..) { .. }` after named fields: the forward written as code, where the
    /// network is not a chain.
    pub forward: Option<Forward>,
    /// The training objective written after the forward.
    pub objective: Option<Objective>,
    /// How the summary names a network declared from a template (`BasicBlock<32, 2>`),
    /// from `#[shown_as("..")]`, which the template writes.
    pub shown_as: Option<String>,
    /// The templates' declarations an int8 network bakes with its own layers, by field:
    /// `#[__inlined(stack1, { .. })]`, which the templates write back (see
    /// `crate::template::request`).
    pub inlined: Vec<(Ident, proc_macro2::TokenStream)>,
}

/// One entry of the layer list: `#[attrs] name: Type` or `Type`.
pub struct LayerDecl {
    pub attrs: Vec<Attribute>,
    pub name: Option<Ident>,
    pub ty: Type,
    /// The layers of `Sequential<...>` or `Residual<...>`, parsed as layer entries.
    pub inline: Option<Inline>,
    /// A layer written as PyTorch writes it (`nn.Linear(784, 128)`), answered with ours;
    /// validation reports it, so that the rest of the network is still checked and the
    /// struct still exists.
    pub pytorch: Option<syn::Error>,
    /// A template used at sizes (`BasicBlock!<32, 2>`); `ty` is then the network declared
    /// from it for this layer.
    pub template: Option<crate::template::Use>,
}

/// An inline block of layers: `Sequential<A, B>` (PyTorch's `nn.Sequential`) or
/// `Residual<A, B>` (a module whose forward is `x + block(x)`).
pub struct Inline {
    pub residual: bool,
    pub layers: Vec<LayerDecl>,
}

/// `Sequential<...>` or `Residual<...>` as a block of layers, if `ty` is one.
fn inline(ty: &Type) -> syn::Result<Option<Inline>> {
    let Type::Path(p) = ty else { return Ok(None) };
    if p.qself.is_some() || p.path.leading_colon.is_some() || p.path.segments.len() != 1 {
        return Ok(None);
    }
    let seg = &p.path.segments[0];
    let residual = match seg.ident.to_string().as_str() {
        "Residual" => true,
        "Sequential" => false,
        _ => return Ok(None),
    };
    let usage = if residual {
        "`Residual` takes the layers of its block, for example \
         `Residual<Linear<64, 64>, ReLU, Linear<64, 64>>`, or a network, `Residual<Block>`"
    } else {
        "`Sequential` takes its layers, for example `Sequential<Linear<784, 512>, ReLU, Linear<512, 10>>`"
    };
    let args = match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) if !a.args.is_empty() => a,
        _ => return Err(syn::Error::new_spanned(ty, usage)),
    };
    let mut layers = Vec::new();
    for a in &args.args {
        let syn::GenericArgument::Type(ty) = a else {
            return Err(syn::Error::new_spanned(a, usage));
        };
        layers.push(LayerDecl {
            attrs: Vec::new(),
            name: None,
            inline: inline(ty)?,
            ty: ty.clone(),
            pytorch: None,
            template: None,
        });
    }
    Ok(Some(Inline { residual, layers }))
}

impl Parse for LayerDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let name: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(name)
        } else {
            None
        };
        let tokens = layer_tokens(input)?;
        if let Some((ty, e)) = pytorch::call(&tokens) {
            return Ok(LayerDecl {
                attrs,
                name,
                ty,
                inline: None,
                pytorch: Some(e),
                template: None,
            });
        }
        if let Some(u) = crate::template::parse_use(&tokens) {
            // Named for its place once the network's name is known (`Input::parse`).
            return Ok(LayerDecl {
                attrs,
                name,
                ty: syn::parse_quote!(__Template),
                inline: None,
                pytorch: None,
                template: Some(u?),
            });
        }
        let ty: Type = syn::parse2(size_exprs(tokens.clone())).map_err(|e| {
            at_layer(
                e,
                &tokens,
                "expected a layer, for example `Linear<784, 128>`",
            )
        })?;
        Ok(LayerDecl {
            attrs,
            name,
            inline: inline(&ty)?,
            ty,
            pytorch: None,
            template: None,
        })
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let (weights, attrs) = Attr::take(attrs)?;
        let (input_shape, attrs) = take_input(attrs)?;
        let (shown_as, attrs) = take_shown_as(attrs)?;
        let (inlined, attrs) = take_inlined(attrs)?;
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident: Ident = input.parse()?;
        let generics = if input.peek(Token![<])
            && (input.peek2(Token![const]) || input.peek2(syn::Lifetime))
        {
            input.parse::<syn::Generics>()?
        } else {
            syn::Generics::default()
        };
        let mut layers = Vec::new();
        let (mut forward, mut objective) = (None, None);
        if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            while !input.peek(Token![>]) {
                layers.push(input.parse()?);
                if !input.peek(Token![,]) {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            input
                .parse::<Token![>]>()
                .map_err(|e| syn::Error::new(e.span(), "expected `,` or `>` after a layer"))?;
        } else if input.peek(token::Brace) {
            let content;
            braced!(content in input);
            let list = content.parse_terminated(LayerDecl::parse, Token![,])?;
            layers.extend(list);
            (forward, objective) = forward::parse(input)?;
        } else {
            return Err(input.error(
                "expected the layer list after the name, for example \
                 `struct Mnist<Linear<784, 128>, ReLU, Linear<128, 10>>`",
            ));
        }
        if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("expected one network per `network!`"));
        }
        Ok(name_templates(Input {
            attrs,
            weights,
            input: input_shape,
            vis,
            ident,
            generics,
            layers,
            forward,
            objective,
            shown_as,
            inlined,
        }))
    }
}

/// Each template used in the list names the network declared for it: `__Net_layer2`.
fn name_templates(mut input: Input) -> Input {
    let owner = input.ident.to_string();
    for (i, l) in input.layers.iter_mut().enumerate() {
        if l.template.is_some() {
            let place = l.name.as_ref().map_or(i.to_string(), |n| n.to_string());
            let ident = Ident::new(
                &format!("__{owner}_{place}"),
                l.name
                    .as_ref()
                    .map_or_else(proc_macro2::Span::call_site, |n| n.span()),
            );
            l.ty = syn::parse_quote!(#ident);
        }
    }
    input
}

/// Takes each `#[__inlined(field, { declaration })]` out of `attrs`.
#[allow(clippy::type_complexity)]
fn take_inlined(
    attrs: Vec<Attribute>,
) -> syn::Result<(Vec<(Ident, proc_macro2::TokenStream)>, Vec<Attribute>)> {
    let mut found = Vec::new();
    let mut rest = Vec::new();
    for attr in attrs {
        if attr.path().is_ident("__inlined") {
            found.push(attr.parse_args_with(|input: ParseStream| {
                let field: Ident = input.parse()?;
                input.parse::<Token![,]>()?;
                let content;
                braced!(content in input);
                Ok((field, content.parse::<proc_macro2::TokenStream>()?))
            })?);
        } else {
            rest.push(attr);
        }
    }
    Ok((found, rest))
}

/// Takes `#[shown_as("..")]` out of `attrs`.
fn take_shown_as(attrs: Vec<Attribute>) -> syn::Result<(Option<String>, Vec<Attribute>)> {
    let mut found = None;
    let mut rest = Vec::new();
    for attr in attrs {
        if attr.path().is_ident("shown_as") {
            let lit: syn::LitStr = attr.parse_args()?;
            found = Some(lit.value());
        } else {
            rest.push(attr);
        }
    }
    Ok((found, rest))
}

/// The network's name and what comes before its layers, from an input that does not
/// parse as a whole: enough for the stand-in struct (see `crate::stub`), so that a typo
/// in a layer is one error, not one more at every use of the network.
pub fn head(tokens: proc_macro::TokenStream) -> Option<Input> {
    let parser = |input: ParseStream| -> syn::Result<Input> {
        let attrs = input.call(Attribute::parse_outer)?;
        let (weights, attrs) = Attr::take(attrs).unwrap_or((None, Vec::new()));
        let attrs = attrs
            .into_iter()
            .filter(|a| !a.path().is_ident("input"))
            .collect();
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident: Ident = input.parse()?;
        let generics = if input.peek(Token![<]) && input.peek2(Token![const]) {
            input.parse::<syn::Generics>().unwrap_or_default()
        } else {
            syn::Generics::default()
        };
        // The layers that parse, so that the stand-in knows the widths they state.
        let mut layers = Vec::new();
        let list = |content: ParseStream, layers: &mut Vec<LayerDecl>| -> syn::Result<()> {
            while !content.is_empty() && !content.peek(Token![>]) {
                let tokens = layer_tokens(content)?;
                layers.extend(syn::parse2::<LayerDecl>(tokens).ok());
                if content.parse::<Option<Token![,]>>()?.is_none() {
                    break;
                }
            }
            Ok(())
        };
        if input.parse::<Option<Token![<]>>()?.is_some() {
            list(input, &mut layers)?;
        } else if input.peek(token::Brace) {
            let content;
            braced!(content in input);
            list(&content, &mut layers)?;
        }
        input.parse::<TokenStream>()?;
        Ok(Input {
            attrs,
            weights,
            input: None,
            vis,
            ident,
            generics,
            layers,
            forward: None,
            objective: None,
            shown_as: None,
            inlined: Vec::new(),
        })
    };
    syn::parse::Parser::parse(parser, tokens).ok()
}

/// Takes `#[input(C, H, W)]` out of `attrs`: the network's input is an image of `C`
/// channels of `H × W`.
fn take_input(attrs: Vec<Attribute>) -> syn::Result<(Option<Shape>, Vec<Attribute>)> {
    let mut found = None;
    let mut rest = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("input") {
            rest.push(attr);
            continue;
        }
        if found.is_some() {
            return Err(syn::Error::new_spanned(
                attr,
                "only one `#[input(C, H, W)]` per network",
            ));
        }
        let usage = "expected `#[input(CHANNELS, HEIGHT, WIDTH)]` for images, for example \
                     `#[input(1, 28, 28)]`, or `#[input(CHANNELS, LENGTH)]` for sequences, for \
                     example `#[input(1, 16000)]`";
        let args = attr
            .parse_args_with(Punctuated::<GenericArgument, Token![,]>::parse_terminated)
            .map_err(|e| syn::Error::new(e.span(), usage))?;
        if args.len() != 3 && args.len() != 2 {
            return Err(syn::Error::new_spanned(attr, usage));
        }
        let mut sizes = Vec::new();
        for a in &args {
            let size = size_arg(a)?;
            if let Size::Lit(0) = size {
                return Err(syn::Error::new_spanned(
                    a,
                    "an input size must be at least 1",
                ));
            }
            sizes.push(size);
        }
        let seq = sizes.len() == 2;
        let mut it = sizes.into_iter();
        found = match (it.next(), it.next(), it.next()) {
            (Some(c), Some(h), Some(w)) => Some(Shape {
                c,
                h,
                w,
                seq: false,
            }),
            (Some(c), Some(l), None) => Some(Shape {
                c,
                h: Size::Lit(1),
                w: l,
                seq,
            }),
            _ => None,
        };
    }
    Ok((found, rest))
}

/// The tokens of one layer: up to the `,` after it or the `>` closing the list, outside
/// any angle brackets of its own.
fn layer_tokens(input: ParseStream) -> syn::Result<TokenStream> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut depth = 0usize;
        let mut out = TokenStream::new();
        while let Some((tt, next)) = rest.token_tree() {
            if let TokenTree::Punct(p) = &tt {
                match p.as_char() {
                    ',' if depth == 0 => break,
                    '>' if depth == 0 => break,
                    '<' => depth += 1,
                    '>' => depth -= 1,
                    _ => {}
                }
            }
            out.extend([tt]);
            rest = next;
        }
        Ok((out, rest))
    })
}

/// A parse error inside a layer, placed on the layer when the parser could only say
/// "unexpected end of input".
fn at_layer(e: syn::Error, tokens: &TokenStream, what: &str) -> syn::Error {
    if tokens.is_empty() {
        return syn::Error::new(e.span(), what);
    }
    if e.to_string().contains("end of input") {
        return syn::Error::new_spanned(tokens, format!("{e}; {what}"));
    }
    e
}

/// Rust takes a size expression between a type's angle brackets only in braces
/// (`Linear<{ 28 * 28 }, 512>`); here it may be written bare, `Linear<28 * 28, 512>`, as
/// in PyTorch. Every angle-bracketed argument that is not a type or a constant as Rust
/// writes them, but is an expression, is put in braces; `crate::size` then computes it
/// when it is made of numbers, so that the braces never reach the generated code (where
/// rustc's `unused_braces` would ask to remove them again).
pub fn size_exprs(tokens: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < trees.len() {
        let tt = &trees[i];
        let opens = matches!(tt, TokenTree::Punct(p) if p.as_char() == '<')
            && matches!(trees.get(i.wrapping_sub(1)), Some(TokenTree::Ident(_)));
        if !opens {
            out.extend([recurse(tt)]);
            i += 1;
            continue;
        }
        // The arguments up to the matching `>`, split at commas outside nested brackets.
        out.extend([tt.clone()]);
        let mut depth = 0usize;
        let mut arg = Vec::new();
        let mut j = i + 1;
        while j < trees.len() {
            let t = &trees[j];
            let punct = match t {
                TokenTree::Punct(p) => Some(p.as_char()),
                _ => None,
            };
            match punct {
                Some('>') if depth == 0 => break,
                Some(',') if depth == 0 => {
                    out.extend(size_arg_tokens(std::mem::take(&mut arg)));
                    out.extend([t.clone()]);
                }
                Some(c) => {
                    if c == '<' {
                        depth += 1;
                    } else if c == '>' {
                        depth -= 1;
                    }
                    arg.push(t.clone());
                }
                None => arg.push(t.clone()),
            }
            j += 1;
        }
        out.extend(size_arg_tokens(arg));
        i = j;
    }
    out
}

fn recurse(tt: &TokenTree) -> TokenTree {
    match tt {
        TokenTree::Group(g) => {
            let mut inner = Group::new(g.delimiter(), size_exprs(g.stream()));
            inner.set_span(g.span());
            TokenTree::Group(inner)
        }
        other => other.clone(),
    }
}

/// One angle-bracketed argument: as written when Rust reads it as an argument, in braces
/// when only an expression reads it (`28 * 28`, `(2, 2)`); `name = value` keeps its name.
fn size_arg_tokens(arg: Vec<TokenTree>) -> TokenStream {
    let arg: TokenStream = size_exprs(arg.into_iter().collect());
    if arg.is_empty() || syn::parse2::<GenericArgument>(arg.clone()).is_ok() {
        return arg;
    }
    let trees: Vec<TokenTree> = arg.clone().into_iter().collect();
    // `stride = 2 * 1`: the value alone.
    if let [TokenTree::Ident(name), TokenTree::Punct(eq), value @ ..] = trees.as_slice() {
        if eq.as_char() == '=' && eq.spacing() == Spacing::Alone && !value.is_empty() {
            let mut out = TokenStream::new();
            out.extend([TokenTree::Ident(name.clone()), TokenTree::Punct(eq.clone())]);
            out.extend(braced(value.iter().cloned().collect()));
            return out;
        }
    }
    braced(arg)
}

/// `{ expr }`, when `tokens` is an expression; else the tokens, for the parser to refuse.
fn braced(tokens: TokenStream) -> TokenStream {
    if syn::parse2::<syn::Expr>(tokens.clone()).is_err() {
        return tokens;
    }
    let span = tokens
        .clone()
        .into_iter()
        .next()
        .map_or_else(proc_macro2::Span::call_site, |t| t.span());
    let mut g = Group::new(Delimiter::Brace, tokens);
    g.set_span(span);
    g.into_token_stream()
}
