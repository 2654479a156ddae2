//! The typed input of `network!`, each node keeping the tokens it came from for spans.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, token, Attribute, GenericArgument, Ident, Token, Type, Visibility};

use crate::valid::Shape;

/// `#[attrs] vis struct Name<layer, layer, ...>` or `... struct Name { name: layer, ... }`,
/// where the attributes may include `#[weights("file.safetensors")]`.
pub struct Input {
    pub attrs: Vec<Attribute>,
    /// `#[weights("file.safetensors")]`, taken out of `attrs`.
    pub weights: Option<crate::weights::Attr>,
    /// `#[input(C, H, W)]`, taken out of `attrs`: the shape of an image input.
    pub input: Option<Shape>,
    pub vis: Visibility,
    pub ident: Ident,
    pub layers: Vec<LayerDecl>,
}

/// One entry of the layer list: `#[attrs] name: Type` or `Type`.
pub struct LayerDecl {
    pub attrs: Vec<Attribute>,
    pub name: Option<Ident>,
    pub ty: Type,
    /// Where this entry stands in a residual block, once `Residual<...>` is flattened.
    pub block: Option<Block>,
}

/// A residual block's first layer, or its end (the entry whose output gets the block's
/// input added; its `ty` is the whole `Residual<...>`, for spans), numbered from 0.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Start(usize),
    End(usize),
}

/// The layers of `Residual<...>`, if `ty` is one.
fn residual_args(ty: &Type) -> Option<Option<&syn::AngleBracketedGenericArguments>> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() || p.path.leading_colon.is_some() || p.path.segments.len() != 1 {
        return None;
    }
    let seg = &p.path.segments[0];
    if seg.ident != "Residual" {
        return None;
    }
    Some(match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) => Some(a),
        _ => None,
    })
}

/// Replaces each `Residual<A, B, ...>` by its layers `A, B, ...` (the first marked as the
/// block's start) and an end entry that adds the block's input back.
fn flatten(layers: Vec<LayerDecl>) -> syn::Result<Vec<LayerDecl>> {
    let mut out = Vec::new();
    let mut blocks = 0;
    for l in layers {
        let Some(args) = residual_args(&l.ty) else {
            out.push(l);
            continue;
        };
        let usage = "`Residual` takes the layers of its block, for example \
                     `Residual<Linear<64, 64>, ReLU, Linear<64, 64>>`";
        let Some(args) = args.filter(|a| !a.args.is_empty()) else {
            return Err(syn::Error::new_spanned(&l.ty, usage));
        };
        if let Some(name) = &l.name {
            return Err(syn::Error::new_spanned(
                name,
                "a residual block cannot be named yet: its layers are numbered in the network; \
                 use unnamed layers in a network with residual blocks",
            ));
        }
        for (i, a) in args.args.iter().enumerate() {
            let syn::GenericArgument::Type(ty) = a else {
                return Err(syn::Error::new_spanned(a, usage));
            };
            if residual_args(ty).is_some() {
                return Err(syn::Error::new_spanned(
                    ty,
                    "a residual block inside a residual block is not supported yet",
                ));
            }
            out.push(LayerDecl {
                attrs: Vec::new(),
                name: None,
                ty: ty.clone(),
                block: (i == 0).then_some(Block::Start(blocks)),
            });
        }
        out.push(LayerDecl {
            attrs: l.attrs,
            name: None,
            ty: l.ty,
            block: Some(Block::End(blocks)),
        });
        blocks += 1;
    }
    Ok(out)
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
        let ty = input.parse()?;
        Ok(LayerDecl {
            attrs,
            name,
            ty,
            block: None,
        })
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let (weights, attrs) = crate::weights::Attr::take(attrs)?;
        let (input_shape, attrs) = take_input(attrs)?;
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident: Ident = input.parse()?;
        let mut layers = Vec::new();
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
        let layers = flatten(layers)?;
        Ok(Input {
            attrs,
            weights,
            input: input_shape,
            vis,
            ident,
            layers,
        })
    }
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
        let usage =
            "expected `#[input(CHANNELS, HEIGHT, WIDTH)]`, for example `#[input(1, 28, 28)]`";
        let args = attr
            .parse_args_with(Punctuated::<GenericArgument, Token![,]>::parse_terminated)
            .map_err(|e| syn::Error::new(e.span(), usage))?;
        if args.len() != 3 {
            return Err(syn::Error::new_spanned(attr, usage));
        }
        let mut sizes = Vec::new();
        for a in &args {
            let size = crate::valid::size_arg(a)?;
            if let crate::valid::Size::Lit(0) = size {
                return Err(syn::Error::new_spanned(
                    a,
                    "an image size must be at least 1",
                ));
            }
            sizes.push(size);
        }
        let mut it = sizes.into_iter();
        if let (Some(c), Some(h), Some(w)) = (it.next(), it.next(), it.next()) {
            found = Some(Shape { c, h, w });
        }
    }
    Ok((found, rest))
}
