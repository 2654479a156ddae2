//! The `threading` feature's batched convolution: the batch in chunks of [`CHUNK`] samples,
//! spread over the pool's threads, each with a stack block of its own.
//!
//! Backward always works chunk by chunk with this feature, in a pool of one thread too:
//! each chunk's parameter gradient is a sum of its own (the first chunk's added straight
//! into the gradient, the others' in a buffer each), and the buffers are added in chunk
//! order, so the result is the same bits whatever the number of threads.

use rayon::prelude::*;

use super::{batched, Conv2d};
use crate::Layer;

/// Samples per chunk.
pub(super) const CHUNK: usize = 16;

/// Whether this thread is in a pool of more than one thread ([`crate::gemm::parallel`]).
/// (The thread index first: outside a pool, the thread count would build rayon's global
/// pool.)
pub(super) fn in_pool() -> bool {
    rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1
}

/// One chunk's backward pass: its inputs, output gradients, input gradients (when wanted)
/// and the gradient sum it adds to.
struct Job<'a> {
    x: &'a [f32],
    dy: &'a [f32],
    dx: Option<&'a mut [f32]>,
    grad: &'a mut [f32],
}

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
    > Conv2d<CIN, COUT, K, S, P, H, W>
{
    /// Batch inference, `y ← conv(x)`, chunk by chunk over the pool's threads.
    pub(super) fn forward_chunks(&self, x: &[f32], y: &mut [f32]) {
        x.par_chunks(CHUNK * Self::IN)
            .zip(y.par_chunks_mut(CHUNK * Self::OUT))
            .for_each(|(x, y)| self.forward_samples(x, y));
    }

    /// The backward pass chunk by chunk, over the pool's threads when in one: adds the
    /// parameter gradients into `grad` and, when `dx` is given, writes the input gradient.
    pub(super) fn backward_chunks(
        &self,
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grad: &mut [f32],
    ) {
        let chunks = (x.len() / Self::IN).div_ceil(CHUNK);
        let params = Self::PARAMS;
        let mut partial = alloc::vec![0.0f32; chunks.saturating_sub(1) * params];
        let dxs: alloc::vec::Vec<Option<&mut [f32]>> = match dx {
            Some(dx) => dx.chunks_mut(CHUNK * Self::IN).map(Some).collect(),
            None => (0..chunks).map(|_| None).collect(),
        };
        let grads = core::iter::once(&mut *grad).chain(partial.chunks_exact_mut(params));
        let jobs: alloc::vec::Vec<Job<'_>> = x
            .chunks(CHUNK * Self::IN)
            .zip(dy.chunks(CHUNK * Self::OUT))
            .zip(dxs.into_iter().zip(grads))
            .map(|((x, dy), (dx, grad))| Job { x, dy, dx, grad })
            .collect();
        let run = |job: Job<'_>| {
            let mut block = [0.0f32; batched::BLOCK];
            self.backward_blocks(job.x, job.dy, job.dx, job.grad, &mut block);
        };
        if in_pool() {
            jobs.into_par_iter().for_each(run);
        } else {
            jobs.into_iter().for_each(run);
        }
        for p in partial.chunks_exact(params) {
            for (g, v) in grad.iter_mut().zip(p) {
                *g += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The chunked passes against the unchunked ones, in a pool of two threads and outside
    //! any pool, on a batch whose last chunk is short, with gradients that already hold a
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

    fn check(in_pool: bool) {
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
            assert_eq!(super::in_pool(), in_pool);
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
        let (y, dx, g, g_alone) = if in_pool {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("a pool of two threads");
            pool.install(run)
        } else {
            run()
        };
        close(&y, &want_y, "output");
        close(&dx, &want_dx, "input gradient");
        close(&g, &want_g, "parameter gradient");
        close(&g_alone, &want_g, "parameter gradient without the input's");
        assert_ne!(g, start, "the gradient was added to");
    }

    #[test]
    fn chunks_in_two_threads_match_one_pass() {
        check(true);
    }

    #[test]
    fn chunks_outside_a_pool_match_one_pass() {
        check(false);
    }
}
