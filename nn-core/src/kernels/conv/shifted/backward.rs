//! The training backward of a [`Grouped`] convolution over a batch: the batch spread into
//! its stride phases as the one-sample forward spreads one input, one patch matrix per group
//! for the weight and input gradients, depthwise layers by 16-lane dots.

use super::*;

/// A block of zeroed floats kept by the thread between calls, so that a training step
/// does not map fresh pages for it each time; given back when dropped.
pub(super) struct Scratch(alloc::vec::Vec<f32>);

std::thread_local! {
    static SCRATCH: core::cell::Cell<alloc::vec::Vec<f32>> =
        const { core::cell::Cell::new(alloc::vec::Vec::new()) };
}

impl Scratch {
    /// `n` floats of the thread's block (an empty one if it is in use further up the stack)
    /// whose values are left as they were (zeros where it grows): for a caller that writes
    /// every float it reads.
    pub(super) fn take_written(n: usize) -> Self {
        let mut v = SCRATCH.take();
        v.resize(n, 0.0);
        Scratch(v)
    }
}

impl core::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl core::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        SCRATCH.set(core::mem::take(&mut self.0));
    }
}

/// `Σ a[k]·b[k]` over 16 lanes, so that it vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (ca, ta) = a.as_chunks::<16>();
    let (cb, tb) = b[..a.len()].as_chunks::<16>();
    let mut acc = [0.0f32; 16];
    for (a, b) in ca.iter().zip(cb) {
        for i in 0..16 {
            acc[i] += a[i] * b[i];
        }
    }
    acc.iter().sum::<f32>() + ta.iter().zip(tb).map(|(a, b)| a * b).sum::<f32>()
}

/// `y[k] += a · x[k]`.
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

impl Grouped {
    /// Where input position `(rr, cc)` lies in a spread channel: its phase and its index in
    /// that phase, or `None` where no output reads it.
    #[inline(always)]
    fn spread_at(&self, l: &Layout, rr: usize, cc: usize) -> Option<(usize, usize)> {
        let (r, c) = (rr + self.pt, cc + self.pl);
        if r >= l.hq * self.sh || c >= l.wq * self.sw {
            return None;
        }
        let phase = (r % self.sh) * self.sw + c % self.sw;
        Some((phase, (r / self.sh) * l.wq + c / self.sw))
    }

    /// The backward pass of the samples of `x` (and `dy`) through matrix products over the
    /// spread batch: adds the weight gradient into `gw` and the bias gradient into `gb`
    /// (when not empty), and writes the input gradient into `dx` when given.
    ///
    /// The batch is spread as `[channel][phase][sample][hq × wq]`, and the output gradient
    /// as `[channel][sample][hq × wq]` on the wide grid (zeros in its columns from `ow` on
    /// and its rows from `oh` on). A tap `(ki, kj)` reads one phase, so what it reads of a
    /// channel, for the whole batch, is one run of the spread batch at one shift: the rows
    /// of a group's patch matrix are these runs, and the weight gradient (`dY · Pᵀ`) and the
    /// patch matrix's gradient (`Wᵀ · dY`, added back run by run) are one product each. A
    /// depthwise layer (one channel per group) takes dot products and `axpy` runs instead.
    ///
    /// The batch goes through in blocks of [`Grouped::backward_block`] samples, so that a
    /// block's spread input, patch matrix and their gradients stay in the core's cache.
    #[inline(always)]
    pub fn backward_shifted(
        &self,
        weight: &[f32],
        x: &[f32],
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
    ) {
        let (in_size, out_size) = (self.cin * self.h * self.w, self.cout * self.oh * self.ow);
        let batch = x.len() / in_size;
        let block = self.backward_block();
        let mut s0 = 0;
        while s0 < batch {
            let n = block.min(batch - s0);
            let x = &x[s0 * in_size..][..n * in_size];
            let dy = &dy[s0 * out_size..][..n * out_size];
            let dx = dx
                .as_deref_mut()
                .map(|d| &mut d[s0 * in_size..][..n * in_size]);
            self.backward_shifted_block(weight, x, dy, dx, gw, gb);
            s0 += n;
        }
    }

    /// Samples per block of [`Grouped::backward_shifted`]: as many as keep a block's buffers
    /// (spread input and its gradient, output gradient, patch matrix and its gradient)
    /// within `BLOCK_FLOATS`, and at least one.
    pub fn backward_block(&self) -> usize {
        /// Floats of one block's buffers: 384 KB, within a core's second-level cache.
        const BLOCK_FLOATS: usize = 96 * 1024;
        let l = self.layout();
        let plane = l.hq * l.wq;
        let (cing, coutg) = (self.cin / self.groups, self.cout / self.groups);
        let taps = if cing == 1 && coutg == 1 {
            0
        } else {
            cing * self.kh * self.kw
        };
        let per_sample = (2 * self.cin * self.sh * self.sw + self.cout + 2 * taps) * plane;
        (BLOCK_FLOATS / per_sample.max(1)).max(1)
    }

