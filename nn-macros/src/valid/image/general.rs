//! The arithmetic of the convolutions and pools that `Conv2d`'s and the pools' fast types do
//! not take (groups, pairs, `padding = same`, dilation, a pool's stride and padding), each
//! side on its own, with the formula in the message where a side does not fit.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Conv, Pool, Step};
use crate::size::{Pair, Shape, Size};
use crate::valid::keywords::Padding;

/// One side of a window sliding over `n`: its padding before and after, and the output
/// length.
pub(super) struct Side {
    pub before: Size,
    pub after: Size,
    pub out: Size,
}

/// A window of `k` dilated by `d`, moved by `s` over `n` with `p` on both ends; or, with `p`
/// `None`, TensorFlow's `same`: `⌈n / s⌉` outputs, the padding they need split with the odd
/// one at the end. `Err` holds the message's reason.
pub(super) fn side(
    n: &Size,
    k: &Size,
    s: &Size,
    p: Option<&Size>,
    d: &Size,
) -> Result<Side, String> {
    let lits = |sizes: &[&Size]| -> Option<Vec<u64>> {
        sizes
            .iter()
            .map(|s| match s {
                Size::Lit(v) => Some(*v),
                Size::Expr(_) => None,
            })
            .collect()
    };
    let Some(p) = p else {
        let Some(v) = lits(&[n, k, s, d]) else {
            // Sizes known as constants only (an image a network of its own produces, before
            // a template's use): the same arithmetic, evaluated by the compiler.
            let (ne, ke, se, de) = (n.expr(), k.expr(), s.expr(), d.expr());
            let same = |i: usize| {
                Size::Expr(quote!(::nn::__private::same_padding(#ne, #ke, #se, #de)[#i]))
            };
            return Ok(Side {
                before: same(0),
                after: same(1),
                out: same(2),
            });
        };
        let [n, k, s, d] = [v[0], v[1], v[2], v[3]];
        let span = d.saturating_mul(k.saturating_sub(1)).saturating_add(1);
        let out = n.div_ceil(s.max(1));
        let total = (out.saturating_sub(1).saturating_mul(s) + span).saturating_sub(n);
        return Ok(Side {
            before: Size::Lit(total / 2),
            after: Size::Lit(total - total / 2),
            out: Size::Lit(out),
        });
    };
    if let Some(v) = lits(&[n, k, s, p, d]) {
        let [n, k, s, p, d] = [v[0], v[1], v[2], v[3], v[4]];
        let span = d.saturating_mul(k.saturating_sub(1)).saturating_add(1);
        let padded = n.saturating_add(p.saturating_mul(2));
        if span > padded {
            let spans = if d == 1 {
                format!("the kernel's {span}")
            } else {
                format!("the span of the kernel dilated by {d}, {d} × ({k} − 1) + 1 = {span}")
            };
            return Err(format!(
                "{n} + 2 × {p} = {padded} with padding, less than {spans}"
            ));
        }
        return Ok(Side {
            before: Size::Lit(p),
            after: Size::Lit(p),
            out: Size::Lit((padded - span) / s + 1),
        });
    }
    let (ne, ke, se, pe, de) = (n.expr(), k.expr(), s.expr(), p.expr(), d.expr());
    Ok(Side {
        before: p.clone(),
        after: p.clone(),
        out: Size::Expr(quote!(((#ne) + 2 * (#pe) - (#de) * ((#ke) - 1) - 1) / (#se) + 1)),
    })
}

/// `a / b` where both are literals, checked to divide; the expression otherwise (the
/// layer's own check refuses what does not divide).
pub(super) fn per_group(a: &Size, g: &Size) -> Result<Size, (u64, u64)> {
    match (a, g) {
        (Size::Lit(a), Size::Lit(g)) if a % g != 0 => Err((*a, *g)),
        (Size::Lit(a), Size::Lit(g)) => Ok(Size::Lit(a / g)),
        _ => {
            let (a, g) = (a.expr(), g.expr());
            Ok(Size::Expr(quote!((#a) / (#g))))
        }
    }
}

/// A convolution that `Conv2d`'s fast type does not take, on the image `x`.
pub(super) fn conv(
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
    let pads = match &conv.padding {
        // `causal` is refused on anything but `Conv1d`.
        Padding::Same | Padding::Causal => [None, None],
        Padding::Pad(p) => [Some(&p.h), Some(&p.w)],
    };
    let fits = |n: &Size, k: &Size, s: &Size, p: Option<&Size>, d: &Size, name: &str| {
        side(n, k, s, p, d).map_err(|why| {
            format!(
                "`{shown}` slides a {} kernel, but `{prev}` before it produces an image of {} \
                 (its {name}: {why}); use a smaller kernel or more padding",
                show_kernel(&conv.kernel),
                x.show(),
            )
        })
    };
    let (k, s) = (&conv.kernel, &conv.stride);
    let d = &conv.dilation;
    let rows = fits(&x.h, &k.h, &s.h, pads[0], &d.h, "height")?;
    let cols = fits(&x.w, &k.w, &s.w, pads[1], &d.w, "width")?;
    let e = |s: &Size| s.expr();
    // `padding = same` that pads evenly, on a layer `Conv2d`'s fast type takes otherwise.
    let even = [&rows.after, &cols.before, &cols.after]
        .iter()
        .all(|p| p.show() == rows.before.show());
    let plain = conv.kernel.is_square()
        && conv.stride.is_square()
        && matches!(conv.groups, Size::Lit(1))
        && conv.dilation.is(1);
    if even && plain {
        let (cin, cout, k, s, p) = (
            e(&conv.cin),
            e(&conv.cout),
            e(&conv.k),
            e(&conv.s),
            e(&rows.before),
        );
        let (h, w, bias) = (e(&x.h), e(&x.w), conv.bias_arg());
        return Ok(Step {
            field_ty: quote!(::nn::Conv2d<#cin, #cout, #k, #s, #p, #h, #w #bias>),
            out: Some(Shape {
                c: conv.cout.clone(),
                h: rows.out,
                w: cols.out,
                seq: false,
            }),
            checks,
        });
    }
    let (cin, cout, g, dh, dw) = (
        e(&conv.cin),
        e(&conv.cout),
        e(&conv.groups),
        e(&conv.dilation.h),
        e(&conv.dilation.w),
    );
    let (kh, kw, sh, sw) = (e(&k.h), e(&k.w), e(&s.h), e(&s.w));
    let (pt, pb, pl, pr) = (
        e(&rows.before),
        e(&rows.after),
        e(&cols.before),
        e(&cols.after),
    );
    let (h, w, cing, bias) = (e(&x.h), e(&x.w), e(&cing), conv.bias);
    let field_ty: TokenStream = quote!(
        ::nn::Conv2dGeneral<#cin, #cout, #g, #kh, #kw, #sh, #sw, #pt, #pb, #pl, #pr, #dh, #dw, #h, #w, #cing, #bias>
    );
    Ok(Step {
        field_ty,
        out: Some(Shape {
            c: conv.cout.clone(),
            h: rows.out,
            w: cols.out,
            seq: false,
        }),
        checks,
    })
}

/// A kernel as a message shows it: `3 × 3`, `10 × 4`.
fn show_kernel(k: &Pair) -> String {
    format!("{} × {}", k.h.show(), k.w.show())
}

/// A max (`max`) or average pool on the image `x`: the fast types for PyTorch's defaults on
/// a square window, the general ones otherwise.
pub(super) fn pool(
    pool: &Pool,
    max: bool,
    shown: &str,
    x: &Shape,
    prev: &str,
) -> Result<Step, String> {
    // PyTorch: "pad should be at most half of effective kernel size".
    for (p, k) in [(&pool.p.h, &pool.k.h), (&pool.p.w, &pool.k.w)] {
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
    }
    let fits = |n: &Size, k: &Size, s: &Size, p: &Size, name: &str| {
        side(n, k, s, Some(p), &Size::Lit(1)).map_err(|why| {
            if pool.is_plain() {
                return format!(
                    "`{shown}` pools {k} × {k} windows, but `{prev}` before it produces an image \
                     of {}; use a window of at most the image's height and width",
                    x.show(),
                    k = pool.k.h.show()
                );
            }
            format!(
                "`{shown}` pools {} windows, but `{prev}` before it produces an image of {} (its \
                 {name}: {why}); use a window of at most the image's height and width",
                show_kernel(&pool.k),
                x.show(),
            )
        })
    };
    let (k, s, p) = (&pool.k, &pool.s, &pool.p);
    let rows = fits(&x.h, &k.h, &s.h, &p.h, "height")?;
    let cols = fits(&x.w, &k.w, &s.w, &p.w, "width")?;
    let e = |s: &Size| s.expr();
    let (c, h, w) = (e(&x.c), e(&x.h), e(&x.w));
    let field_ty = if pool.is_plain() {
        let k = e(&k.h);
        match max {
            true => quote!(::nn::MaxPool2d<#c, #k, #h, #w>),
            false => quote!(::nn::AvgPool2d<#c, #k, #h, #w>),
        }
    } else {
        let (kh, kw, sh, sw, ph, pw) = (e(&k.h), e(&k.w), e(&s.h), e(&s.w), e(&p.h), e(&p.w));
        match max {
            true => quote!(::nn::MaxPool2dGeneral<#c, #kh, #kw, #sh, #sw, #ph, #pw, #h, #w>),
            false => quote!(::nn::AvgPool2dGeneral<#c, #kh, #kw, #sh, #sw, #ph, #pw, #h, #w>),
        }
    };
    Ok(Step {
        field_ty,
        out: Some(Shape {
            c: x.c.clone(),
            h: rows.out,
            w: cols.out,
            seq: false,
        }),
        checks: Vec::new(),
    })
}
