//! Every semantic rule of `network!`: what each layer is, and whether each layer's input
//! size equals the output size of the layer before it.
//!
//! Sizes written as literals are compared here, with an error spanned on the wrong layer.
//! Sizes this macro cannot evaluate (const items, a user's own layer) are handed to the
//! compiler as type-level checks ([`TypeCheck`]).
//!
//! This module walks a list of layers ([`check`]) and holds what every step shares: where
//! the walk stands, and one collector for the errors and the checks left to the compiler.
//! The steps, one per kind of layer, are in modules of their own: `flat` (a layer on flat
//! features), `image` (an image layer, with the shape arithmetic), `block` (an inline
//! `Sequential` or `Residual`); `kind` says which kind a layer is.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::Type;

use crate::ast::{Input, LayerDecl};
use crate::size::{pretty, Shape, Size};

mod block;
mod flat;
mod graph;
mod habits;
mod image;
mod keeps;
mod keywords;
mod kind;
mod objective;
mod sequence;
mod walk;
pub use image::{Conv, ImageKind, Pool};
pub use keeps::Keeps;
pub use keywords::Padding;
pub use kind::{classify, show, stated_widths, Kind};
pub use sequence::Sequence;
use walk::{first_last, Mismatch, Walk};
pub use walk::{ImageCheck, TypeCheck};

/// A validated layer, ready to expand.
pub struct Resolved<'a> {
    pub decl: &'a LayerDecl,
    /// What the layer is, as validation classified it; an inline block, a network of its
    /// own, is [`Kind::User`].
    pub kind: Kind,
    /// The field's type, with built-ins as absolute paths.
    pub field_ty: TokenStream,
    /// How the struct names the field: `fc1`, `0`, or `__1` for a layer left unnamed
    /// in a named network.
    pub field: TokenStream,
    /// The state-dict name: the user's, or the index as PyTorch's `nn.Sequential` names
    /// it; empty for a layer without state left unnamed in a named network.
    pub name: String,
    /// The output's image shape `[C, H, W]`, while the data is an image.
    pub image: Option<[TokenStream; 3]>,
    /// The network generated for an inline `Sequential<...>` or `Residual<...>`.
    pub inline_net: Option<Box<InlineNet<'a>>>,
    /// The width flowing out of the layer, if known.
    pub out: Option<Size>,
    /// In a generic network, the output width as an array length (see `generic_sizes`).
    pub width: Option<TokenStream>,
    /// What flows into a layer of the user's: its width and, for an image, its shape; a
    /// template used here is declared at them.
    pub given: Option<(TokenStream, Option<[TokenStream; 3]>)>,
}

/// The network behind an inline block of layers, generated beside the one that uses it.
pub struct InlineNet<'a> {
    pub ident: syn::Ident,
    pub layers: Vec<Resolved<'a>>,
}

/// A validated network: its layers, and the sizes left for the compiler to compare.
pub struct Net<'a> {
    pub layers: Vec<Resolved<'a>>,
    /// Pairs of sizes the compiler compares, each a constant spanned on its layer.
    pub checks: Vec<TypeCheck>,
    /// Constant assertions, each spanned on its layer (a layer left unnamed in a named
    /// network has no parameters).
    pub asserts: Vec<TokenStream>,
    /// Whether the struct has named fields.
    pub named: bool,
    /// In a generic network, the input and output widths as array lengths.
    pub sizes: Option<(TokenStream, TokenStream)>,
    /// Constant assertions on the generic parameters, checked when the network is used
    /// with concrete sizes (stable Rust cannot check them earlier).
    pub generic_asserts: Vec<TokenStream>,
    /// Where the forward is written as code: its values and operations.
    pub graph: Option<Box<crate::graph::Graph>>,
}

/// The width flowing out of the layers so far, and who set it.
#[derive(Clone)]
struct Produced {
    size: Size,
    /// The layer that produced this width.
    source: String,
    /// The image shape, while the data is an image (`#[input(C, H, W)]` up to `Flatten`).
    image: Option<Shape>,
    /// How a flattened width came about, `16 × 5 × 5 = 400`, for messages.
    detail: Option<String>,
}

