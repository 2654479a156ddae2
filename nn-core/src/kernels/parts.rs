//! Elementwise passes split over the pool of the `threading` feature: the optimizers'
//! updates, the losses, the activations. A pass over slices side by side ([`Split`]) is cut
//! into contiguous parts, one per thread, each element computed as on one thread, so the
//! bits do not depend on the number of threads.
//!
//! A pass that also sums ([`tree_sum`]) groups its sum by fixed blocks of [`BLOCK`]
//! elements, added pairwise over a tree that depends on the length alone: threads take
//! whole subtrees, so that the sum too has the same bits on one thread or many, and
//! without the feature.

// Without `alloc`, only BatchNorm's backward (no pool, one part) uses this file.
#![cfg_attr(not(feature = "alloc"), allow(dead_code))]

/// Whether this thread is in a pool of more than one thread ([`crate::gemm::parallel`]).
/// (The thread index first: outside a pool, the thread count would build rayon's global
/// pool.)
#[cfg(feature = "threading")]
fn in_pool() -> bool {
    rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1
}

/// Elements per block of a summed pass ([`tree_sum`]): a multiple of 16, so that a block's
/// lanes line up with the vector registers.
pub(crate) const BLOCK: usize = 4096;

/// Slices side by side, all of one length, that a pass may cut in two at any element.
pub(crate) trait Split: Sized + Send {
    /// The elements of each.
    fn len(&self) -> usize;
    /// Elements `..mid` and `mid..` of each.
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl<T: Sync> Split for &[T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at(self, mid)
    }
}

impl<T: Send> Split for &mut [T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at_mut(self, mid)
    }
}

/// Indices (the columns of a part, for a pass that sums down columns).
impl Split for core::ops::Range<usize> {
    fn len(&self) -> usize {
        self.end - self.start
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let mid = self.start + mid;
        (self.start..mid, mid..self.end)
    }
}

/// A slice that may be absent (a gradient not asked for): absent on both sides.
impl<S: Split> Split for Option<S> {
    fn len(&self) -> usize {
        self.as_ref().map_or(usize::MAX, S::len)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        match self {
            Some(s) => {
                let (a, b) = s.split_at(mid);
                (Some(a), Some(b))
            }
            None => (None, None),
        }
    }
}

macro_rules! split_tuple {
    ($first:ident $($rest:ident)*) => {
        impl<$first: Split, $($rest: Split),*> Split for ($first, $($rest),*) {
            /// The first slice's length (put an [`Option`] elsewhere than first).
            fn len(&self) -> usize {
                self.0.len()
            }
            #[allow(non_snake_case)]
            fn split_at(self, mid: usize) -> (Self, Self) {
                let ($first, $($rest),*) = self;
                let $first = $first.split_at(mid);
                $(let $rest = $rest.split_at(mid);)*
                (($first.0, $($rest.0),*), ($first.1, $($rest.1),*))
            }
        }
    };
}
split_tuple!(A B);
split_tuple!(A B C);
split_tuple!(A B C D);
split_tuple!(A B C D E);

/// How many parts a pass over `len` elements takes: one outside a pool of several threads
/// (and without the feature), else as many as threads, each of at least `min` elements.
#[inline]
pub(crate) fn parts(len: usize, min: usize) -> usize {
    #[cfg(feature = "threading")]
    if in_pool() {
        return rayon::current_num_threads().min(len / min.max(1)).max(1);
    }
    let _ = (len, min);
    1
}

/// Runs `f` on `s` in [`parts`]`(len, min)` contiguous parts, over the pool's threads when
/// there are several. The parts' lengths are multiples of `align` (but the last).
pub(crate) fn for_parts<S: Split>(s: S, min: usize, align: usize, f: &(impl Fn(S) + Sync)) {
    let n = parts(s.len(), min);
    run(s, n, align, f);
}

/// Runs `f` on `s` in `n` contiguous parts (from [`parts`] of the work they stand for),
/// over the pool's threads when `n` is more than one.
pub(crate) fn for_n_parts<S: Split>(s: S, n: usize, align: usize, f: &(impl Fn(S) + Sync)) {
    run(s, n, align, f);
}