    /// [`Grouped::backward_shifted`] on all the samples of `x` at once.
    #[inline(always)]
    fn backward_shifted_block(
        &self,
        weight: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
    ) {
        use crate::gemm::{gemm, MatMut, MatRef};

        let l = self.layout();
        let (in_size, out_plane) = (self.cin * self.h * self.w, self.oh * self.ow);
        let out_size = self.cout * out_plane;
        let batch = x.len() / in_size;
        let (cing, coutg) = (self.cin / self.groups, self.cout / self.groups);
        let kk = self.kh * self.kw;
        for dy in dy.chunks_exact(out_size).take(batch) {
            for (g, plane) in gb.iter_mut().zip(dy.chunks_exact(out_plane)) {
                *g += crate::kernels::lane_sum(plane);
            }
        }
        let plane = l.hq * l.wq;
        let phases = self.sh * self.sw;
        let cols = batch * plane;
        let cs = phases * cols;
        // Reads of a tap's view beyond the last plane (unused positions) stay inside.
        let tail = plane + l.slack;
        // Every buffer from one scratch block: the spread batch, the output gradient and the
        // spread input gradient zeroed; a group's patch matrix and its gradient, which are
        // written whole before they are read, left as they were.
        let depthwise = cing == 1 && coutg == 1;
        let (n_dx, n_p) = (
            if dx.is_some() {
                self.cin * cs + tail
            } else {
                0
            },
            if depthwise { 0 } else { cing * kk * cols },
        );
        let n_dp = if dx.is_some() { n_p } else { 0 };
        let n_x = self.cin * cs + tail;
        let n_dy = self.cout * cols + tail;
        let mut scratch = Scratch::take_written(n_x + n_dy + n_dx + n_p + n_dp);
        scratch[..n_x + n_dy + n_dx].fill(0.0);
        let (xs, rest) = scratch.split_at_mut(n_x);
        let (dys, rest) = rest.split_at_mut(n_dy);
        let (dxs, rest) = rest.split_at_mut(n_dx);
        let (patches, dpatches) = rest.split_at_mut(n_p);
        let mut dxs = dx.is_some().then_some(dxs);
        let mut dpatches = dx.is_some().then_some(dpatches);
        for (s, x) in x.chunks_exact(in_size).take(batch).enumerate() {
            for (c, x) in x.chunks_exact(self.h * self.w).enumerate() {
                for (rr, row) in x.chunks_exact(self.w).enumerate() {
                    for (cc, &v) in row.iter().enumerate() {
                        if let Some((ph, at)) = self.spread_at(&l, rr, cc) {
                            xs[c * cs + ph * cols + s * plane + at] = v;
                        }
                    }
                }
            }
        }
        for (s, dy) in dy.chunks_exact(out_size).take(batch).enumerate() {
            for (o, dy) in dy.chunks_exact(out_plane).enumerate() {
                for (i, row) in dy.chunks_exact(self.ow).enumerate() {
                    dys[o * cols + s * plane + i * l.wq..][..self.ow].copy_from_slice(row);
                }
            }
        }
        // Where tap `(ki, kj)` reads a spread channel.
        let tap_at = |tap: usize| {
            let (r, c) = ((tap / self.kw) * self.dh, (tap % self.kw) * self.dw);
            let phase = (r % self.sh) * self.sw + c % self.sw;
            phase * cols + (r / self.sh) * l.wq + c / self.sw
        };
        if depthwise {
            // Depthwise: each weight sees one channel at one shift.
            for g in 0..self.groups {
                let d = &dys[g * cols..][..cols];
                for tap in 0..kk {
                    let x0 = g * cs + tap_at(tap);
                    gw[g * kk + tap] += dot(d, &xs[x0..]);
                    if let Some(dxs) = dxs.as_mut() {
                        axpy(weight[g * kk + tap], d, &mut dxs[x0..][..cols]);
                    }
                }
            }
        } else {
            // The patch matrix of a group, one row per weight of an output channel (input
            // channel, tap), one column per position of the spread batch: the weight
            // gradient is one product with it, and the input gradient one product added
            // back row by row.
            let taps = cing * kk;
            for g in 0..self.groups {
                for (row, p) in patches.chunks_exact_mut(cols).enumerate() {
                    let x0 = (g * cing + row / kk) * cs + tap_at(row % kk);
                    p.copy_from_slice(&xs[x0..][..cols]);
                }
                let dyv = MatRef::row_major(&dys[g * coutg * cols..][..coutg * cols], coutg, cols);
                let w = &weight[g * coutg * taps..][..coutg * taps];
                let gwv =
                    MatMut::row_major(&mut gw[g * coutg * taps..][..coutg * taps], coutg, taps);
                gemm(
                    1.0,
                    dyv,
                    MatRef::row_major(patches, taps, cols).t(),
                    1.0,
                    gwv,
                );
                let (Some(dxs), Some(dp)) = (dxs.as_mut(), dpatches.as_mut()) else {
                    continue;
                };
                let wv = MatRef::row_major(w, coutg, taps);
                gemm(1.0, wv.t(), dyv, 0.0, MatMut::row_major(dp, taps, cols));
                for (row, p) in dp.chunks_exact(cols).enumerate() {
                    let x0 = (g * cing + row / kk) * cs + tap_at(row % kk);
                    for (d, p) in dxs[x0..][..cols].iter_mut().zip(p) {
                        *d += p;
                    }
                }
            }
        }
        let (Some(dx), Some(dxs)) = (dx, dxs) else {
            return;
        };
        for (s, dx) in dx.chunks_exact_mut(in_size).take(batch).enumerate() {
            for (c, dx) in dx.chunks_exact_mut(self.h * self.w).enumerate() {
                for (rr, row) in dx.chunks_exact_mut(self.w).enumerate() {
                    for (cc, v) in row.iter_mut().enumerate() {
                        *v = match self.spread_at(&l, rr, cc) {
                            Some((ph, at)) => dxs[c * cs + ph * cols + s * plane + at],
                            None => 0.0,
                        };
                    }
                }
            }
        }
    }
}
