//! The typed input of `network!`, each node keeping the tokens it came from for spans.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, token, Attribute, GenericArgument, Ident, Token, Type, Visibility};

use crate::attr::Attr;
use crate::size::{size_arg, Shape, Size};

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
}

/// One entry of the layer list: `#[attrs] name: Type` or `Type`.
pub struct LayerDecl {
    pub attrs: Vec<Attribute>,
    pub name: Option<Ident>,
    pub ty: Type,
    /// The layers of `Sequential<...>` or `Residual<...>`, parsed as layer entries.
    pub inline: Option<Inline>,
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
        let ty = input.parse()?;
        Ok(LayerDecl {
            attrs,
            name,
            inline: inline(&ty)?,
            ty,
        })
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let (weights, attrs) = Attr::take(attrs)?;
        let (input_shape, attrs) = take_input(attrs)?;
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
        Ok(Input {
            attrs,
            weights,
            input: input_shape,
            vis,
            ident,
            generics,
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
            let size = size_arg(a)?;
            if let Size::Lit(0) = size {
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