/// Where validation stands in a list of layers: what flows out of the layers so far
/// (`None` once a mistake makes it unknown) and how the last layer is shown.
#[derive(Clone)]
struct Upstream {
    produced: Option<Produced>,
    /// The layer before, as messages show it.
    shown: String,
    /// Where the layer before is the user's (or a network) given an image: the image it
    /// produces, as its `Layer::OUT_IMAGE` says, for an image layer after it.
    hidden: Option<Hidden>,
    /// Right after `Transpose`: the steps and the features per step (`L`, `C`) that the
    /// flat features are, for a recurrent layer after it.
    steps: Option<(Size, Size)>,
}

/// The image behind the flat features of a layer of the user's that was given an image.
#[derive(Clone)]
struct Hidden {
    /// The layer's type, and how messages show it.
    ty: Type,
    shown: String,
    /// The image it was given: its output's shape where it does not say otherwise.
    given: Shape,
}

impl Upstream {
    /// The image shape flowing on, as expressions.
    fn image(&self) -> Option<[TokenStream; 3]> {
        let shape = self.produced.as_ref()?.image.as_ref()?;
        Some([shape.c.expr(), shape.h.expr(), shape.w.expr()])
    }

    /// Compares nothing more after a mistake: one mistake gives one error.
    fn lose(&mut self, shown: String) {
        self.produced = None;
        self.shown = shown;
    }
}

/// A layer about to be validated: its entry, its index in its list, and its names.
struct ListedLayer<'a> {
    decl: &'a LayerDecl,
    index: usize,
    /// Whether its list names its layers (`fc1: Linear<..>`).
    named_list: bool,
}

