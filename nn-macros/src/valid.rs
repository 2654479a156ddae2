//! Every semantic rule of `network!`: what each layer is, and whether each layer's input
//! size equals the output size of the layer before it.
//!
//! Sizes written as literals are compared here, with an error spanned on the wrong layer.
//! Sizes this macro cannot evaluate (const items, a user's own layer) are handed to the
//! compiler as type-level checks ([`TypeCheck`]).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, Lit, PathArguments, Type};

use crate::ast::{Inline, Input, LayerDecl};

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

    /// As an array length in a generic network: a literal, a `const` item or a bare
    /// generic parameter, the only sizes stable Rust takes there; `None` otherwise.
    pub fn bare(&self) -> Option<TokenStream> {
        match self {
            Size::Lit(_) => Some(self.expr()),
            Size::Expr(ts) => syn::parse2::<syn::Path>(ts.clone())
                .ok()
                .map(|p| p.to_token_stream()),
        }
    }

    /// Whether the size names one of `params` (a network's generic parameters).
    pub fn mentions(&self, params: &[String]) -> bool {
        fn walk(ts: &TokenStream, params: &[String]) -> bool {
            ts.clone().into_iter().any(|t| match t {
                proc_macro2::TokenTree::Ident(i) => params.iter().any(|p| i == p),
                proc_macro2::TokenTree::Group(g) => walk(&g.stream(), params),
                _ => false,
            })
        }
        match self {
            Size::Lit(_) => false,
            Size::Expr(ts) => walk(ts, params),
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
    /// How the struct names the field: `fc1`, `0`, or `__1` for a layer left unnamed
    /// in a named network.
    pub field: TokenStream,
    /// The state-dict name: the user's, or the index as PyTorch's `nn.Sequential` names
    /// it; empty for a layer without state left unnamed in a named network.
    pub name: String,
    /// The output's image shape `[C, H, W]`, while the data is an image.
    pub image: Option<[TokenStream; 3]>,
    /// The network generated for an inline `Sequential<...>` or `Residual<...>`.
    pub hidden: Option<Box<Hidden<'a>>>,
    /// The width flowing out of the layer, if known.
    pub out: Option<Size>,
    /// In a generic network, the output width as an array length (see `generic_sizes`).
    pub width: Option<TokenStream>,
}

/// The network behind an inline block of layers, generated beside the one that uses it.
pub struct Hidden<'a> {
    pub ident: syn::Ident,
    pub layers: Vec<Resolved<'a>>,
}

/// A validated network: its layers, and the sizes left for the compiler to compare.
pub struct Net<'a> {
    pub layers: Vec<Resolved<'a>>,
    pub checks: Vec<TypeCheck>,
    /// Whether the struct has named fields.
    pub named: bool,
    /// In a generic network, the input and output widths as array lengths.
    pub sizes: Option<(TokenStream, TokenStream)>,
    /// Constant assertions on the generic parameters, checked when the network is used
    /// with concrete sizes (stable Rust cannot check them earlier).
    pub generic_asserts: Vec<TokenStream>,
}

/// A pair of sizes the compiler must compare: `prev` is the output size of the layer
/// before, `input` the input size of the layer at `span`.
pub struct TypeCheck {
    /// The first and last token of the layer, so that the error underlines all of it.
    pub span: (Span, Span),
    /// Whether `prev` is a residual block's input and `input` its output, which must be
    /// equal for the block to keep its width.
    pub keeps: bool,
    pub prev: TokenStream,
    pub input: TokenStream,
}

/// Collects every error so that one compile shows every mistake (serde_derive's `Ctxt`):
/// validation and `#[weights]` share it.
#[derive(Default)]
pub struct Ctxt(Option<syn::Error>);

impl Ctxt {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    /// Every error collected, or `Ok` when there was none.
    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
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
#[derive(Clone)]
struct Flow {
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
struct Seq {
    flow: Option<Flow>,
    prev_shown: String,
}

impl Seq {
    /// The image shape flowing on, as expressions.
    fn image(&self) -> Option<[TokenStream; 3]> {
        let shape = self.flow.as_ref()?.image.as_ref()?;
        Some([shape.c.expr(), shape.h.expr(), shape.w.expr()])
    }

