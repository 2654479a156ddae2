//! What the passes of a network whose forward is written as code call, besides its layers:
//! the cache split into one region per value, and the elementwise operations, copies of
//! columns and loss terms between them, forward and backward.
//!
//! Every value of such a network is `[rows, width]`, row-major, in a region of its own:
//! an image is its `C·H·W` features per row, so that a concatenation on channels is one on
//! features, row by row. A backward step either writes a gradient (the first to reach a
//! value, in reverse order) or adds to it (`acc`), as the macro decides for each.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

/// Splits `buf` into `N` disjoint regions of the given lengths, from its start.
///
/// ```
/// let mut buf = [0.0f32; 6];
/// let [a, b] = nn::__private::graph::split(&mut buf, [2, 3]);
/// assert_eq!((a.len(), b.len()), (2, 3));
/// ```
pub fn split<const N: usize>(buf: &mut [f32], lens: [usize; N]) -> [&mut [f32]; N] {
    let mut rest = buf;
    core::array::from_fn(|i| {
        let (head, tail) = core::mem::take(&mut rest).split_at_mut(lens[i]);
        rest = tail;
        head
    })
}

pub use super::arena::plan;

/// The value an operation makes, `out` (offset, length) of `arena`, mutably, and the values
/// it reads, `ins`: the plan ([`plan`]) keeps them apart, as they are alive together.
///
/// # Panics
/// If a value read overlaps the one made (a plan that is not [`plan`]'s).
pub fn parts<const K: usize>(
    arena: &mut [f32],
    out: (usize, usize),
    ins: [(usize, usize); K],
) -> (&mut [f32], [&[f32]; K]) {
    let (before, rest) = arena.split_at_mut(out.0);
    let (made, after) = rest.split_at_mut(out.1);
    let (before, after): (&[f32], &[f32]) = (before, after);
    let end = out.0 + out.1;
    let read = core::array::from_fn(|j| {
        let (start, len) = ins[j];
        if start + len <= out.0 {
            &before[start..start + len]
        } else {
            assert!(start >= end, "a value read overlaps the value made");
            &after[start - end..start - end + len]
        }
    });
    (made, read)
}

/// `y = a + b`, over `y`'s length.
pub fn add(a: &[f32], b: &[f32], y: &mut [f32]) {
    for ((y, a), b) in y.iter_mut().zip(a).zip(b) {
        *y = a + b;
    }
}

/// `y = a − b`, over `y`'s length.
pub fn sub(a: &[f32], b: &[f32], y: &mut [f32]) {
    for ((y, a), b) in y.iter_mut().zip(a).zip(b) {
        *y = a - b;
    }
}

/// `y = a · b`, elementwise, over `y`'s length.
pub fn mul(a: &[f32], b: &[f32], y: &mut [f32]) {
    for ((y, a), b) in y.iter_mut().zip(a).zip(b) {
        *y = a * b;
    }
}

/// `y = k · a + c`: a value times a number, plus a number (`0.5 * logvar`, `1 - p`, `-h`).
pub fn affine(a: &[f32], k: f32, c: f32, y: &mut [f32]) {
    for (y, a) in y.iter_mut().zip(a) {
        *y = k * a + c;
    }
}

/// Copies columns `offset..offset + w` of `src`, `[rows, width]`, into `y`, `[rows, w]`:
/// a `chunk`, one input of several, a part of a concatenation's gradient.
pub fn columns(src: &[f32], width: usize, offset: usize, y: &mut [f32], w: usize, rows: usize) {
    if w == 0 {
        return;
    }
    let parts = src.chunks_exact(width).zip(y.chunks_exact_mut(w));
    for (s, y) in parts.take(rows) {
        y.copy_from_slice(&s[offset..offset + w]);
    }
}

/// Writes (or with `acc` adds) `src`, `[rows, w]`, into columns `offset..offset + w` of
/// `y`, `[rows, width]`: a part of a concatenation, one output of several.
pub fn place(
    src: &[f32],
    w: usize,
    y: &mut [f32],
    width: usize,
    offset: usize,
    rows: usize,
    acc: bool,
) {
    if w == 0 {
        return;
    }
    let parts = src.chunks_exact(w).zip(y.chunks_exact_mut(width));
    for (s, y) in parts.take(rows) {
        let y = &mut y[offset..offset + w];
        if acc {
            for (y, s) in y.iter_mut().zip(s) {
                *y += s;
            }
        } else {
            y.copy_from_slice(s);
        }
    }
}

/// `d = g`, or with `acc` `d += g`, over `d`'s length.
pub fn grad(g: &[f32], d: &mut [f32], acc: bool) {
    if acc {
        for (d, g) in d.iter_mut().zip(g) {
            *d += g;
        }
    } else {
        let n = d.len();
        d.copy_from_slice(&g[..n]);
    }
}

