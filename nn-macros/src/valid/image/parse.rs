//! Reading an image layer's arguments: its sizes by position, then PyTorch's keywords where
//! the layer takes them (`crate::valid::keywords`), each checked on its own before any shape
//! is known; and a convolution as declared ([`Conv`]).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, Type};

use super::ImageKind;
use crate::size::{Pair, Size};
use crate::valid::keywords::{self, Padding};

/// A convolution as declared, `Conv2d` or `ConvTranspose2d` (whose kernel, stride and
/// padding are square, and which has no dilation or groups).
pub struct Conv {
    pub cin: Size,
    pub cout: Size,
    /// The kernel's height; [`Conv::kernel`] both sides.
    pub k: Size,
    /// The stride down the rows.
    pub s: Size,
    /// The padding above and below (nothing for `same`).
    pub p: Size,
    pub kernel: Pair,
    pub stride: Pair,
    pub padding: Padding,
    pub dilation: Pair,
    pub groups: Size,
    /// `false` for `bias = false`, PyTorch's `bias=False`.
    pub bias: bool,
}

impl Conv {
    /// Whether `Conv2d`'s fast type takes it: a square kernel, stride and padding, no
    /// dilation, one group.
    pub fn is_plain(&self) -> bool {
        self.kernel.is_square()
            && self.stride.is_square()
            && matches!(&self.padding, Padding::Pad(p) if p.is_square())
            && self.dilation.is(1)
            && matches!(self.groups, Size::Lit(1))
    }

