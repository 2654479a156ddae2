//! The pass of every loss of each element (`elementwise_loss!`): each element's term and
//! gradient in vector registers, the terms summed by blocks in a fixed order
//! ([`tree_sum`]), over the pool's threads when the output is large, with the same bits on
//! any number of threads.

use crate::kernels::lane_sum;
use crate::kernels::parts::{tree_sum, BLOCK};
use crate::kernels::simd::{vectorized, Kernel};

/// A loss of each element: its term and gradient, and which elements it takes.
pub(crate) trait ElementLoss: Sync {
    /// The term of output `o` against target `t`, and its derivative with respect to `o`.
    fn term(&self, o: f32, t: f32) -> (f32, f32);
    /// Whether the loss takes `o` against `t`, without branches (checked a block at a time).
    #[inline(always)]
    fn valid(o: f32, t: f32) -> bool {
        let _ = (o, t);
        true
    }
    /// Panics, saying why, when [`ElementLoss::valid`] refuses `o` against `t`.
    fn refuse(o: f32, t: f32) {
        let _ = (o, t);
    }
}

/// Elements per thread, at least, of a loss split over the pool.
const PART_MIN: usize = 1 << 14;

/// The sum of the terms of `out` against `target`; `grad`, when given, receives each
/// gradient times `scale`, and `each` each term. A block's terms are summed by
/// [`lane_sum`], the blocks by [`tree_sum`].
pub(crate) fn sum_terms<L: ElementLoss>(
    loss: &L,
    out: &[f32],
    target: &[f32],
    scale: f32,
    each: Option<&mut [f32]>,
    grad: Option<&mut [f32]>,
) -> f32 {
    tree_sum((out, target, grad, each), PART_MIN, &|(o, t, g, e)| {
        let mut sum = 0.0;
        vectorized(Terms {
            loss,
            o,
            t,
            g,
            e,
            scale,
            sum: &mut sum,
        });
        sum
    })
}

/// One block of [`sum_terms`].
struct Terms<'a, L> {
    loss: &'a L,
    o: &'a [f32],
    t: &'a [f32],
    g: Option<&'a mut [f32]>,
    e: Option<&'a mut [f32]>,
    scale: f32,
    sum: &'a mut f32,
}

impl<L: ElementLoss> Kernel for Terms<'_, L> {
    #[inline(always)]
    fn run(self) {
        let Terms {
            loss,
            o,
            t,
            g,
            e,
            scale,
            sum,
        } = self;
        let n = o.len();
        let t = &t[..n];
        let mut ok = true;
        for i in 0..n {
            ok &= L::valid(o[i], t[i]);
        }
        if !ok {
            for i in 0..n {
                L::refuse(o[i], t[i]);
            }
        }
        // The terms first, in one loop of one element at a time (which the compiler runs
        // in vector registers), then their sum.
        let mut terms = [0.0f32; BLOCK];
        let terms = &mut terms[..n];
        match g {
            Some(g) => {
                let g = &mut g[..n];
                for i in 0..n {
                    let (l, d) = loss.term(o[i], t[i]);
                    terms[i] = l;
                    g[i] = d * scale;
                }
            }
            None => {
                for i in 0..n {
                    terms[i] = loss.term(o[i], t[i]).0;
                }
            }
        }
        if let Some(e) = e {
            e[..n].copy_from_slice(terms);
        }
        *sum = lane_sum(terms);
    }
}