/// `d = k · g`, or with `acc` `d += k · g`.
pub fn grad_scaled(g: &[f32], k: f32, d: &mut [f32], acc: bool) {
    for (d, g) in d.iter_mut().zip(g) {
        *d = if acc { *d + k * g } else { k * g };
    }
}

/// `d = g · other`, or with `acc` `d += g · other`: the gradient of a product with
/// respect to one factor.
pub fn grad_mul(g: &[f32], other: &[f32], d: &mut [f32], acc: bool) {
    for ((d, g), o) in d.iter_mut().zip(g).zip(other) {
        *d = if acc { *d + g * o } else { g * o };
    }
}

/// One loss term of an objective written as code: `loss` of the output at columns
/// `offset..offset + width` of `out`, `[batch, out_width]`, against `target`. Adds
/// `coeff` times its gradient into the same columns of `dy`, and returns `coeff` times
/// its value. `scratch` holds the output's columns and their gradient where they are not
/// the whole row.
#[cfg(feature = "alloc")]
#[allow(clippy::too_many_arguments)]
pub fn loss_term<T: ?Sized, L: crate::loss::Loss<T>>(
    loss: &L,
    out: &[f32],
    out_width: usize,
    offset: usize,
    width: usize,
    target: &T,
    coeff: f32,
    dy: &mut [f32],
    scratch: &mut Vec<f32>,
) -> f32 {
    let rows = out.len() / out_width.max(1);
    let n = rows * width;
    // Both halves are written in full before they are read: grown once, never cleared.
    if scratch.len() < 2 * n {
        scratch.resize(2 * n, 0.0);
    }
    let (values, g) = scratch[..2 * n].split_at_mut(n);
    columns(out, out_width, offset, values, width, rows);
    let value = loss.loss(values, width, target, Some(g));
    if coeff != 1.0 {
        for v in g.iter_mut() {
            *v *= coeff;
        }
    }
    place(g, width, dy, out_width, offset, rows, true);
    coeff * value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_place_are_inverse() {
        let src = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut part = [0.0; 2];
        columns(&src, 3, 1, &mut part, 1, 2);
        assert_eq!(part, [2.0, 5.0]);
        let mut back = [0.0; 6];
        place(&part, 1, &mut back, 3, 1, 2, false);
        assert_eq!(back, [0.0, 2.0, 0.0, 0.0, 5.0, 0.0]);
        place(&part, 1, &mut back, 3, 1, 2, true);
        assert_eq!(back, [0.0, 4.0, 0.0, 0.0, 10.0, 0.0]);
    }

    #[test]
    fn a_plan_shares_floats_only_between_values_whose_lives_do_not_meet() {
        // a (0..2) feeds b (1..3) and d (1..4); c is made at 3 from b, and lives to the end.
        let widths = [3, 5, 2, 4];
        let births = [0, 1, 3, 1];
        let deaths = [1, 3, 4, 4];
        let (offsets, len) = plan(widths, births, deaths, [(0, 0), (1, 0), (2, 0), (3, 0)]);
        for i in 0..4 {
            for j in 0..i {
                let alive = births[j] <= deaths[i] && births[i] <= deaths[j];
                let apart =
                    offsets[i] + widths[i] <= offsets[j] || offsets[j] + widths[j] <= offsets[i];
                assert!(!alive || apart, "values {i} and {j} overlap: {offsets:?}");
            }
            assert!(offsets[i] + widths[i] <= len);
        }
        // c takes the floats a left, in front of b and d.
        assert_eq!(offsets, [0, 3, 0, 8]);
        assert_eq!(len, 12);
    }

    #[test]
    fn parts_are_the_value_made_and_the_values_read() {
        let mut arena = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let (made, [a, b]) = parts(&mut arena, (2, 2), [(0, 2), (4, 2)]);
        made.copy_from_slice(&[9.0, 9.0]);
        assert_eq!((a, b), (&[0.0, 1.0][..], &[4.0, 5.0][..]));
        assert_eq!(arena, [0.0, 1.0, 9.0, 9.0, 4.0, 5.0]);
    }

    #[test]
    fn gradients_write_or_add() {
        let mut d = [1.0, 1.0];
        grad(&[2.0, 3.0], &mut d, false);
        assert_eq!(d, [2.0, 3.0]);
        grad_scaled(&[2.0, 3.0], -1.0, &mut d, true);
        assert_eq!(d, [0.0, 0.0]);
        grad_mul(&[2.0, 3.0], &[4.0, 5.0], &mut d, true);
        assert_eq!(d, [8.0, 15.0]);
    }
}
