//! Depthwise layers over a batch, channel by channel: the tiles of the one-sample forward
//! with one row per sample (each row reading its own sample's spread channel, all with the
//! channel's kernel), so a channel's data for the whole batch stays in cache while its
//! weight gradient (the tiles of `gradients.rs`, one channel by its taps) and its input
//! gradient (the forward pass of the adjoint geometry, the kernel turned by half a turn)
//! are taken.

use super::backward::Scratch;
use super::gradients::{GradTile, TILE_MAX};
use super::*;

impl Grouped {
    /// Channel `c` of every sample of `x` through the depthwise geometry `self` with the
    /// channel's kernel `w` (`KH·KW` floats) and bias `b`: written into channel `c` of the
    /// samples of `y`. `offs` holds the taps' offsets in a spread channel of layout `l`;
    /// `buf` takes `ROWS` spread channels and the slack, `out` `ROWS` wide grids of whole
    /// tiles.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn depthwise_channel(
        &self,
        isa: Isa,
        l: &Layout,
        offs: &[usize],
        (w, b): (&[f32], f32),
        c: usize,
        (x, y): (&[f32], &mut [f32]),
        buf: &mut [f32],
        out: &mut [f32],
    ) {
        let (in_size, out_plane) = (self.cin * self.h * self.w, self.oh * self.ow);
        let out_size = self.cout * out_plane;
        let wide = l.wide.next_multiple_of(LANES);
        let taps = Taps::new(offs).shifted(l.channel);
        let mut acc = [[0.0f32; LANES]; ROWS];
        let samples = x.len() / in_size;
        let mut s0 = 0;
        while s0 < samples {
            let rows = ROWS.min(samples - s0);
            // In order of samples: each spread zeros the slack after it, the next one's start.
            for r in 0..rows {
                let x = &x[(s0 + r) * in_size..][..in_size];
                self.spread(l, x, c, 1, &mut buf[r * l.channel..]);
            }
            for q0 in (0..l.wide).step_by(LANES) {
                tile(isa, rows, &buf[q0..], taps, w, 0, &mut acc);
                for (r, acc) in acc[..rows].iter().enumerate() {
                    out[r * wide + q0..][..LANES].copy_from_slice(acc);
                }
            }
            // The wide grid's first `ow` columns are the outputs.
            for r in 0..rows {
                let y = &mut y[(s0 + r) * out_size + c * out_plane..][..out_plane];
                let sums = out[r * wide..][..l.wide].chunks_exact(l.wq);
                for (y, sum) in y.chunks_exact_mut(self.ow).zip(sums) {
                    for (y, s) in y.iter_mut().zip(sum) {
                        *y = b + s;
                    }
                }
            }
            s0 += rows;
        }
    }

    /// The offsets of the kernel's taps in a spread channel of layout `l`, into `offs`.
    #[inline(always)]
    fn depthwise_offsets<'a>(&self, l: &Layout, offs: &'a mut [usize; MAX_TAPS]) -> &'a [usize] {
        let kk = self.kh * self.kw;
        for (t, off) in offs[..kk].iter_mut().enumerate() {
            *off = self.tap_offset(l, t / self.kw, t % self.kw);
        }
        &offs[..kk]
    }

    /// `y ← conv(x) + bias` for the samples of `x` through a depthwise layer, channel by
    /// channel. Returns `false`, having written nothing, unless this geometry is depthwise
    /// and one pass sums its kernel's taps.
    #[inline(always)]
    pub fn forward_depthwise(
        &self,
        weight: &[f32],
        bias: &[f32],
        x: &[f32],
        y: &mut [f32],
    ) -> bool {
        self.forward_depthwise_on(Isa::detect(), weight, bias, x, y)
    }

    /// [`Grouped::forward_depthwise`] on the instruction set `isa`.
    #[inline(always)]
    pub(super) fn forward_depthwise_on(
        &self,
        isa: Isa,
        weight: &[f32],
        bias: &[f32],
        x: &[f32],
        y: &mut [f32],
    ) -> bool {
        let kk = self.kh * self.kw;
        if !self.is_depthwise() || kk > MAX_TAPS {
            return false;
        }
        let l = self.layout();
        let n_buf = ROWS * l.channel + l.slack;
        // Every float read is written first: the block's old values are left in place.
        let mut scratch = Scratch::take_written(n_buf + ROWS * l.wide.next_multiple_of(LANES));
        let (buf, out) = scratch.split_at_mut(n_buf);
        let mut offs = [0usize; MAX_TAPS];
        let offs = self.depthwise_offsets(&l, &mut offs);
        for c in 0..self.cout {
            let w = &weight[c * kk..][..kk];
            self.depthwise_channel(isa, &l, offs, (w, bias[c]), c, (x, &mut *y), buf, out);
        }
        true
    }

    /// The backward pass of a stride-1 depthwise layer whose input gradient is the forward
    /// pass of `adjoint`, channel by channel: adds the weight gradient into `gw` and the bias
    /// gradient into `gb` (when not empty), and writes the input gradient into `dx` when
    /// given.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward_depthwise(
        &self,
        isa: Isa,
        adjoint: &Grouped,
        weight: &[f32],
        x: &[f32],
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
    ) -> bool {
        let kk = self.kh * self.kw;
        let (in_size, out_plane) = (self.cin * self.h * self.w, self.oh * self.ow);
        let out_size = self.cout * out_plane;
        let batch = x.len() / in_size;
        for dy in dy.chunks_exact(out_size).take(batch) {
            for (g, plane) in gb.iter_mut().zip(dy.chunks_exact(out_plane)) {
                *g += crate::kernels::lane_sum(plane);
            }
        }
        let (l, la) = (self.layout(), adjoint.layout());
        let wide = l.wide.next_multiple_of(LANES);
        // One channel of the spread batch and of the output gradient on the wide grid (zeros
        // in its columns from `ow` on), and the adjoint's buffers for the input gradient.
        let (n_x, n_d) = (batch * l.channel + l.slack, batch * wide);
        let (n_buf, n_out) = match dx {
            Some(_) => (
                ROWS * la.channel + la.slack,
                ROWS * la.wide.next_multiple_of(LANES),
            ),
            None => (0, 0),
        };
        // Every float read is written first: the block's old values are left in place.
        let mut scratch = Scratch::take_written(n_x + n_d + n_buf + n_out);
        let (xs, rest) = scratch.split_at_mut(n_x);
        let (ds, rest) = rest.split_at_mut(n_d);
        let (buf, out) = rest.split_at_mut(n_buf);
        let mut offs = [0usize; MAX_TAPS];
        let offs = self.depthwise_offsets(&l, &mut offs);
        let mut adjoint_offs = [0usize; MAX_TAPS];
        let adjoint_offs = adjoint.depthwise_offsets(&la, &mut adjoint_offs);
        let mut sums = [[0.0f32; TILE_MAX]; TILE_MAX];
        let mut turned = [0.0f32; MAX_TAPS];
        for c in 0..self.cout {
            for (s, x) in x.chunks_exact(in_size).take(batch).enumerate() {
                self.spread(&l, x, c, 1, &mut xs[s * l.channel..]);
            }
            for (s, dy) in dy.chunks_exact(out_size).take(batch).enumerate() {
                let dy = &dy[c * out_plane..][..out_plane];
                let (rows, tail) = ds[s * wide..][..wide].split_at_mut(l.wide);
                for (run, row) in rows.chunks_exact_mut(l.wq).zip(dy.chunks_exact(self.ow)) {
                    run[..self.ow].copy_from_slice(row);
                    run[self.ow..].fill(0.0);
                }
                tail.fill(0.0);
            }
            for t0 in (0..kk).step_by(TILE_MAX) {
                let taps = TILE_MAX.min(kk - t0);
                // Weights past the real ones repeat the last, and are not written.
                GradTile {
                    d: ds,
                    rows: [0; TILE_MAX],
                    x: xs,
                    offs: core::array::from_fn(|t| offs[t0 + t.min(taps - 1)]),
                    samples: batch,
                    d_step: wide,
                    x_step: l.channel,
                    vectors: wide / LANES,
                }
                .run_depthwise(isa, taps, &mut sums);
                for (g, v) in gw[c * kk + t0..][..taps].iter_mut().zip(&sums[0]) {
                    *g += v;
                }
            }
            let Some(dx) = dx.as_deref_mut() else {
                continue;
            };
            for (t, &w) in turned[..kk].iter_mut().rev().zip(&weight[c * kk..][..kk]) {
                *t = w;
            }
            let kernel = (&turned[..kk], 0.0);
            adjoint.depthwise_channel(isa, &la, adjoint_offs, kernel, c, (dy, &mut *dx), buf, out);
        }
        true
    }
}
