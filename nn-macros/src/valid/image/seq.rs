//! The 1-D layers' steps on a sequence of `C × L` (`#[input(C, L)]`): each length computed
//! and checked as an image's width is (`general::side`), with the arithmetic in the message
//! where it does not fit, and the layer's type written with every size filled in.

use quote::quote;

use super::general::{per_group, side};
use super::{Conv, ImageKind, Pool, Step};
use crate::size::{mul, Shape, Size};
use crate::valid::keywords::Padding;

/// A sequence of `c` channels of length `l`.
fn sequence(c: Size, l: Size) -> Shape {
    Shape {
        c,
        h: Size::Lit(1),
        w: l,
        seq: true,
    }
}

/// `kind`, a 1-D layer, on the sequence `x`; `checks` holds the channel comparisons left to
/// the compiler.
pub(super) fn step(
    kind: &ImageKind,
    shown: &str,
    x: &Shape,
    prev: &str,
    checks: Vec<(Size, Size)>,
) -> Result<Step, String> {
    let (c, l) = (x.c.expr(), x.w.expr());
    match kind {
        ImageKind::Conv1d(conv) => conv1d(conv, shown, x, prev, checks),
        ImageKind::MaxPool1d(pool) | ImageKind::AvgPool1d(pool) => pool1d(
            pool,
            matches!(kind, ImageKind::MaxPool1d(_)),
            shown,
            x,
            prev,
        ),
        ImageKind::AdaptiveAvgPool1d => Ok(Step {
            field_ty: quote!(::nn::AdaptiveAvgPool1d<#c, #l>),
            out: Some(sequence(x.c.clone(), Size::Lit(1))),
            checks: Vec::new(),
        }),
        // Steps of channels: flat features from here, which a recurrent layer reads.
        _ => Ok(Step {
            field_ty: quote!(::nn::Transpose<#c, #l>),
            out: None,
            checks: Vec::new(),
        }),
    }
}

/// `Conv1d` on the sequence `x`.
fn conv1d(
    conv: &Conv,
    shown: &str,
    x: &Shape,
    prev: &str,
    checks: Vec<(Size, Size)>,
) -> Result<Step, String> {
    let groups = |a: &Size, what: &str| {
        per_group(a, &conv.groups).map_err(|(a, g)| {
            format!(
                "`{shown}` splits its {a} {what} channels into {g} groups, but {a} = {g} × {} + \
                 {}; PyTorch requires the channels in and out to be multiples of `groups`",
                a / g,
                a % g
            )
        })
    };
    let cing = groups(&conv.cin, "input")?;
    groups(&conv.cout, "output")?;
    let (k, s, d) = (&conv.k, &conv.s, &conv.dilation.h);
    let too_long = |why: String| {
        format!(
            "`{shown}` slides a kernel of {}, but `{prev}` before it produces a sequence of {} \
             (its length: {why}); use a smaller kernel or more padding",
            k.show(),
            x.show(),
        )
    };
    let (before, after, out) = match &conv.padding {
        Padding::Causal => {
            // `(K − 1)·D` before, none after: the padded length is `L + (K − 1)·D`, which
            // every kernel fits, and the output is `⌈L / S⌉` long.
            let before = match (k, d) {
                (Size::Lit(k), Size::Lit(d)) => Size::Lit(d.saturating_mul(k.saturating_sub(1))),
                _ => {
                    let (k, d) = (k.expr(), d.expr());
                    Size::Expr(quote!((#d) * ((#k) - 1)))
                }
            };
            let out = match (&x.w, s) {
                (Size::Lit(l), Size::Lit(s)) => Size::Lit(l.div_ceil(*s)),
                (l, s) => {
                    let (l, s) = (l.expr(), s.expr());
                    Size::Expr(quote!(((#l) - 1) / (#s) + 1))
                }
            };
            (before, Size::Lit(0), out)
        }
        Padding::Same => {
            let side = side(&x.w, k, s, None, d).map_err(too_long)?;
            (side.before, side.after, side.out)
        }
        Padding::Pad(p) => {
            let side = side(&x.w, k, s, Some(&p.w), d).map_err(too_long)?;
            (side.before, side.after, side.out)
        }
    };
    let e = |s: &Size| s.expr();
    let (cin, cout, ke, se, de, g) = (
        e(&conv.cin),
        e(&conv.cout),
        e(k),
        e(s),
        e(d),
        e(&conv.groups),
    );
    let (pl, pr, l, cing, bias) = (e(&before), e(&after), e(&x.w), e(&cing), conv.bias);
    Ok(Step {
        field_ty: quote!(
            ::nn::Conv1d<#cin, #cout, #ke, #se, #pl, #pr, #de, #g, #l, #cing, #bias>
        ),
        out: Some(sequence(conv.cout.clone(), out)),
        checks,
    })
}

/// A max (`max`) or average 1-D pool on the sequence `x`.
fn pool1d(pool: &Pool, max: bool, shown: &str, x: &Shape, prev: &str) -> Result<Step, String> {
    let (k, s, p) = (&pool.k.w, &pool.s.w, &pool.p.w);
    // PyTorch: "pad should be at most half of effective kernel size".
    if let (Size::Lit(p), Size::Lit(k)) = (p, k) {
        if p.saturating_mul(2) > *k {
            return Err(format!(
                "`{shown}` pads by {p}, but PyTorch pads a pool by at most half its window, \
                 {k} / 2 = {}; use `padding = {}` at most",
                k / 2,
                k / 2
            ));
        }
    }
    let side = side(&x.w, k, s, Some(p), &Size::Lit(1)).map_err(|why| {
        format!(
            "`{shown}` pools windows of {}, but `{prev}` before it produces a sequence of {} (its \
             length: {why}); use a window of at most the sequence's length",
            k.show(),
            x.show(),
        )
    })?;
    let e = |s: &Size| s.expr();
    let (c, l, ke, se, pe) = (e(&x.c), e(&x.w), e(k), e(s), e(p));
    let field_ty = match max {
        true => quote!(::nn::MaxPool1d<#c, #ke, #se, #pe, #l>),
        false => quote!(::nn::AvgPool1d<#c, #ke, #se, #pe, #l>),
    };
    Ok(Step {
        field_ty,
        out: Some(sequence(x.c.clone(), side.out)),
        checks: Vec::new(),
    })
}

/// The features a sequence of `x` turns into through `Transpose`: `L` steps of `C`, as text.
pub(super) fn steps_detail(x: &Shape) -> String {
    let n = mul(&x.w, &x.c);
    match n {
        Size::Lit(n) => format!(
            "{} steps of {} features, {} × {} = {n}",
            x.w.show(),
            x.c.show(),
            x.w.show(),
            x.c.show()
        ),
        Size::Expr(_) => format!("{} steps of {} features", x.w.show(), x.c.show()),
    }
}
