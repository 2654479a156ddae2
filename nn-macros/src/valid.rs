//! Every semantic rule of `network!`: what each layer is, and whether each layer's input
//! size equals the output size of the layer before it.
//!
//! Sizes written as literals are compared here, with an error spanned on the wrong layer.
//! Sizes this macro cannot evaluate (const items, a user's own layer) are handed to the
//! compiler as type-level checks ([`TypeCheck`]).

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, Lit, PathArguments, Type};

use crate::ast::{Block, Input, LayerDecl};

mod image;
mod keeps;
pub use image::{ImageKind, Shape};
pub use keeps::Keeps;

/// A size argument: a literal the macro can compare, or an expression only the compiler can.
#[derive(Clone)]
pub enum Size {
    Lit(u64),
    Expr(TokenStream),
}

impl Size {
    /// As an expression of type `usize`.
    pub fn expr(&self) -> TokenStream {
        match self {
            Size::Lit(n) => {
                let n = *n as usize;
                quote!(#n)
            }
            Size::Expr(ts) => quote!({ #ts }),
        }
    }

    pub fn show(&self) -> String {
        match self {
            Size::Lit(n) => n.to_string(),
            Size::Expr(ts) => pretty(ts),
        }
    }
}

/// What a layer is.
pub enum Kind {
    Linear {
        inputs: Size,
        outputs: Size,
    },
    BatchNorm {
        width: Size,
    },
    /// Any other built-in layer: one that keeps its width (see [`Keeps`]).
    Activation(Keeps),
    /// An image layer: `Conv2d`, a pool, `BatchNorm2d`, `Flatten`.
    Image(ImageKind),
    /// A type of the user's; its sizes come from its `Layer` impl.
    User,
}

/// A validated layer, ready to expand.
pub struct Resolved<'a> {
    pub decl: &'a LayerDecl,
    /// The field's type, with built-ins as absolute paths.
    pub field_ty: TokenStream,
    /// The field name: the user's, or the index as PyTorch's `nn.Sequential` names it.
    pub name: String,
    /// The output's image shape `[C, H, W]`, while the data is an image.
    pub image: Option<[TokenStream; 3]>,
    /// Its place in a residual block.
    pub role: Option<Role>,
}

/// A layer's place in residual block `block`: its first layer, or its end (the
/// `ResidualAdd` after its last layer), which knows the index of the first.
#[derive(Clone, Copy)]
pub enum Role {
    Start(usize),
    End { block: usize, start: usize },
}

/// A pair of sizes the compiler must compare: `prev` is the output size of the layer
/// before, `input` the input size of the layer at `span`.
pub struct TypeCheck {
    /// The first and last token of the layer, so that the error underlines all of it.
    pub span: (Span, Span),
    pub prev: TokenStream,
    pub input: TokenStream,
}

/// Collects every error so that one compile shows every mistake.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
}

/// Renders tokens as a user would write them: `Linear<784, 128>`, not `Linear < 784 , 128 >`.
fn pretty(ts: &TokenStream) -> String {
    let mut s = ts.to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
    ] {
        s = s.replace(from, to);
    }
    s
}