fn run<S: Split>(s: S, n: usize, align: usize, f: &(impl Fn(S) + Sync)) {
    if n < 2 {
        return f(s);
    }
    let mid = (s.len() * (n / 2) / n) / align * align;
    let (a, b) = s.split_at(mid);
    #[cfg(feature = "threading")]
    rayon::join(|| run(a, n / 2, align, f), || run(b, n - n / 2, align, f));
    #[cfg(not(feature = "threading"))]
    {
        run(a, n / 2, align, f);
        run(b, n - n / 2, align, f);
    }
}

/// `leaf` on every block of [`BLOCK`] elements of `s` (the last one shorter), and the sum
/// of what it returns, added pairwise over a tree of blocks fixed by the length: the left
/// subtree holds the first half of the blocks, rounded down. Subtrees go to the pool's
/// threads when `s` has at least `min` elements per thread; the sum is the same bits
/// either way.
pub(crate) fn tree_sum<S: Split>(s: S, min: usize, leaf: &(impl Fn(S) -> f32 + Sync)) -> f32 {
    tree_sum_by(s, BLOCK, min, leaf)
}

/// [`tree_sum`] over blocks of `block` elements (rows, for a [`Rows`] split): `leaf` on each
/// block, the blocks added pairwise over a tree fixed by the length and `block`.
pub(crate) fn tree_sum_by<S: Split>(
    s: S,
    block: usize,
    min: usize,
    leaf: &(impl Fn(S) -> f32 + Sync),
) -> f32 {
    let n = parts(s.len(), min);
    tree(s, block.max(1), n, leaf)
}

fn tree<S: Split>(s: S, block: usize, n: usize, leaf: &(impl Fn(S) -> f32 + Sync)) -> f32 {
    let blocks = s.len().div_ceil(block);
    if blocks <= 1 {
        return leaf(s);
    }
    let (a, b) = s.split_at(blocks / 2 * block);
    if n < 2 {
        return tree(a, block, 1, leaf) + tree(b, block, 1, leaf);
    }
    #[cfg(feature = "threading")]
    {
        let (x, y) = rayon::join(
            || tree(a, block, n / 2, leaf),
            || tree(b, block, n - n / 2, leaf),
        );
        x + y
    }
    #[cfg(not(feature = "threading"))]
    {
        tree(a, block, 1, leaf) + tree(b, block, 1, leaf)
    }
}

/// A slice (or any [`Split`]) of rows `width` elements long, cut only between rows: its
/// length is its rows.
pub(crate) struct Rows<S>(pub(crate) S, pub(crate) usize);

impl<S: Split> Split for Rows<S> {
    fn len(&self) -> usize {
        self.0.len() / self.1.max(1)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a, b) = self.0.split_at(mid * self.1);
        (Rows(a, self.1), Rows(b, self.1))
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn parts_cover_every_element_once_aligned() {
        let mut v: Vec<u32> = alloc::vec![0; 1000];
        let idx: Vec<u32> = (0..1000).collect();
        for_parts((&mut v[..], &idx[..]), 1, 16, &|(v, i): (
            &mut [u32],
            &[u32],
        )| {
            for (v, i) in v.iter_mut().zip(i) {
                *v += i + 1;
            }
        });
        assert!(v.iter().zip(0..).all(|(v, i)| *v == i + 1));
    }

    #[test]
    fn a_tree_sum_adds_the_blocks_pairwise() {
        let v: Vec<f32> = (0..3 * BLOCK + 5).map(|i| i as f32).collect();
        let block = |s: &[f32]| s.iter().sum::<f32>();
        let got = tree_sum(&v[..], 1, &block);
        let b: Vec<f32> = v.chunks(BLOCK).map(block).collect();
        // Four blocks: (b0 + b1) + (b2 + b3).
        assert_eq!(got.to_bits(), ((b[0] + b[1]) + (b[2] + b[3])).to_bits());
    }
}
