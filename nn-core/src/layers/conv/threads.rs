//! The batch in chunks of [`CHUNK`] samples, each with a stack block of its own: spread over
//! the pool's threads with the `threading` feature, one after the other without it.
//!
//! Backward always works chunk by chunk, in every build and in a pool of one thread too:
//! each chunk's parameter gradient is a sum of its own (the first chunk's added straight
//! into the gradient, the others' in a buffer each), and the buffers are added in chunk
//! order, so the result is the same bits with the feature or without, whatever the number
//! of threads. (A single pass over the batch would group the sums otherwise, and round
//! differently, as the threaded build did when only it chunked.)

#[cfg(feature = "threading")]
use rayon::prelude::*;

use super::{batched, Conv2d};
use crate::Layer;

/// One chunk's backward pass: its inputs and output gradients, its input gradients (when
/// wanted) and the gradient sum it adds to.
#[cfg(feature = "threading")]
type ChunkJob<'a> = (
    (&'a [f32], &'a [f32]),
    (Option<&'a mut [f32]>, &'a mut [f32]),
);

/// Samples per chunk.
pub(super) const CHUNK: usize = 16;

/// Whether this thread is in a pool of more than one thread ([`crate::gemm::parallel`]).
/// (The thread index first: outside a pool, the thread count would build rayon's global
/// pool.)
#[cfg(feature = "threading")]
pub(super) fn in_pool() -> bool {
    rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1
}

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Conv2d<CIN, COUT, K, S, P, H, W, BIAS>
{
    /// Batch inference, `y ← conv(x)`, chunk by chunk over the pool's threads.
    #[cfg(feature = "threading")]
    pub(super) fn forward_chunks(&self, x: &[f32], y: &mut [f32]) {
        x.par_chunks(CHUNK * Self::IN)
            .zip(y.par_chunks_mut(CHUNK * Self::OUT))
            .for_each(|(x, y)| self.forward_samples(x, y));
    }

    /// The backward pass chunk by chunk, over the pool's threads when in one: adds the
    /// parameter gradients into `grad` and, when `dx` is given, writes the input gradient.
    /// Each chunk after the first sums its parameter gradient in a buffer of its own, in
    /// `scratch` (the layer's cache, sized for them by `cache_len`), or in a vector when
    /// `scratch` is shorter (a caller that gave no cache).
    #[cfg(feature = "threading")]
    pub(super) fn backward_chunks(
        &self,
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grad: &mut [f32],
        scratch: &mut [f32],
    ) {
        let chunks = (x.len() / Self::IN).div_ceil(CHUNK);
        let params = Self::PARAMS;
        let mut own = alloc::vec::Vec::new();
        let len = chunks.saturating_sub(1) * params;
        let partial = match scratch.get_mut(..len) {
            Some(s) => s,
            None => {
                own.resize(len, 0.0);
                &mut own[..]
            }
        };
        partial.fill(0.0);
        let run = |((x, dy), (dx, grad)): ChunkJob<'_>| {
            let mut block = [0.0f32; batched::BLOCK];
            self.backward_blocks(x, dy, dx, grad, &mut block);
        };
        let (xs, dys) = (CHUNK * Self::IN, CHUNK * Self::OUT);
        if in_pool() {
            let grads = rayon::iter::once(&mut *grad).chain(partial.par_chunks_exact_mut(params));
            let inputs = x.par_chunks(xs).zip(dy.par_chunks(dys));
            match dx {
                Some(dx) => inputs
                    .zip(dx.par_chunks_mut(xs).map(Some).zip(grads))
                    .for_each(run),
                None => inputs
                    .zip((0..chunks).into_par_iter().map(|_| None).zip(grads))
                    .for_each(run),
            }
        } else {
            let grads = core::iter::once(&mut *grad).chain(partial.chunks_exact_mut(params));
            let inputs = x.chunks(xs).zip(dy.chunks(dys));
            match dx {
                Some(dx) => inputs
                    .zip(dx.chunks_mut(xs).map(Some).zip(grads))
                    .for_each(run),
                None => inputs
                    .zip(core::iter::repeat_with(|| None).zip(grads))
                    .for_each(run),
            }
        }
        for p in partial.chunks_exact(params) {
            for (g, v) in grad.iter_mut().zip(p) {
                *g += v;
            }
        }
    }

    /// The backward pass chunk by chunk on this thread, with the same sums as the threaded
    /// one: the first chunk's gradient added straight into `grad`, each other one summed
    /// from zero in one buffer, then added, in chunk order. The buffer is the first
    /// `PARAMS` floats of `scratch` (the layer's cache, sized for it by `cache_len`), or a
    /// vector of its own when `scratch` is shorter (a caller that gave no cache).
    #[cfg(not(feature = "threading"))]
    pub(super) fn backward_chunks(
        &self,
        x: &[f32],
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        grad: &mut [f32],
        scratch: &mut [f32],
    ) {
        let params = Self::PARAMS;
        let mut own = alloc::vec::Vec::new();
        let partial = match scratch.get_mut(..params) {
            Some(s) => s,
            None => {
                own.resize(params, 0.0);
                &mut own[..]
            }
        };
        let mut block = [0.0f32; batched::BLOCK];
        let chunks = x.chunks(CHUNK * Self::IN).zip(dy.chunks(CHUNK * Self::OUT));
        for (i, (x, dy)) in chunks.enumerate() {
            let dx = dx
                .as_deref_mut()
                .map(|dx| &mut dx[i * CHUNK * Self::IN..][..x.len()]);
            if i == 0 {
                self.backward_blocks(x, dy, dx, grad, &mut block);
                continue;
            }
            partial.fill(0.0);
            self.backward_blocks(x, dy, dx, partial, &mut block);
            for (g, v) in grad.iter_mut().zip(partial.iter()) {
                *g += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The chunked passes against the unchunked ones, in pools of two, three and four threads
    //! and outside any pool, on a batch whose last chunk is short, with gradients that already hold a
    //! sum (they must be added to, not overwritten).

    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::{Backward, Rng, Zeroable};

    type C = Conv2d<3, 5, 3, 1, 1, 9, 8>;

    fn close(got: &[f32], want: &[f32], what: &str) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            // The same sums grouped by chunk: a few roundings of values of order 10.
            assert!(
                (g - w).abs() <= 1e-4,
                "{what}: element {i}: {g} against {w}"
            );
        }
    }

    fn check(threads: usize) {
        let batch = 2 * CHUNK + 5;
        let mut rng = Rng::seed(11);
        let mut conv = C::zeroed();
        conv.init(&mut rng);
        let x: Vec<f32> = (0..batch * C::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let dy: Vec<f32> = (0..batch * C::OUT)
            .map(|_| rng.uniform(-1.0, 1.0))
            .collect();
        let start: Vec<f32> = (0..C::PARAMS).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut block = vec![0.0f32; batched::BLOCK];

        let mut want_y = vec![f32::NAN; batch * C::OUT];
        conv.forward_blocks(&x, &mut want_y, batch, &mut block);
        let mut want_dx = vec![f32::NAN; batch * C::IN];
        let mut want_g = start.clone();
        conv.backward_blocks(&x, &dy, Some(&mut want_dx), &mut want_g, &mut block);

        let run = || {
            #[cfg(feature = "threading")]
            assert_eq!(super::in_pool(), threads > 1);
            let mut y = vec![f32::NAN; batch * C::OUT];
            conv.forward_batch(&x, &mut y, batch, &mut []);
            let mut dx = vec![f32::NAN; batch * C::IN];
            let mut g = start.clone();
            let io = |dy| Backward {
                x: &x,
                y: &y,
                dy,
                batch,
                cache: &mut [],
            };
            conv.backward(io(&dy), Some(&mut dx), &mut g);
            let mut g_alone = start.clone();
            conv.backward(io(&dy), None, &mut g_alone);
            (y, dx, g, g_alone)
        };
        let (y, dx, g, g_alone) = in_pool_of(threads, run);
        close(&y, &want_y, "output");
        close(&dx, &want_dx, "input gradient");
        close(&g, &want_g, "parameter gradient");
        close(&g_alone, &want_g, "parameter gradient without the input's");
        assert_ne!(g, start, "the gradient was added to");
    }

    /// `f` in a pool of `threads` threads when more than one (the `threading` feature), else
    /// on this thread.
    fn in_pool_of<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        #[cfg(feature = "threading")]
        if threads > 1 {
            return rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool")
                .install(f);
        }
        assert!(
            threads < 2,
            "a pool of threads needs the `threading` feature"
        );
        f()
    }

    /// The parameter gradient of a batch of more than one chunk is, bit for bit, the chunks'
    /// sums added in order (the first chunk's straight into the gradient): in the default
    /// build, and in the `threading` build outside a pool and in pools of two, three and four
    /// threads. The default build and the threaded one therefore train to the same bits.
    fn exact(threads: usize) {
        let batch = 3 * CHUNK + 7;
        let mut rng = Rng::seed(12);
        let mut conv = C::zeroed();
        conv.init(&mut rng);
        let x: Vec<f32> = (0..batch * C::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let dy: Vec<f32> = (0..batch * C::OUT)
            .map(|_| rng.uniform(-1.0, 1.0))
            .collect();
        let start: Vec<f32> = (0..C::PARAMS).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut block = vec![0.0f32; batched::BLOCK];
        let mut want = start.clone();
        let mut want_dx = vec![f32::NAN; batch * C::IN];
        let chunks = x
            .chunks(CHUNK * C::IN)
            .zip(dy.chunks(CHUNK * C::OUT))
            .zip(want_dx.chunks_mut(CHUNK * C::IN));
        let mut partials = Vec::new();
        for (i, ((x, dy), dx)) in chunks.enumerate() {
            if i == 0 {
                conv.backward_blocks(x, dy, Some(dx), &mut want, &mut block);
            } else {
                let mut p = vec![0.0f32; C::PARAMS];
                conv.backward_blocks(x, dy, Some(dx), &mut p, &mut block);
                partials.push(p);
            }
        }
        for p in &partials {
            for (g, v) in want.iter_mut().zip(p) {
                *g += v;
            }
        }
        let (g, dx) = in_pool_of(threads, || {
            let y = vec![0.0f32; batch * C::OUT];
            let mut g = start.clone();
            let mut dx = vec![f32::NAN; batch * C::IN];
            let io = Backward {
                x: &x,
                y: &y,
                dy: &dy,
                batch,
                cache: &mut [],
            };
            conv.backward(io, Some(&mut dx), &mut g);
            (g, dx)
        });
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&g), bits(&want), "parameter gradient");
        assert_eq!(bits(&dx), bits(&want_dx), "input gradient");
    }

    #[test]
    fn backward_sums_chunks_in_order_on_this_thread() {
        exact(1);
    }

    #[cfg(feature = "threading")]
    #[test]
    fn backward_sums_chunks_in_order_in_two_three_and_four_threads() {
        for threads in [2, 3, 4] {
            exact(threads);
        }
    }

    #[cfg(feature = "threading")]
    #[test]
    fn chunks_in_two_three_and_four_threads_match_one_pass() {
        for threads in [2, 3, 4] {
            check(threads);
        }
    }

    #[test]
    fn chunks_outside_a_pool_match_one_pass() {
        check(1);
    }
}