fn first_last(ty: &Type) -> (Span, Span) {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(|| ty.span(), |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}

pub fn size_arg(arg: &GenericArgument) -> syn::Result<Size> {
    match arg {
        GenericArgument::Const(Expr::Lit(lit)) => match &lit.lit {
            Lit::Int(i) => Ok(Size::Lit(i.base10_parse()?)),
            other => Err(syn::Error::new_spanned(
                other,
                "expected a size: a whole number or a `const` item",
            )),
        },
        GenericArgument::Const(e) => Ok(Size::Expr(e.to_token_stream())),
        GenericArgument::Type(Type::Path(p)) if p.qself.is_none() => {
            Ok(Size::Expr(p.to_token_stream()))
        }
        other => Err(syn::Error::new_spanned(
            other,
            "expected a size: a whole number or a `const` item",
        )),
    }
}

/// The size arguments of a built-in layer named `name`, which must number `want`.
fn sizes(
    ty: &Type,
    name: &str,
    args: &PathArguments,
    want: usize,
    usage: &str,
) -> syn::Result<Vec<Size>> {
    let example = format!(
        "`{}`",
        usage
            .replace("<IN, OUT>", "<784, 128>")
            .replace("<N>", "<128>")
    );
    match args {
        PathArguments::None => Err(syn::Error::new_spanned(
            ty,
            format!(
                "`{name}` needs its size{}: write `{usage}`, for example {example}",
                if want == 1 { "" } else { "s" }
            ),
        )),
        PathArguments::AngleBracketed(a) if a.args.len() == want => {
            a.args.iter().map(size_arg).collect()
        }
        PathArguments::AngleBracketed(a) => Err(syn::Error::new_spanned(
            a,
            format!(
                "`{name}` takes {} size{}, `{usage}`, but {} {} given",
                want,
                if want == 1 { "" } else { "s" },
                a.args.len(),
                if a.args.len() == 1 { "was" } else { "were" }
            ),
        )),
        PathArguments::Parenthesized(p) => Err(syn::Error::new_spanned(
            p,
            format!("`{name}` takes its sizes in angle brackets: `{usage}`"),
        )),
    }
}

/// What a layer is.
pub fn classify(ty: &Type) -> syn::Result<Kind> {
    layer_kind(ty)
}

/// What a layer is.
fn layer_kind(ty: &Type) -> syn::Result<Kind> {
    let Type::Path(p) = ty else {
        return Ok(Kind::User);
    };
    if p.qself.is_some() || p.path.leading_colon.is_some() || p.path.segments.len() != 1 {
        return Ok(Kind::User);
    }
    let seg = &p.path.segments[0];
    let name = seg.ident.to_string();
    match name.as_str() {
        "Linear" => {
            let s = sizes(ty, "Linear", &seg.arguments, 2, "Linear<IN, OUT>")?;
            let mut s = s.into_iter();
            match (s.next(), s.next()) {
                (Some(inputs), Some(outputs)) => Ok(Kind::Linear { inputs, outputs }),
                _ => Err(syn::Error::new_spanned(
                    ty,
                    "`Linear` takes two sizes: `Linear<IN, OUT>`",
                )),
            }
        }
        "BatchNorm" => {
            let s = sizes(ty, "BatchNorm", &seg.arguments, 1, "BatchNorm<N>")?;
            match s.into_iter().next() {
                Some(width) => Ok(Kind::BatchNorm { width }),
                None => Err(syn::Error::new_spanned(
                    ty,
                    "`BatchNorm` takes one size: `BatchNorm<N>`",
                )),
            }
        }
        "LayerNorm" => {
            let s = sizes(ty, "LayerNorm", &seg.arguments, 1, "LayerNorm<N>")?;
            match s.into_iter().next() {
                Some(width) => Ok(Kind::Activation(Keeps {
                    alias: "LayerNorm",
                    args: Vec::new(),
                    shown: format!("LayerNorm<{}>", width.show()),
                    width: Some(width),
                })),
                None => Err(syn::Error::new_spanned(
                    ty,
                    "`LayerNorm` takes one size: `LayerNorm<N>`",
                )),
            }
        }
        _ if image::classify(ty, &name, &seg.arguments).is_some() => {
            match image::classify(ty, &name, &seg.arguments) {
                Some(k) => k.map(Kind::Image),
                None => Ok(Kind::User),
            }
        }
        _ => match keeps::classify(ty, &name, &seg.arguments) {
            Some(k) => k.map(Kind::Activation),
            None => Ok(Kind::User),
        },
    }
}

/// How a layer is shown in messages: as declared, tidied.
pub fn show(kind: &Kind, ty: &Type) -> String {
    match kind {
        Kind::Linear { inputs, outputs } => {
            format!("Linear<{}, {}>", inputs.show(), outputs.show())
        }
        Kind::BatchNorm { width } => format!("BatchNorm<{}>", width.show()),
        Kind::Activation(k) => k.shown.clone(),
        Kind::Image(k) => k.show(),
        Kind::User => pretty(&ty.to_token_stream()),
    }
}

/// The width flowing out of the layers so far, and who set it.
struct Flow {
    size: Size,
    /// The layer that produced this width.
    source: String,
    /// The image shape, while the data is an image (`#[input(C, H, W)]` up to `Flatten`).
    image: Option<Shape>,
    /// How a flattened width came about, `16 × 5 × 5 = 400`, for messages.
    detail: Option<String>,
}

/// `Role::Start` for a block's first layer.
fn start_role(decl: &LayerDecl) -> Option<Role> {
    match decl.block {
        Some(Block::Start(k)) => Some(Role::Start(k)),
        _ => None,
    }
}

/// The image shape flowing on, as expressions.
fn image_of(flow: &Option<Flow>) -> Option<[TokenStream; 3]> {
    let shape = flow.as_ref()?.image.as_ref()?;
    Some([shape.c.expr(), shape.h.expr(), shape.w.expr()])
}

/// Validates `input`, resolving each layer; on any mistake, every error found.
pub fn check(input: &Input) -> syn::Result<(Vec<Resolved<'_>>, Vec<TypeCheck>)> {
    let mut errors = Errors::default();
    if input.layers.is_empty() {
        let name = &input.ident;
        errors.push(syn::Error::new_spanned(
            name,
            format!(
                "network `{name}` has no layers; list them in order, \
                 for example `struct {name}<Linear<784, 128>, ReLU, Linear<128, 10>>`"
            ),
        ));
    }

    // Names: all or none, and each once.
    let named = input.layers.iter().filter(|l| l.name.is_some()).count();
    if named != 0 && named != input.layers.len() {
        for l in input.layers.iter().filter(|l| l.name.is_none()) {
            errors.push(syn::Error::new_spanned(
                &l.ty,
                "this layer has no name but others do; name every layer (`fc1: Linear<784, 128>`) or none",
            ));
        }
    }
    let mut seen: Vec<&syn::Ident> = Vec::new();
    for name in input.layers.iter().filter_map(|l| l.name.as_ref()) {
        if seen.contains(&name) {
            errors.push(syn::Error::new_spanned(
                name,
                format!(
                    "duplicate layer name `{name}`; each layer needs its own name, \
                     as it becomes the prefix of its parameters (`{name}.weight`)"
                ),
            ));
        }
        seen.push(name);
    }

    let mut resolved = Vec::new();
    let mut checks = Vec::new();
    let mut flow: Option<Flow> = input.input.as_ref().map(|shape| Flow {
        size: shape.size(),
        source: String::new(),
        image: Some(shape.clone()),
        detail: None,
    });
    let mut prev_shown = match &input.input {
        Some(shape) => format!(
            "#[input({}, {}, {})]",
            shape.c.show(),
            shape.h.show(),
            shape.w.show()
        ),
        None => String::new(),
    };
    // Per residual block: the index of its first layer and the width it starts with.
    let mut block_starts: Vec<(usize, Option<Size>)> = Vec::new();
    for (index, decl) in input.layers.iter().enumerate() {
        let ty = &decl.ty;
        if let Some(Block::Start(_)) = decl.block {
            block_starts.push((index, flow.as_ref().map(|f| f.size.clone())));
        }
        if let Some(Block::End(k)) = decl.block {
            let (Some(f), Some((start, width))) = (&flow, block_starts.get(k)) else {
                continue; // a layer of the block was already reported
            };
            let start = *start;
            // The width the block starts with: what flows into it, or its first layer's input.
            let width = match width {
                Some(w) => w.clone(),
                None => match resolved
                    .iter()
                    .find(|r: &&Resolved<'_>| matches!(r.role, Some(Role::Start(b)) if b == k))
                {
                    Some(first) => {
                        let first = &first.field_ty;
                        Size::Expr(quote!(<#first as ::nn::Layer>::IN))
                    }
                    None => continue,
                },
            };
            let shown = pretty(&ty.to_token_stream());
            match (&f.size, &width) {
                (Size::Lit(have), Size::Lit(want)) if have != want => {
                    errors.push(syn::Error::new_spanned(
                        ty,
                        format!(
                            "this residual block takes {want} features but its last layer produces {have}; \
                             its output is added to its input, so it must keep the width it starts with \
                             (end it with a layer of {want} outputs)"
                        ),
                    ));
                    flow = None;
                    continue;
                }
                (Size::Lit(_), Size::Lit(_)) => {}
                (have, want) => checks.push(TypeCheck {
                    span: first_last(ty),
                    prev: have.expr(),
                    input: want.expr(),
                }),
            }
            let w = f.size.expr();
            resolved.push(Resolved {
                decl,
                field_ty: quote!(::nn::ResidualAdd<#w>),
                name: index.to_string(),
                image: image_of(&flow),
                role: Some(Role::End { block: k, start }),
            });
            prev_shown = shown;
            continue;
        }
        let kind = match layer_kind(ty) {
            Ok(k) => k,
            Err(e) => {
                errors.push(e);
                // Unknown width from here on: compare nothing more against it.
                flow = None;
                prev_shown.clear();
                continue;
            }
        };
        let shown = show(&kind, ty);
        if let Kind::Image(image_kind) = &kind {
            let (before, flat) = match &flow {
                Some(f) => (f.image.as_ref(), Some(&f.size)),
                None => (None, None),
            };
            if flow.is_none() && index > 0 {
                continue; // the layer before it was already reported
            }
            match image::step(image_kind, &shown, before, flat, &prev_shown) {
                Err(msg) => {
                    errors.push(syn::Error::new_spanned(ty, msg));
                    flow = None;
                }
                Ok(step) => {
                    for (have, want) in &step.checks {
                        checks.push(TypeCheck {
                            span: first_last(ty),
                            prev: have.expr(),
                            input: want.expr(),
                        });
                    }
                    flow = Some(match (step.out, before) {
                        (Some(shape), _) => Flow {
                            size: shape.size(),
                            source: shown.clone(),
                            image: Some(shape),
                            detail: None,
                        },
                        (None, Some(shape)) => Flow {
                            size: shape.size(),
                            source: shown.clone(),
                            image: None,
                            detail: Some(shape.product()),
                        },
                        (None, None) => Flow {
                            size: flat.cloned().unwrap_or(Size::Lit(0)),
                            source: shown.clone(),
                            image: None,
                            detail: None,
                        },
                    });
                    resolved.push(Resolved {
                        decl,
                        field_ty: step.field_ty,
                        name: match &decl.name {
                            Some(n) => n.to_string(),
                            None => index.to_string(),
                        },
                        image: image_of(&flow),
                        role: start_role(decl),
                    });
                }
            }
            prev_shown = shown;
            continue;
        }
        // Flat layers after an image need it flattened first; a layer of the user's takes
        // the image's `C·H·W` features as they are.
        if let Some(Flow {
            image: Some(shape), ..
        }) = &flow
        {
            if !matches!(
                kind,
                Kind::User | Kind::Activation(Keeps { width: None, .. })
            ) {
                errors.push(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{shown}` takes flat features, but `{prev_shown}` before it produces an image of {}; \
                         put `Flatten` before it",
                        shape.show()
                    ),
                ));
                flow = None;
                prev_shown = shown;
                continue;
            }
        }
        let (input_size, output_size) = match &kind {
            Kind::Linear { inputs, outputs } => (Some(inputs.clone()), outputs.clone()),
            Kind::BatchNorm { width } => (Some(width.clone()), width.clone()),
            Kind::Image(_) => continue, // handled above
            Kind::User => (
                Some(Size::Expr(quote!(<#ty as ::nn::Layer>::IN))),
                Size::Expr(quote!(<#ty as ::nn::Layer>::OUT)),
            ),
            Kind::Activation(Keeps {
                width: Some(width), ..
            }) => (Some(width.clone()), width.clone()),
            Kind::Activation(_) => match &flow {
                Some(f) => (None, f.size.clone()),
                None if index == 0 => {
                    errors.push(syn::Error::new_spanned(
                        ty,
                        format!(
                            "`{shown}` cannot come first: it keeps the width of the layer before it, \
                             so the network's input size would be unknown; \
                             put a sized layer such as `Linear<IN, OUT>` first"
                        ),
                    ));
                    continue;
                }
                None => continue, // the layer before it was already reported
            },
        };

        for (what, size) in [
            ("inputs", input_size.as_ref()),
            ("outputs", Some(&output_size)),
        ] {
            if let Some(Size::Lit(0)) = size {
                errors.push(syn::Error::new_spanned(
                    ty,
                    format!("`{shown}` has 0 {what}; every layer size must be at least 1"),
                ));
            }
        }

        let mut bn_mismatch = false;
        if let (Some(f), Some(inp)) = (&flow, &input_size) {
            match (&f.size, inp) {
                (Size::Lit(have), Size::Lit(want)) if have != want => {
                    bn_mismatch = matches!(
                        kind,
                        Kind::BatchNorm { .. } | Kind::Activation(Keeps { width: Some(_), .. })
                    );
                    let from = if f.source == prev_shown || f.source.is_empty() {
                        String::new()
                    } else {
                        format!(" (the output of `{}`)", f.source)
                    };
                    let have_text = f.detail.clone().unwrap_or_else(|| have.to_string());
                    let msg = match &kind {
                        Kind::Linear { outputs, .. } => format!(
                            "`{shown}` expects {want} inputs, but `{prev_shown}` before it produces {have_text}{from}; \
                             change it to `Linear<{have}, {}>`",
                            outputs.show()
                        ),
                        Kind::BatchNorm { .. } => format!(
                            "`{shown}` normalises {want} features, but `{prev_shown}` before it produces {have}{from}; \
                             change it to `BatchNorm<{have}>`"
                        ),
                        Kind::Activation(Keeps {
                            alias, width: Some(_), ..
                        }) => format!(
                            "`{shown}` normalises {want} features, but `{prev_shown}` before it produces {have}{from}; \
                             change it to `{alias}<{have}>`"
                        ),
                        _ => format!(
                            "`{shown}` expects {want} inputs, but `{prev_shown}` before it produces {have_text}{from}"
                        ),
                    };
                    errors.push(syn::Error::new_spanned(ty, msg));
                }
                (Size::Lit(_), Size::Lit(_)) => {}
                (have, want) => checks.push(TypeCheck {
                    span: first_last(ty),
                    prev: have.expr(),
                    input: want.expr(),
                }),
            }
        }

        let field_ty = match &kind {
            Kind::Linear { .. }
            | Kind::BatchNorm { .. }
            | Kind::Activation(Keeps { width: Some(_), .. }) => {
                // Keep the user's tokens (and spans), under the absolute path.
                quote!(::nn::#ty)
            }
            Kind::Activation(k) => {
                let alias = syn::Ident::new(k.alias, ty.span());
                let width = output_size.expr();
                let args = &k.args;
                quote!(::nn::#alias<#width #(, #args)*>)
            }
            Kind::User | Kind::Image(_) => quote!(#ty),
        };
        let keeps_source = matches!(kind, Kind::Activation(_) | Kind::BatchNorm { .. });
        let source = match (&flow, keeps_source) {
            (Some(f), true) => f.source.clone(),
            _ => shown.clone(),
        };
        // After a batch norm of the wrong width, which of the two widths is meant is
        // unknown: compare the next layer with neither, so that one mistake gives one error.
        flow = if bn_mismatch {
            None
        } else {
            // A width-keeping layer on an image keeps the image.
            let image = match (&kind, &flow) {
                (Kind::Activation(Keeps { width: None, .. }), Some(f)) => f.image.clone(),
                _ => None,
            };
            Some(Flow {
                size: output_size,
                source,
                image,
                detail: None,
            })
        };
        prev_shown = shown;
        resolved.push(Resolved {
            decl,
            field_ty,
            name: match &decl.name {
                Some(n) => n.to_string(),
                None => index.to_string(),
            },
            image: image_of(&flow),
            role: start_role(decl),
        });
    }

    match errors.0 {
        Some(e) => Err(e),
        None => Ok((resolved, checks)),
    }
}