    /// The weight's second dimension, `CIN / groups`.
    pub fn in_per_group(&self) -> Size {
        match (&self.cin, &self.groups) {
            (Size::Lit(c), Size::Lit(g)) if *g > 0 => Size::Lit(c / g),
            (c, g) => {
                let (c, g) = (c.expr(), g.expr());
                Size::Expr(quote!((#c) / (#g)))
            }
        }
    }

    /// The layer as declared, tidied, with its keywords where they are not the defaults:
    /// `Conv2d<1, 8, 3, padding = 1>`; `output_padding` for a transposed convolution.
    pub(super) fn show(&self, name: &str, output_padding: Option<&Size>) -> String {
        let (cin, cout, k) = (self.cin.show(), self.cout.show(), self.kernel.show());
        let mut out = format!("{name}<{cin}, {cout}, {k}");
        if !self.stride.is(1) {
            out += &format!(", stride = {}", self.stride.show());
        }
        match &self.padding {
            Padding::Same => out += ", padding = same",
            Padding::Causal => out += ", padding = causal",
            Padding::Pad(p) if !p.is(0) => out += &format!(", padding = {}", p.show()),
            Padding::Pad(_) => {}
        }
        if !self.dilation.is(1) {
            out += &format!(", dilation = {}", self.dilation.show());
        }
        if !matches!(self.groups, Size::Lit(1)) {
            out += &format!(", groups = {}", self.groups.show());
        }
        if let Some(op) = output_padding.filter(|op| !matches!(op, Size::Lit(0))) {
            out += &format!(", output_padding = {}", op.show());
        }
        if !self.bias {
            out += ", bias = false";
        }
        out + ">"
    }

    /// The type's trailing `false` for a layer without bias; nothing otherwise (the
    /// type's default).
    pub(super) fn bias_arg(&self) -> TokenStream {
        if self.bias {
            quote!()
        } else {
            quote!(, false)
        }
    }
}

/// A pool as declared: its window, stride (the window's by default) and padding.
pub struct Pool {
    pub k: Pair,
    pub s: Pair,
    pub p: Pair,
}

impl Pool {
    /// Whether the fast type takes it: PyTorch's defaults on a square window.
    pub fn is_plain(&self) -> bool {
        self.k.is_square() && self.s.show() == self.k.show() && self.p.is(0)
    }

    /// As declared, tidied: `MaxPool2d<3, stride = 2, padding = 1>`.
    pub(super) fn show(&self, name: &str) -> String {
        let mut out = format!("{name}<{}", self.k.show());
        if self.s.show() != self.k.show() {
            out += &format!(", stride = {}", self.s.show());
        }
        if !self.p.is(0) {
            out += &format!(", padding = {}", self.p.show());
        }
        out + ">"
    }
}

/// The image layer named `name`, if it is one.
pub fn classify(ty: &Type, name: &str, args: &PathArguments) -> Option<syn::Result<ImageKind>> {
    let usage = match name {
        "Conv2d" => "Conv2d<IN_CHANNELS, OUT_CHANNELS, KERNEL>",
        "ConvTranspose2d" => "ConvTranspose2d<IN_CHANNELS, OUT_CHANNELS, KERNEL>",
        "MaxPool2d" => "MaxPool2d<KERNEL>",
        "AvgPool2d" => "AvgPool2d<KERNEL>",
        "AdaptiveAvgPool2d" => "AdaptiveAvgPool2d<1>",
        "BatchNorm2d" => "BatchNorm2d<CHANNELS>",
        "Upsample" => "Upsample<SCALE>",
        "Flatten" => "Flatten",
        "Conv1d" => "Conv1d<IN_CHANNELS, OUT_CHANNELS, KERNEL>",
        "MaxPool1d" => "MaxPool1d<KERNEL>",
        "AvgPool1d" => "AvgPool1d<KERNEL>",
        "AdaptiveAvgPool1d" => "AdaptiveAvgPool1d<1>",
        "Transpose" => "Transpose",
        _ => return None,
    };
    Some(parse(ty, name, usage, args))
}

fn parse(ty: &Type, name: &str, usage: &str, args: &PathArguments) -> syn::Result<ImageKind> {
    let err = |msg: String| syn::Error::new_spanned(ty, msg);
    let list: Vec<&GenericArgument> = match args {
        PathArguments::None => Vec::new(),
        PathArguments::AngleBracketed(a) => a.args.iter().collect(),
        PathArguments::Parenthesized(_) => {
            return Err(err(format!(
                "`{name}` takes its sizes in angle brackets: `{usage}`"
            )))
        }
    };
    // Positional sizes first, then the keywords (the convolutions only).
    let args = keywords::split(name, usage, &list)?;
    let want = match name {
        "Conv2d" | "ConvTranspose2d" | "Conv1d" => 3,
        "Flatten" | "Transpose" => 0,
        _ => 1,
    };
    // PyTorch's `nn.Conv2d(1, 32, 3, 1)`: the stride, the padding (and a transposed
    // convolution's output padding) by position.
    let by_position: &[&str] = match name {
        "Conv2d" | "Conv1d" => &["stride", "padding"],
        "ConvTranspose2d" => &["stride", "padding", "output_padding"],
        _ => &[],
    };
    let extra = args.sizes.len().saturating_sub(want);
    if extra > 0 && extra <= by_position.len() && !args.any_keyword() {
        let shown: Vec<String> = args.sizes.iter().map(Size::show).collect();
        let mut ours = shown[..3].join(", ");
        for (key, value) in by_position.iter().zip(&shown[3..]) {
            ours += &format!(", {key} = {value}");
        }
        let then = match by_position {
            [s, p] => format!("{s} and {p}"),
            _ => "stride, padding and output padding".to_string(),
        };
        return Err(err(format!(
            "`{name}` takes 3 sizes, then its {then} by name; PyTorch's \
             `{name}({})` is written `{name}<{ours}>`",
            shown.join(", ")
        )));
    }
    if args.sizes.len() != want {
        return Err(err(if want == 0 && name == "Transpose" {
            "`Transpose` takes no size: it turns the sequence before it into steps; write \
             `Transpose`"
                .to_string()
        } else if want == 0 {
            "`Flatten` takes no size: it flattens whatever image comes before it; write `Flatten`"
                .to_string()
        } else {
            format!(
                "`{name}` takes {want} size{}, `{usage}`, but {} {} given",
                if want == 1 { "" } else { "s" },
                args.sizes.len(),
                if args.sizes.len() == 1 { "was" } else { "were" }
            )
        }));
    }
    let strides = args.stride.iter().flat_map(|p| [&p.h, &p.w]);
    let dilations = args.dilation.iter().flat_map(|p| [&p.h, &p.w]);
    let more = dilations.chain(&args.groups);
    for s in args.sizes.iter().chain(strides).chain(more) {
        if let Size::Lit(0) = s {
            return Err(err(format!(
                "`{name}` has a size of 0; every size must be at least 1"
            )));
        }
    }
    let stride = args.stride.clone();
    let s = stride.as_ref().map_or(Size::Lit(1), |p| p.h.clone());
    let op = args.output_padding.unwrap_or(Size::Lit(0));
    if let (Size::Lit(op), Size::Lit(s)) = (&op, &s) {
        if op >= s {
            // PyTorch refuses it too: "output padding must be smaller than either stride or
            // dilation".
            let fix = match s {
                1 => format!(
                    "leave `output_padding` out, or use a stride of {} or more",
                    op + 1
                ),
                _ => format!(
                    "use `output_padding = {}` at most, or a stride of {} or more",
                    s - 1,
                    op + 1
                ),
            };
            return Err(err(format!(
                "`{name}` has an output padding of {op}, but PyTorch requires it below the \
                 stride, {s}; {fix}"
            )));
        }
    }
    let mut it = args.sizes.into_iter();
    let mut next = || it.next().unwrap_or(Size::Lit(1));
    Ok(match name {
        "Conv2d" | "ConvTranspose2d" | "Conv1d" => {
            let (cin, cout, k) = (next(), next(), next());
            let padding = args
                .padding
                .unwrap_or(Padding::Pad(Pair::square(Size::Lit(0))));
            let conv = Conv {
                cin,
                cout,
                kernel: args.kernel.unwrap_or_else(|| Pair::square(k.clone())),
                k,
                stride: stride.unwrap_or_else(|| Pair::square(Size::Lit(1))),
                s,
                p: match &padding {
                    Padding::Pad(p) => p.h.clone(),
                    Padding::Same | Padding::Causal => Size::Lit(0),
                },
                padding,
                dilation: args.dilation.unwrap_or_else(|| Pair::square(Size::Lit(1))),
                groups: args.groups.unwrap_or(Size::Lit(1)),
                bias: args.bias,
            };
            if name == "Conv1d" {
                ImageKind::Conv1d(Box::new(conv))
            } else if name == "Conv2d" {
                ImageKind::Conv(Box::new(conv))
            } else {
                ImageKind::ConvTranspose(Box::new(conv), op)
            }
        }
        "MaxPool2d" | "AvgPool2d" | "MaxPool1d" | "AvgPool1d" => {
            let k = args.kernel.unwrap_or_else(|| Pair::square(next()));
            let pool = Pool {
                s: stride.unwrap_or_else(|| k.clone()),
                p: match args.padding {
                    Some(Padding::Pad(p)) => p,
                    _ => Pair::square(Size::Lit(0)),
                },
                k,
            };
            match name {
                "MaxPool2d" => ImageKind::MaxPool(pool),
                "AvgPool2d" => ImageKind::AvgPool(pool),
                "MaxPool1d" => ImageKind::MaxPool1d(pool),
                _ => ImageKind::AvgPool1d(pool),
            }
        }
        "AdaptiveAvgPool2d" | "AdaptiveAvgPool1d" => {
            let out = args.kernel.unwrap_or_else(|| Pair::square(next()));
            if !out.is(1) {
                let avg = name.replace("Adaptive", "");
                return Err(err(format!(
                    "`{name}<{}>` pools to {} here, but only the global average pool, \
                     `{name}<1>`, is a layer of `network!`; for another output size \
                     use `{avg}` with the window and stride that give it",
                    out.show(),
                    out.show()
                )));
            }
            if name == "AdaptiveAvgPool1d" {
                ImageKind::AdaptiveAvgPool1d
            } else {
                ImageKind::AdaptiveAvgPool
            }
        }
        "Transpose" => ImageKind::Transpose,
        "BatchNorm2d" => ImageKind::BatchNorm2d(next()),
        "Upsample" => ImageKind::Upsample(next()),
        _ => ImageKind::Flatten,
    })
}