impl<'a> ListedLayer<'a> {
    fn resolved(&self, kind: Kind, field_ty: TokenStream, up: &Upstream) -> Resolved<'a> {
        let (field, name) = match &self.decl.name {
            Some(n) => (quote!(#n), n.to_string()),
            None if self.named_list => {
                let f = syn::Ident::new(&format!("__{}", self.index), Span::call_site());
                (quote!(#f), String::new())
            }
            None => {
                let idx = syn::Index {
                    index: self.index as u32,
                    span: Span::call_site(),
                };
                (quote!(#idx), self.index.to_string())
            }
        };
        Resolved {
            decl: self.decl,
            kind,
            field_ty,
            field,
            name,
            image: up.image(),
            inline_net: None,
            out: up.produced.as_ref().map(|f| f.size.clone()),
            width: None,
            given: None,
        }
    }

    /// In a named network, a layer with state needs a name: it is the prefix of its
    /// tensors' names. `stateful` is `None` when only the compiler knows (a user's layer
    /// or a network), which then checks that it has no parameters.
    fn check_name(
        &self,
        cx: &mut Walk,
        stateful: Option<bool>,
        shown: &str,
        field_ty: &TokenStream,
    ) {
        if !self.named_list || self.decl.name.is_some() {
            return;
        }
        let msg = format!(
            "`{shown}` has parameters, so it needs a name in a named network, which becomes \
             the prefix of its parameters' names; write `name: {shown}`"
        );
        match stateful {
            Some(false) => {}
            Some(true) => cx.errors.push(syn::Error::new_spanned(&self.decl.ty, msg)),
            None => {
                let (first, last) = first_last(&self.decl.ty);
                let lp = quote_spanned!(first=> <#field_ty as ::nn::Layer>);
                if Size::Expr(field_ty.clone()).mentions(&cx.generics) {
                    cx.generic_asserts.push(
                        quote_spanned!(first=> ::core::assert!(#lp::PARAMS == 0, "{}", #msg);),
                    );
                } else {
                    let close = quote_spanned!(last=> ;);
                    cx.asserts.push(quote_spanned! {first=>
                        const _: () = ::core::assert!(#lp::PARAMS == 0, "{}", #msg) #close
                    });
                }
            }
        }
    }
}

/// Validates `input`, resolving each layer; on any mistake, every error found.
pub fn check(input: &Input) -> syn::Result<Net<'_>> {
    if let Some(forward) = &input.forward {
        return graph::check(input, forward);
    }
    let mut cx = Walk::default();
    let name = &input.ident;
    if input.layers.is_empty() {
        cx.errors.push(syn::Error::new_spanned(
            name,
            format!(
                "network `{name}` has no layers; list them in order, \
                 for example `struct {name}<Linear<784, 128>, ReLU, Linear<128, 10>>`"
            ),
        ));
    }
    let (_, ty_generics, _) = input.generics.split_for_impl();
    cx.ty_generics = quote!(#ty_generics);
    for param in &input.generics.params {
        match param {
            syn::GenericParam::Const(c) if c.ty == syn::parse_quote!(usize) => {
                cx.generics.push(c.ident.to_string());
            }
            other => cx.errors.push(syn::Error::new_spanned(
                other,
                "a network is generic over sizes only: write `const H: usize`",
            )),
        }
    }
    if let Some(w) = &input.generics.where_clause {
        cx.errors.push(syn::Error::new_spanned(
            w,
            "a network's generic sizes take no `where` clause",
        ));
    }
    if !cx.generics.is_empty() {
        if let Some(attr) = &input.weights {
            cx.errors.push(syn::Error::new_spanned(
                &attr.attr,
                "a generic network cannot have its weights baked in: the file's shapes are fixed, \
                 the network's are not; bake a network with its sizes written out",
            ));
        }
    }
    let mut seen: Vec<&syn::Ident> = Vec::new();
    for name in input.layers.iter().filter_map(|l| l.name.as_ref()) {
        if seen.contains(&name) {
            cx.errors.push(syn::Error::new_spanned(
                name,
                format!(
                    "duplicate layer name `{name}`; each layer needs its own name, \
                     as it becomes the prefix of its parameters (`{name}.weight`)"
                ),
            ));
        }
        seen.push(name);
    }
    let mut up = Upstream {
        produced: match &input.input {
            Some(shape) => Some(Produced {
                size: shape.size(),
                source: String::new(),
                image: Some(shape.clone()),
                detail: None,
            }),
            None => habits::flat_flatten_input(&input.layers),
        },
        hidden: None,
        steps: None,
        shown: match &input.input {
            Some(shape) if shape.seq => {
                format!("#[input({}, {})]", shape.c.show(), shape.w.show())
            }
            Some(shape) => format!(
                "#[input({}, {}, {})]",
                shape.c.show(),
                shape.h.show(),
                shape.w.show()
            ),
            None => String::new(),
        },
    };
    let named = !seen.is_empty();
    let mut layers = check_list(&mut cx, &name.to_string(), &input.layers, &mut up, named);
    let sizes = if cx.generics.is_empty() {
        None
    } else {
        generic_sizes(&mut cx, &mut layers)
    };
    cx.errors.finish()?;
    Ok(Net {
        layers,
        checks: cx.checks,
        asserts: cx.asserts,
        named,
        sizes,
        generic_asserts: cx.generic_asserts,
        graph: None,
    })
}

/// A generic network's input and output widths, and every layer's output width, must be
/// array lengths stable Rust accepts with generic parameters in scope (a literal, a
/// `const` item, a bare parameter): the typed methods and the one-sample pass's stack
/// buffers are sized by them.
fn generic_sizes(cx: &mut Walk, layers: &mut [Resolved<'_>]) -> Option<(TokenStream, TokenStream)> {
    fn all_bare(cx: &mut Walk, layers: &mut [Resolved<'_>]) -> bool {
        let mut ok = true;
        for l in layers {
            // A size that names no generic parameter is a constant, usable anywhere.
            l.width = l.out.as_ref().and_then(|s| {
                if s.mentions(&cx.generics) {
                    s.bare()
                } else {
                    Some(s.expr())
                }
            });
            if l.width.is_none() {
                let shown = pretty(&l.decl.ty.to_token_stream());
                cx.errors.push(syn::Error::new_spanned(
                    &l.decl.ty,
                    format!(
                        "in a generic network, the output size of `{shown}` must be a number, a `const` \
                         item or a generic parameter, as the one-sample pass keeps it in an array; \
                         stable Rust cannot size an array by another layer's constants there \
                         (put the layer in a `Residual`, which keeps the width before it, or follow it \
                         with a sized layer inside a network of its own)"
                    ),
                ));
                ok = false;
            }
            if let Some(h) = &mut l.inline_net {
                ok &= all_bare(cx, &mut h.layers);
            }
        }
        ok
    }
    let first = layers.first()?;
    let input = first.kind.stated_input().and_then(Size::bare);
    let Some(input) = input else {
        cx.errors.push(syn::Error::new_spanned(
            &first.decl.ty,
            "a generic network must start with a layer whose input size is written out, \
             such as `Linear<20, H>`: the typed `forward` takes an array of that size",
        ));
        return None;
    };
    if !all_bare(cx, layers) {
        return None;
    }
    let output = layers.last()?.width.clone()?;
    Some((input, output))
}

/// Validates a list of layers, the data flowing in as `up` says.
fn check_list<'a>(
    cx: &mut Walk,
    owner: &str,
    decls: &'a [LayerDecl],
    up: &mut Upstream,
    named_list: bool,
) -> Vec<Resolved<'a>> {
    let mut out = Vec::new();
    for (index, decl) in decls.iter().enumerate() {
        let entry = ListedLayer {
            decl,
            index,
            named_list,
        };
        // What a layer of the user's hid is for the layer right after it only.
        let hidden = up.hidden.take();
        let resolved = match &decl.inline {
            Some(inline) => block::step_block(cx, owner, &entry, inline, up),
            None => step_layer(cx, &entry, up, hidden),
        };
        out.extend(resolved);
    }
    out
}

/// One layer: a built-in or a type of the user's (a network among them).
fn step_layer<'a>(
    cx: &mut Walk,
    entry: &ListedLayer<'a>,
    up: &mut Upstream,
    hidden: Option<Hidden>,
) -> Option<Resolved<'a>> {
    let ty = &entry.decl.ty;
    if let Some(e) = &entry.decl.pytorch {
        cx.errors.push(e.clone());
        up.lose(String::new());
        return None;
    }
    // What `Transpose` made of a sequence is for the layer right after it only.
    let steps = up.steps.take();
    let kind = match classify(ty) {
        Ok(k) => k,
        Err(e) => {
            cx.errors.push(e);
            // Unknown width from here on: compare nothing more against it.
            up.lose(String::new());
            return None;
        }
    };
    // `BatchNorm1d<C>` on a sequence normalises its channels over the batch and the length,
    // as PyTorch's does on `(N, C, L)`.
    let on_sequence = up
        .produced
        .as_ref()
        .and_then(|p| p.image.as_ref())
        .is_some_and(|s| s.seq);
    // After `Transpose` the sequence is steps of features, for a recurrent layer.
    if let (Kind::BatchNorm { .. }, Some((l, c)), Some(_)) = (&kind, &steps, &up.produced) {
        let shown = show(&kind, ty).replacen("BatchNorm<", "BatchNorm1d<", 1);
        let (l, c) = (l.show(), c.show());
        cx.errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "`{shown}` normalises channels, but `{}` before it produces {l} steps of {c} \
                 features, which a recurrent layer reads; put the norm before `Transpose`, \
                 where the sequence is {c} channels × {l}",
                up.shown
            ),
        ));
        up.lose(shown);
        return None;
    }
    let kind = match kind {
        Kind::BatchNorm { width } if on_sequence => Kind::Image(ImageKind::BatchNorm1d(width)),
        kind => kind,
    };
    let shown = match &entry.decl.template {
        Some(u) => u.shown.clone(),
        None => show(&kind, ty),
    };
    match kind {
        Kind::Image(image_kind) => {
            if let Some(h) = hidden {
                image::reveal(cx, &shown, h, up);
            }
            image::step_image(cx, entry, image_kind, shown, up)
        }
        Kind::User => {
            if let Some(h) = hidden {
                image::pass_on(h, up);
            }
            let given = up.produced.as_ref().map(|p| {
                let image = p
                    .image
                    .as_ref()
                    .map(|s| [s.c.expr(), s.h.expr(), s.w.expr()]);
                (p.size.expr(), image)
            });
            let mut resolved = flat::step_flat(cx, entry, Kind::User, shown, up)?;
            resolved.given = given;
            Some(resolved)
        }
        Kind::Sequence(seq) => {
            if let (Some((l, c)), Some(_)) = (&steps, &up.produced) {
                if let Some(msg) = seq.steps_mismatch(&shown, &up.shown, l, c) {
                    cx.errors.push(syn::Error::new_spanned(ty, msg));
                    up.lose(shown);
                    return None;
                }
            }
            flat::step_flat(cx, entry, Kind::Sequence(seq), shown, up)
        }
        kind => flat::step_flat(cx, entry, kind, shown, up),
    }
}