    /// Compares nothing more after a mistake: one mistake gives one error.
    fn lose(&mut self, shown: String) {
        self.flow = None;
        self.prev_shown = shown;
    }
}

/// A layer about to be validated: its entry, its index in its list, and its names.
struct Entry<'a> {
    decl: &'a LayerDecl,
    index: usize,
    /// Whether its list names its layers (`fc1: Linear<..>`).
    named_list: bool,
}

impl<'a> Entry<'a> {
    fn resolved(&self, field_ty: TokenStream, seq: &Seq) -> Resolved<'a> {
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
            field_ty,
            field,
            name,
            image: seq.image(),
            hidden: None,
            out: seq.flow.as_ref().map(|f| f.size.clone()),
            width: None,
        }
    }

    /// In a named network, a layer with state needs a name: it is the prefix of its
    /// tensors' names. `stateful` is `None` when only the compiler knows (a user's layer
    /// or a network), which then checks that it has no parameters.
    fn check_name(
        &self,
        cx: &mut Ctx,
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
            Some(true) => cx.push(syn::Error::new_spanned(&self.decl.ty, msg)),
            None => {
                let (first, last) = first_last(&self.decl.ty);
                let lp = quote_spanned!(first=> <#field_ty as ::nn::Layer>);
                if Size::Expr(field_ty.clone()).mentions(&cx.generics) {
                    cx.generic_asserts
                        .push(quote_spanned!(first=> ::core::assert!(#lp::PARAMS == 0, #msg);));
                } else {
                    let close = quote_spanned!(last=> ;);
                    cx.checks.push(quote_spanned! {first=>
                        const _: () = ::core::assert!(#lp::PARAMS == 0, #msg) #close
                    });
                }
            }
        }
    }
}

/// Everything validation collects: errors, and checks for the compiler.
#[derive(Default)]
struct Ctx {
    errors: Ctxt,
    types: Vec<TypeCheck>,
    /// Constant assertions, each spanned on its layer.
    checks: Vec<TokenStream>,
    /// The network's generic parameters, by name.
    generics: Vec<String>,
    /// Assertions that name generic parameters: they live in the network's impl.
    generic_asserts: Vec<TokenStream>,
    /// The network's generic arguments (`<H>`), which its inline blocks' networks take too.
    ty_generics: TokenStream,
}

/// Why two sizes cannot be equal.
enum Mismatch {
    /// Two different literals; the one flowing in.
    Lit(u64),
    /// Sizes that differ for some values of the generic parameters.
    Generic,
}

impl Ctx {
    fn push(&mut self, e: syn::Error) {
        self.errors.push(e);
    }

    /// Compares the width flowing in (`have`) with a layer's input (`want`): literals
    /// and generic sizes here, anything else by the compiler.
    fn compare(&mut self, ty: &Type, have: &Size, want: &Size) -> Result<(), Mismatch> {
        match (have, want) {
            (Size::Lit(h), Size::Lit(w)) if h != w => Err(Mismatch::Lit(*h)),
            (Size::Lit(_), Size::Lit(_)) => Ok(()),
            (have, want) if have.mentions(&self.generics) || want.mentions(&self.generics) => {
                let layer_size =
                    |s: &Size| matches!(s, Size::Expr(ts) if ts.to_string().contains("Layer"));
                if have.show() == want.show() {
                    Ok(())
                } else if layer_size(have) || layer_size(want) {
                    // A size from a generic layer's impl: only known once the network's
                    // parameters are.
                    let (h, w) = (have.expr(), want.expr());
                    let msg = format!(
                        "layer size mismatch: `{}` takes `{}` features but the layer before it produces `{}`",
                        pretty(&ty.to_token_stream()),
                        want.show(),
                        have.show()
                    );
                    let (first, _) = first_last(ty);
                    self.generic_asserts
                        .push(quote_spanned!(first=> ::core::assert!(#h == #w, #msg);));
                    Ok(())
                } else {
                    Err(Mismatch::Generic)
                }
            }
            (have, want) => {
                self.types.push(TypeCheck {
                    span: first_last(ty),
                    keeps: false,
                    prev: have.expr(),
                    input: want.expr(),
                });
                Ok(())
            }
        }
    }
}

/// Validates `input`, resolving each layer; on any mistake, every error found.
pub fn check(input: &Input) -> syn::Result<(Net<'_>, Vec<TokenStream>)> {
    let mut cx = Ctx::default();
    let name = &input.ident;
    if input.layers.is_empty() {
        cx.push(syn::Error::new_spanned(
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
            other => cx.push(syn::Error::new_spanned(
                other,
                "a network is generic over sizes only: write `const H: usize`",
            )),
        }
    }
    if let Some(w) = &input.generics.where_clause {
        cx.push(syn::Error::new_spanned(
            w,
            "a network's generic sizes take no `where` clause",
        ));
    }
    if !cx.generics.is_empty() {
        if let Some(attr) = &input.weights {
            cx.push(syn::Error::new_spanned(
                &attr.attr,
                "a generic network cannot have its weights baked in: the file's shapes are fixed, \
                 the network's are not; bake a network with its sizes written out",
            ));
        }
        if input.input.is_some() {
            cx.push(syn::Error::new_spanned(
                &input.generics,
                "a generic network of images is not supported: its layers' sizes would be \
                 computed from the generic parameters inside types, which stable Rust cannot do; \
                 write the image's sizes out (a `const` item works)",
            ));
            // One mistake, one error: the layers' sizes would all fail the same way.
            return Err(cx.errors.finish().err().unwrap_or_else(|| {
                syn::Error::new_spanned(&input.generics, "unsupported generic network")
            }));
        }
    }
    let mut seen: Vec<&syn::Ident> = Vec::new();
    for name in input.layers.iter().filter_map(|l| l.name.as_ref()) {
        if seen.contains(&name) {
            cx.push(syn::Error::new_spanned(
                name,
                format!(
                    "duplicate layer name `{name}`; each layer needs its own name, \
                     as it becomes the prefix of its parameters (`{name}.weight`)"
                ),
            ));
        }
        seen.push(name);
    }
    let mut seq = Seq {
        flow: input.input.as_ref().map(|shape| Flow {
            size: shape.size(),
            source: String::new(),
            image: Some(shape.clone()),
            detail: None,
        }),
        prev_shown: match &input.input {
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
    let mut layers = check_list(&mut cx, &name.to_string(), &input.layers, &mut seq, named);
    let sizes = if cx.generics.is_empty() {
        None
    } else {
        generic_sizes(&mut cx, &mut layers)
    };
    cx.errors.finish()?;
    Ok((
        Net {
            layers,
            checks: cx.types,
            named,
            sizes,
            generic_asserts: cx.generic_asserts,
        },
        cx.checks,
    ))
}

/// A generic network's input and output widths, and every layer's output width, must be
/// array lengths stable Rust accepts with generic parameters in scope (a literal, a
/// `const` item, a bare parameter): the typed methods and the one-sample pass's stack
/// buffers are sized by them.
fn generic_sizes(cx: &mut Ctx, layers: &mut [Resolved<'_>]) -> Option<(TokenStream, TokenStream)> {
    fn all_bare(cx: &mut Ctx, layers: &mut [Resolved<'_>]) -> bool {
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
                cx.push(syn::Error::new_spanned(
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
            if let Some(h) = &mut l.hidden {
                ok &= all_bare(cx, &mut h.layers);
            }
        }
        ok
    }
    let first = layers.first()?;
    let input = match layer_kind(&first.decl.ty) {
        Ok(Kind::Linear { inputs, .. }) => inputs.bare(),
        Ok(Kind::BatchNorm { width }) => width.bare(),
        Ok(Kind::Activation(Keeps { width: Some(w), .. })) => w.bare(),
        _ => None,
    };
    let Some(input) = input else {
        cx.push(syn::Error::new_spanned(
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

/// Validates a list of layers, the data flowing in as `seq` says.
fn check_list<'a>(
    cx: &mut Ctx,
    owner: &str,
    decls: &'a [LayerDecl],
    seq: &mut Seq,
    named_list: bool,
) -> Vec<Resolved<'a>> {
    let mut out = Vec::new();
    for (index, decl) in decls.iter().enumerate() {
        let entry = Entry {
            decl,
            index,
            named_list,
        };
        let resolved = match &decl.inline {
            Some(inline) => step_block(cx, owner, &entry, inline, seq),
            None => step_layer(cx, &entry, seq),
        };
        out.extend(resolved);
    }
    out
}

/// `Sequential<...>` or `Residual<...>`: a network of its own, generated beside this one,
/// or a residual block around one layer of the user's or one network.
fn step_block<'a>(
    cx: &mut Ctx,
    owner: &str,
    entry: &Entry<'a>,
    inline: &'a Inline,
    seq: &mut Seq,
) -> Option<Resolved<'a>> {
    let decl = entry.decl;
    let ty = &decl.ty;
    let shown = pretty(&ty.to_token_stream());
    if inline.residual {
        if let [only] = &inline.layers[..] {
            if only.inline.is_none() && matches!(layer_kind(&only.ty), Ok(Kind::User)) {
                return step_residual_around(cx, entry, &only.ty, seq, shown);
            }
        }
    }
    let place = match &decl.name {
        Some(n) => n.to_string(),
        None => entry.index.to_string(),
    };
    let ident = syn::Ident::new(&format!("__{owner}_{place}"), Span::call_site());
    let start = seq.clone();
    let layers = check_list(cx, &ident.to_string(), &inline.layers, seq, false);
    let tyg = cx.ty_generics.clone();
    entry.check_name(cx, None, &shown, &quote!(#ident #tyg));
    if layers.len() != inline.layers.len() {
        return None; // a layer inside was reported
    }
    let field_ty = if inline.residual {
        let (Some(have), Some(first)) = (&seq.flow, layers.first()) else {
            return None;
        };
        // The width the block starts with: what flows into it, or its first layer's input.
        let want = match &start.flow {
            Some(f) => f.size.clone(),
            None => {
                let first = &first.field_ty;
                Size::Expr(quote!(<#first as ::nn::Layer>::IN))
            }
        };
        if let Err(mismatch) = cx.compare(ty, &have.size, &want) {
            let have = match mismatch {
                Mismatch::Lit(h) => h.to_string(),
                Mismatch::Generic => format!(
                    "`{}`, which differ for some values of the network's generic parameters",
                    have.size.show()
                ),
            };
            let want = want.show();
            cx.push(syn::Error::new_spanned(
                ty,
                format!(
                    "this residual block takes {want} features but its last layer produces {have}; \
                     its output is added to its input, so it must keep the width it starts with \
                     (end it with a layer of {want} outputs)"
                ),
            ));
            seq.lose(shown);
            return None;
        }
        // After the block, the data is as it came in: the block's input width, checked
        // equal to its output above, and the image it may be.
        seq.flow = seq.flow.take().map(|f| Flow {
            size: want.clone(),
            image: start.flow.as_ref().and_then(|s| s.image.clone()),
            ..f
        });
        quote!(::nn::Residual<#ident #tyg>)
    } else {
        quote!(#ident #tyg)
    };
    seq.prev_shown = shown;
    let mut resolved = entry.resolved(field_ty, seq);
    resolved.hidden = Some(Box::new(Hidden { ident, layers }));
    Some(resolved)
}

/// `Residual<T>` around a layer of the user's or a network: `T` must keep its width.
fn step_residual_around<'a>(
    cx: &mut Ctx,
    entry: &Entry<'a>,
    inner: &Type,
    seq: &mut Seq,
    shown: String,
) -> Option<Resolved<'a>> {
    let ty = &entry.decl.ty;
    let input = Size::Expr(quote!(<#inner as ::nn::Layer>::IN));
    let output = Size::Expr(quote!(<#inner as ::nn::Layer>::OUT));
    if let Some(f) = &seq.flow {
        let _ = cx.compare(ty, &f.size, &input);
    }
    if input.mentions(&cx.generics) {
        let (i, o) = (input.expr(), output.expr());
        let msg = format!(
            "a residual block must keep its width: `{shown}` produces another width than it takes"
        );
        let (first, _) = first_last(ty);
        cx.generic_asserts
            .push(quote_spanned!(first=> ::core::assert!(#i == #o, #msg);));
    } else {
        cx.types.push(TypeCheck {
            span: first_last(ty),
            keeps: true,
            prev: input.expr(),
            input: output.expr(),
        });
    }
    let field_ty = quote!(::nn::Residual<#inner>);
    entry.check_name(cx, None, &shown, &field_ty);
    let image = seq.flow.as_ref().and_then(|f| f.image.clone());
    // The block keeps the width flowing in (checked above).
    let size = seq.flow.as_ref().map_or(output, |f| f.size.clone());
    seq.flow = Some(Flow {
        size,
        source: shown.clone(),
        image,
        detail: None,
    });
    seq.prev_shown = shown;
    Some(entry.resolved(field_ty, seq))
}

/// One layer: a built-in or a type of the user's (a network among them).
fn step_layer<'a>(cx: &mut Ctx, entry: &Entry<'a>, seq: &mut Seq) -> Option<Resolved<'a>> {
    let ty = &entry.decl.ty;
    let kind = match layer_kind(ty) {
        Ok(k) => k,
        Err(e) => {
            cx.push(e);
            // Unknown width from here on: compare nothing more against it.
            seq.lose(String::new());
            return None;
        }
    };
    let shown = show(&kind, ty);
    match &kind {
        Kind::Image(image_kind) => step_image(cx, entry, image_kind, shown, seq),
        _ => step_flat(cx, entry, kind, shown, seq),
    }
}

/// An image layer: its shape arithmetic is in `image.rs`.
fn step_image<'a>(
    cx: &mut Ctx,
    entry: &Entry<'a>,
    image_kind: &ImageKind,
    shown: String,
    seq: &mut Seq,
) -> Option<Resolved<'a>> {
    let ty = &entry.decl.ty;
    let (before, flat) = match &seq.flow {
        Some(f) => (f.image.clone(), Some(f.size.clone())),
        None => (None, None),
    };
    if seq.flow.is_none() && entry.index > 0 {
        return None; // the layer before it was already reported
    }
    let result = match image::step(
        image_kind,
        &shown,
        before.as_ref(),
        flat.as_ref(),
        &seq.prev_shown,
    ) {
        Err(msg) => {
            cx.push(syn::Error::new_spanned(ty, msg));
            seq.lose(shown);
            return None;
        }
        Ok(step) => step,
    };
    for (have, want) in &result.checks {
        let _ = cx.compare(ty, have, want);
    }
    seq.flow = Some(match (result.out, before) {
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
            size: flat.unwrap_or(Size::Lit(0)),
            source: shown.clone(),
            image: None,
            detail: None,
        },
    });
    entry.check_name(cx, Some(image_kind.has_state()), &shown, &result.field_ty);
    seq.prev_shown = shown;
    Some(entry.resolved(result.field_ty, seq))
}

/// A layer on flat features: `Linear`, a norm, a width-keeping built-in, or a type of
/// the user's.
fn step_flat<'a>(
    cx: &mut Ctx,
    entry: &Entry<'a>,
    kind: Kind,
    shown: String,
    seq: &mut Seq,
) -> Option<Resolved<'a>> {
    let (ty, index) = (&entry.decl.ty, entry.index);
    // Flat layers after an image need it flattened first; a layer of the user's takes
    // the image's `C·H·W` features as they are.
    if let Some(Flow {
        image: Some(shape), ..
    }) = &seq.flow
    {
        if !matches!(
            kind,
            Kind::User | Kind::Activation(Keeps { width: None, .. })
        ) {
            cx.push(syn::Error::new_spanned(
                ty,
                format!(
                    "`{shown}` takes flat features, but `{}` before it produces an image of {}; \
                     put `Flatten` before it",
                    seq.prev_shown,
                    shape.show()
                ),
            ));
            seq.lose(shown);
            return None;
        }
    }
    let (input_size, output_size) = match &kind {
        Kind::Linear { inputs, outputs } => (Some(inputs.clone()), outputs.clone()),
        Kind::BatchNorm { width } => (Some(width.clone()), width.clone()),
        Kind::Image(_) => return None, // handled by `step_image`
        Kind::User => (
            Some(Size::Expr(quote!(<#ty as ::nn::Layer>::IN))),
            Size::Expr(quote!(<#ty as ::nn::Layer>::OUT)),
        ),
        Kind::Activation(Keeps {
            width: Some(width), ..
        }) => (Some(width.clone()), width.clone()),
        Kind::Activation(_) => match &seq.flow {
            Some(f) => (None, f.size.clone()),
            None if index == 0 => {
                cx.push(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{shown}` cannot come first: it keeps the width of the layer before it, \
                         so the network's input size would be unknown; \
                         put a sized layer such as `Linear<IN, OUT>` first"
                    ),
                ));
                return None;
            }
            None => return None, // the layer before it was already reported
        },
    };

    for (what, size) in [
        ("inputs", input_size.as_ref()),
        ("outputs", Some(&output_size)),
    ] {
        if let Some(size) = size.filter(|s| s.mentions(&cx.generics) && s.bare().is_none()) {
            if !matches!(kind, Kind::User) {
                cx.push(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{shown}` computes its {what} from the network's generic parameters \
                         (`{}`), which stable Rust cannot do inside a type; make the computed \
                         size a parameter of its own (`const H2: usize`) and use `H2`",
                        size.show()
                    ),
                ));
                seq.lose(shown);
                return None;
            }
        }
        if let Some(Size::Lit(0)) = size {
            cx.push(syn::Error::new_spanned(
                ty,
                format!("`{shown}` has 0 {what}; every layer size must be at least 1"),
            ));
        }
    }

    let mut bn_mismatch = false;
    if let (Some(f), Some(want)) = (&seq.flow, &input_size) {
        if let Err(mismatch) = cx.compare(ty, &f.size, want) {
            let want = want.show();
            let prev_shown = &seq.prev_shown;
            let Mismatch::Lit(have) = mismatch else {
                let have = f.size.show();
                let from = if f.source == *prev_shown || f.source.is_empty() {
                    String::new()
                } else {
                    format!(" (the output of `{}`)", f.source)
                };
                let fix = match &kind {
                    Kind::Linear { outputs, .. } => {
                        format!("; change it to `Linear<{have}, {}>`", outputs.show())
                    }
                    Kind::BatchNorm { .. } => format!("; change it to `BatchNorm<{have}>`"),
                    _ => String::new(),
                };
                cx.push(syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{shown}` expects {want} inputs, but `{prev_shown}` before it produces `{have}`{from}, \
                         which differs from {want} for some values of the network's generic parameters; \
                         a generic network must fit for every size{fix}"
                    ),
                ));
                seq.lose(shown);
                return None;
            };
            bn_mismatch = matches!(
                kind,
                Kind::BatchNorm { .. } | Kind::Activation(Keeps { width: Some(_), .. })
            );
            let from = if f.source == *prev_shown || f.source.is_empty() {
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
            cx.push(syn::Error::new_spanned(ty, msg));
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
    let stateful = match &kind {
        Kind::Linear { .. } | Kind::BatchNorm { .. } => Some(true),
        Kind::Activation(k) => Some(k.width.is_some()),
        Kind::User | Kind::Image(_) => None,
    };
    entry.check_name(cx, stateful, &shown, &field_ty);
    let keeps_source = matches!(kind, Kind::Activation(_) | Kind::BatchNorm { .. });
    let source = match (&seq.flow, keeps_source) {
        (Some(f), true) => f.source.clone(),
        _ => shown.clone(),
    };
    // After a batch norm of the wrong width, which of the two widths is meant is
    // unknown: compare the next layer with neither, so that one mistake gives one error.
    seq.flow = if bn_mismatch {
        None
    } else {
        // A width-keeping layer on an image keeps the image.
        let image = match (&kind, &seq.flow) {
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
    seq.prev_shown = shown;
    Some(entry.resolved(field_ty, seq))
}
