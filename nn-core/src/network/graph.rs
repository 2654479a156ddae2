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
    scratch.clear();
    scratch.resize(2 * n, 0.0);
    let (values, g) = scratch.split_at_mut(n);
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
