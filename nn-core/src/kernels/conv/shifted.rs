//! One-sample convolutions as sums of products over shifted views, with no heap: any
//! geometry of [`Grouped`] (groups and depthwise layers, rectangular kernels, strides, padding
//! that differs per side, dilation).
//!
//! The input of a few channels is copied into a stack buffer padded with its zeros and split
//! into its stride phases (the rows `r ≡ a mod sh` and columns `c ≡ b mod sw` of the padded
//! image form phase `(a, b)`), each phase `hq × wq`. On that layout an output position
//! `q = i·wq + j` of the *wide* output grid (`oh × wq`, whose columns from `ow` on are not
//! outputs) reads, for kernel tap `(ki, kj)`, the buffer at `q` plus an offset that depends on
//! the tap alone. So `LANES` consecutive positions of the wide grid read `LANES` consecutive
//! floats for every tap, and a tile of up to `ROWS` output channels by `LANES` positions sums
//! `weight × run` over its taps in registers: AVX-512, or AVX2 with FMA, chosen at run time,
//! portable loops elsewhere. A 1 × 1 convolution is then a matrix product (its taps are the
//! input channels); a depthwise one spreads `ROWS` channels at once and each row of its
//! tiles reads its own channel, over `KH·KW` taps.

use core::mem::MaybeUninit;

use super::grouped::Grouped;

/// The first `n` floats of `store`, set to zero (the rest stays unwritten: a stack buffer
/// costs only what is used of it).
fn zeroed(store: &mut [MaybeUninit<f32>], n: usize) -> &mut [f32] {
    let part = &mut store[..n];
    for v in part.iter_mut() {
        v.write(0.0);
    }
    // SAFETY: every element of `part` was just written, and `MaybeUninit<f32>` has the
    // layout of `f32`.
    unsafe { &mut *(core::ptr::from_mut(part) as *mut [f32]) }
}

/// Output positions of one tile: one AVX-512 vector, two AVX2 ones.
const LANES: usize = 16;
/// Output channels of one tile: 8 vectors of AVX-512 (AVX2 runs them as two tiles of 4).
const ROWS: usize = 8;
/// Floats of the stack buffer that holds the spread input of some channels (64 KB).
const ROOM: usize = 16 * 1024;
/// Floats of the stack buffer that holds the wide output grid of `ROWS` channels (128 KB).
const OUT_ROOM: usize = 32 * 1024;
/// The most taps (input channels × kernel taps) one pass sums.
const MAX_TAPS: usize = 1024;

/// Where the spread input lies in the buffer.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Rows and columns of one phase.
    hq: usize,
    wq: usize,
    /// Floats of one channel: `sh · sw` phases of `hq × wq`.
    channel: usize,
    /// Positions of the wide output grid, `oh · wq`.
    wide: usize,
    /// Floats after the last channel that the unused lanes of the last tile may read.
    slack: usize,
}

/// The instruction set a tile runs with, detected once per call.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Isa {
    Portable,
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    Avx2,
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    Avx512,
}

impl Isa {
    fn detect() -> Self {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }
}

impl Grouped {
    /// The spread input's layout: the padded rows and columns the outputs read, split into
    /// `sh × sw` phases.
    #[inline(always)]
    fn layout(&self) -> Layout {
        let hp = (self.oh - 1) * self.sh + (self.kh - 1) * self.d + 1;
        let wp = (self.ow - 1) * self.sw + (self.kw - 1) * self.d + 1;
        let (hq, wq) = (hp.div_ceil(self.sh), wp.div_ceil(self.sw));
        Layout {
            hq,
            wq,
            channel: self.sh * self.sw * hq * wq,
            wide: self.oh * wq,
            slack: wq + 2 * LANES + self.kw * self.d,
        }
    }

    /// The offset of tap `(ki, kj)` within a channel of the spread input.
    #[inline(always)]
    fn tap_offset(&self, l: &Layout, ki: usize, kj: usize) -> usize {
        let (r, c) = (ki * self.d, kj * self.d);
        let phase = (r % self.sh) * self.sw + c % self.sw;
        phase * l.hq * l.wq + (r / self.sh) * l.wq + c / self.sw
    }

    /// Writes channels `c0..c0 + n` of the sample `x` into `buf`, padded and split into
    /// phases, and zeros the rest of the `n` channels and the slack.
    #[inline(always)]
    fn spread(&self, l: &Layout, x: &[f32], c0: usize, n: usize, buf: &mut [f32]) {
        buf[..n * l.channel + l.slack].fill(0.0);
        let plane = l.hq * l.wq;
        // Padded rows below `hp` and columns below `wp` are read; the rest of the padding
        // and any input beyond it is not.
        let (hp, wp) = (l.hq * self.sh, l.wq * self.sw);
        for c in 0..n {
            let src = &x[(c0 + c) * self.h * self.w..][..self.h * self.w];
            let dst = &mut buf[c * l.channel..][..l.channel];
            for (rr, row) in src.chunks_exact(self.w).enumerate() {
                let r = rr + self.pt;
                if r >= hp {
                    break;
                }
                let base = (r % self.sh) * self.sw * plane + (r / self.sh) * l.wq;
                let cols = self.w.min(wp.saturating_sub(self.pl));
                if self.sw == 1 {
                    dst[base + self.pl..][..cols].copy_from_slice(&row[..cols]);
                } else {
                    for (cc, &v) in row[..cols].iter().enumerate() {
                        let col = cc + self.pl;
                        dst[base + (col % self.sw) * plane + col / self.sw] = v;
                    }
                }
            }
        }
    }

    /// `y ← conv(x) + bias` for one sample through tiles over the spread input. Returns
    /// `false`, having written nothing, when one channel or `ROWS` channels of the wide
    /// output grid do not fit their stack buffers, or the kernel has more taps than one pass
    /// sums; the caller then runs the direct loops.
    #[inline(always)]
    pub fn forward_shifted(&self, weight: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) -> bool {
        let l = self.layout();
        let kk = self.kh * self.kw;
        // The wide grid of `ROWS` output channels, whole tiles each.
        let wide = l.wide.next_multiple_of(LANES);
        if l.channel + l.slack > ROOM || kk > MAX_TAPS || ROWS * wide > OUT_ROOM {
            return false;
        }
        let (cing, coutg) = (self.cin / self.groups, self.cout / self.groups);
        // Input channels of one pass: as many as the buffer and the tap count allow.
        let per = cing.min((ROOM - l.slack) / l.channel).min(MAX_TAPS / kk);
        // A depthwise layer (one channel per group) spreads up to `ROWS` channels at once,
        // one per row of a tile.
        let depthwise = cing == 1 && coutg == 1;
        let per_dw = ROWS.min((ROOM - l.slack) / l.channel);
        let isa = Isa::detect();
        let mut spread_store = [MaybeUninit::<f32>::uninit(); ROOM];
        let room = if depthwise { per_dw } else { per };
        let buf = zeroed(&mut spread_store, room * l.channel + l.slack);
        let mut out_store = [MaybeUninit::<f32>::uninit(); OUT_ROOM];
        let out = zeroed(&mut out_store, ROWS * wide);
        // A tile's sums, written whole by each tile.
        let mut acc = [[0.0f32; LANES]; ROWS];
        let mut offs = [0usize; MAX_TAPS];
        let out_plane = self.oh * self.ow;
        let w_row = cing * kk;
        if depthwise {
            for (t, off) in offs[..kk].iter_mut().enumerate() {
                *off = self.tap_offset(&l, t / self.kw, t % self.kw);
            }
            let taps = Taps::new(&offs[..kk]).shifted(l.channel);
            let mut g = 0;
            while g < self.groups {
                let rows = per_dw.min(self.groups - g);
                self.spread(&l, x, g, rows, buf);
                let w = &weight[g * kk..];
                for q0 in (0..l.wide).step_by(LANES) {
                    tile(isa, rows, &buf[q0..], taps, w, kk, &mut acc);
                    for (r, acc) in acc[..rows].iter().enumerate() {
                        out[r * wide + q0..][..LANES].copy_from_slice(acc);
                    }
                }
                for r in 0..rows {
                    let y = &mut y[(g + r) * out_plane..][..out_plane];
                    let rows_out = out[r * wide..][..l.wide].chunks_exact(l.wq);
                    let b = bias[g + r];
                    for (y, sum) in y.chunks_exact_mut(self.ow).zip(rows_out) {
                        for (y, s) in y.iter_mut().zip(sum) {
                            *y = b + s;
                        }
                    }
                }
                g += rows;
            }
            return true;
        }
        for g in 0..self.groups {
            let mut c0 = 0;
            while c0 < cing {
                let n = per.min(cing - c0);
                self.spread(&l, x, g * cing + c0, n, buf);
                let mut t = 0;
                for ci in 0..n {
                    for ki in 0..self.kh {
                        for kj in 0..self.kw {
                            offs[t] = ci * l.channel + self.tap_offset(&l, ki, kj);
                            t += 1;
                        }
                    }
                }
                let taps = Taps::new(&offs[..t]);
                let mut o = g * coutg;
                while o < (g + 1) * coutg {
                    let rows = ROWS.min((g + 1) * coutg - o);
                    let w = &weight[o * w_row + c0 * kk..];
                    for q0 in (0..l.wide).step_by(LANES) {
                        tile(isa, rows, &buf[q0..], taps, w, w_row, &mut acc);
                        for (r, acc) in acc[..rows].iter().enumerate() {
                            out[r * wide + q0..][..LANES].copy_from_slice(acc);
                        }
                    }
                    // The wide grid's first `ow` columns are the outputs.
                    for r in 0..rows {
                        let y = &mut y[(o + r) * out_plane..][..out_plane];
                        let rows_out = out[r * wide..][..l.wide].chunks_exact(l.wq);
                        for (y, sum) in y.chunks_exact_mut(self.ow).zip(rows_out) {
                            if c0 == 0 {
                                let b = bias[o + r];
                                for (y, s) in y.iter_mut().zip(sum) {
                                    *y = b + s;
                                }
                            } else {
                                for (y, s) in y.iter_mut().zip(sum) {
                                    *y += s;
                                }
                            }
                        }
                    }
                    o += rows;
                }
                c0 += n;
            }
        }
        true
    }
}

/// A block of zeroed floats kept by the thread between calls, so that a training step
/// does not map fresh pages for it each time; given back when dropped.
struct Scratch(alloc::vec::Vec<f32>);

std::thread_local! {
    static SCRATCH: core::cell::Cell<alloc::vec::Vec<f32>> =
        const { core::cell::Cell::new(alloc::vec::Vec::new()) };
}

impl Scratch {
    /// `n` zeros: the thread's block (an empty one if it is in use further up the stack).
    fn take(n: usize) -> Self {
        let mut v = SCRATCH.take();
        v.clear();
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
    #[inline(always)]
    pub fn backward_shifted(
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
        // Every buffer from one scratch block, zeroed: the spread batch, the output
        // gradient, the spread input gradient, a group's patch matrix and its gradient.
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
        let mut scratch = Scratch::take(n_x + n_dy + n_dx + n_p + n_dp);
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
            let (r, c) = ((tap / self.kw) * self.d, (tap % self.kw) * self.d);
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

/// The offsets of a tile's taps in the spread input, and how far its reads reach.
#[derive(Clone, Copy)]
struct Taps<'a> {
    offs: &'a [usize],
    /// One past the last float any tap reads in the first row: the largest offset plus
    /// `LANES`.
    reach: usize,
    /// How much further each row of a tile reads than the one before: 0 where the rows are
    /// output channels of the same inputs, a channel's floats for a depthwise layer's.
    shift: usize,
}

impl<'a> Taps<'a> {
    fn new(offs: &'a [usize]) -> Self {
        Taps {
            offs,
            reach: offs.iter().max().map_or(0, |m| m + LANES),
            shift: 0,
        }
    }

    /// These taps with each row reading `shift` floats further than the one before.
    fn shifted(self, shift: usize) -> Self {
        Taps { shift, ..self }
    }
}

/// `acc[r][k] = Σ_t w[r·w_row + t] · buf[offs[t] + r·shift + k]` for the first `rows` rows
/// of `acc` (the rest untouched), with the offsets and shift of `taps`: every row reads the
/// same runs when `shift` is 0 (output channels of one input), or runs `shift` apart (a
/// depthwise layer's channels).
/// Panics unless every read lies inside `buf` and `w`.
#[inline(always)]
fn tile(
    isa: Isa,
    rows: usize,
    buf: &[f32],
    taps: Taps<'_>,
    w: &[f32],
    w_row: usize,
    acc: &mut [[f32; LANES]; ROWS],
) {
    let (offs, reach, shift) = (taps.offs, taps.reach, taps.shift);
    assert!(
        (1..=ROWS).contains(&rows)
            && reach + (rows - 1) * shift <= buf.len()
            && (rows - 1) * w_row + offs.len() <= w.len(),
        "a tile's reads lie inside its buffer and weight"
    );
    macro_rules! rows {
        ($f:ident, $rows:expr, $buf:expr, $w:expr, $acc:expr) => {
            match $rows {
                1 => $f::<1>($buf, offs, shift, $w, w_row, $acc),
                2 => $f::<2>($buf, offs, shift, $w, w_row, $acc),
                3 => $f::<3>($buf, offs, shift, $w, w_row, $acc),
                4 => $f::<4>($buf, offs, shift, $w, w_row, $acc),
                5 => $f::<5>($buf, offs, shift, $w, w_row, $acc),
                6 => $f::<6>($buf, offs, shift, $w, w_row, $acc),
                7 => $f::<7>($buf, offs, shift, $w, w_row, $acc),
                _ => $f::<8>($buf, offs, shift, $w, w_row, $acc),
            }
        };
    }
    match isa {
        Isa::Portable => rows!(tile_portable, rows, buf, w, acc),
        // SAFETY: `Isa::detect` found AVX-512F on this CPU, and the reads were checked
        // above to lie inside `buf` and `w`, as `tile_avx512` requires; `acc` has `ROWS`
        // rows, at least `rows`.
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx512 => unsafe { rows!(tile_avx512, rows, buf, w, acc) },
        // AVX2 has 16 vector registers: 4 rows of two vectors at a time.
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Isa::Avx2 => {
            let (head, tail) = acc.split_at_mut(4);
            // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU, and the reads were
            // checked above to lie inside `buf` and `w` for `rows` rows, as `tile_avx2`
            // requires; rows from the fifth on start `4·shift` further into `buf` and
            // `4·w_row` further into `w`.
            unsafe {
                rows!(tile_avx2, rows.min(4), buf, w, head);
                if rows > 4 {
                    let buf = &buf[4 * shift..];
                    rows!(tile_avx2, rows - 4, buf, &w[4 * w_row..], tail);
                }
            }
        }
    }
}

/// [`tile`] for `R` rows in portable loops.
#[inline(always)]
fn tile_portable<const R: usize>(
    buf: &[f32],
    offs: &[usize],
    shift: usize,
    w: &[f32],
    w_row: usize,
    acc: &mut [[f32; LANES]],
) {
    let mut a = [[0.0f32; LANES]; R];
    for (t, &off) in offs.iter().enumerate() {
        for (r, a) in a.iter_mut().enumerate() {
            let x: &[f32; LANES] = buf[off + r * shift..][..LANES]
                .try_into()
                .expect("LANES floats");
            let wv = w[r * w_row + t];
            for (a, x) in a.iter_mut().zip(x) {
                *a += wv * x;
            }
        }
    }
    acc[..R].copy_from_slice(&a);
}

/// [`tile`] for `R` rows with AVX-512: one vector of 16 positions per row.
///
/// # Safety
/// The CPU must support AVX-512F; `buf` must hold `LANES` floats from every offset in `offs`
/// plus `(R − 1)·shift`, and `w` at least `(R − 1)·w_row + offs.len()` floats.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512<const R: usize>(
    buf: &[f32],
    offs: &[usize],
    shift: usize,
    w: &[f32],
    w_row: usize,
    acc: &mut [[f32; LANES]],
) {
    use core::arch::x86_64::*;
    let mut a: [__m512; R] = [_mm512_setzero_ps(); R];
    let (bp, wp) = (buf.as_ptr(), w.as_ptr());
    for (t, &off) in offs.iter().enumerate() {
        // SAFETY: the caller guarantees 16 floats from `off + r·shift` in `buf` for every
        // row `r < R`, and `w` holds row `r` at `r·w_row + t`.
        unsafe {
            if shift == 0 {
                let x = _mm512_loadu_ps(bp.add(off));
                for (r, a) in a.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(_mm512_set1_ps(*wp.add(r * w_row + t)), x, *a);
                }
            } else {
                for (r, a) in a.iter_mut().enumerate() {
                    let x = _mm512_loadu_ps(bp.add(off + r * shift));
                    *a = _mm512_fmadd_ps(_mm512_set1_ps(*wp.add(r * w_row + t)), x, *a);
                }
            }
        }
    }
    for (r, a) in a.iter().enumerate() {
        // SAFETY: every `acc` row holds 16 floats.
        unsafe { _mm512_storeu_ps(acc[r].as_mut_ptr(), *a) };
    }
}

/// [`tile`] for `R` rows with AVX2 and FMA: two vectors of 8 positions per row.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `buf` and `w` as for [`tile_avx512`].
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const R: usize>(
    buf: &[f32],
    offs: &[usize],
    shift: usize,
    w: &[f32],
    w_row: usize,
    acc: &mut [[f32; LANES]],
) {
    use core::arch::x86_64::*;
    let mut a: [[__m256; 2]; R] = [[_mm256_setzero_ps(); 2]; R];
    let (bp, wp) = (buf.as_ptr(), w.as_ptr());
    for (t, &off) in offs.iter().enumerate() {
        // SAFETY: the caller guarantees 16 floats from `off + r·shift` in `buf` for every
        // row `r < R`, and `w` holds row `r` at `r·w_row + t`.
        unsafe {
            for (r, a) in a.iter_mut().enumerate() {
                let x0 = _mm256_loadu_ps(bp.add(off + r * shift));
                let x1 = _mm256_loadu_ps(bp.add(off + r * shift + 8));
                let wv = _mm256_set1_ps(*wp.add(r * w_row + t));
                a[0] = _mm256_fmadd_ps(wv, x0, a[0]);
                a[1] = _mm256_fmadd_ps(wv, x1, a[1]);
            }
        }
    }
    for (r, a) in a.iter().enumerate() {
        // SAFETY: every `acc` row holds 16 floats: two vectors of 8.
        unsafe {
            _mm256_storeu_ps(acc[r].as_mut_ptr(), a[0]);
            _mm256_storeu_ps(acc[r].as_mut_ptr().add(8), a[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{tile, Grouped, Isa, Taps, LANES, ROWS};
    use std::{vec, vec::Vec};

    /// The definition in float64, output by output.
    fn reference(g: &Grouped, w: &[f32], b: &[f32], x: &[f32]) -> Vec<f64> {
        let (cing, coutg) = (g.cin / g.groups, g.cout / g.groups);
        let mut y = vec![0.0f64; g.cout * g.oh * g.ow];
        for o in 0..g.cout {
            for i in 0..g.oh {
                for j in 0..g.ow {
                    let mut acc = f64::from(b[o]);
                    for ci in 0..cing {
                        let c = (o / coutg) * cing + ci;
                        for ki in 0..g.kh {
                            for kj in 0..g.kw {
                                let r = (i * g.sh + ki * g.d) as isize - g.pt as isize;
                                let q = (j * g.sw + kj * g.d) as isize - g.pl as isize;
                                if r < 0 || q < 0 || r >= g.h as isize || q >= g.w as isize {
                                    continue;
                                }
                                let wi = ((o * cing + ci) * g.kh + ki) * g.kw + kj;
                                let xi = (c * g.h + r as usize) * g.w + q as usize;
                                acc += f64::from(w[wi]) * f64::from(x[xi]);
                            }
                        }
                    }
                    y[(o * g.oh + i) * g.ow + j] = acc;
                }
            }
        }
        y
    }

    /// Values in −1..1 from a seed, without a generator.
    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
            .collect()
    }

    /// A geometry with `pb`, `pr` rows and columns of padding below and right.
    #[allow(clippy::too_many_arguments)]
    fn geom(
        (cin, cout, groups): (usize, usize, usize),
        (h, w): (usize, usize),
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        (pt, pb, pl, pr): (usize, usize, usize, usize),
        d: usize,
    ) -> Grouped {
        Grouped {
            cin,
            cout,
            groups,
            h,
            w,
            kh,
            kw,
            sh,
            sw,
            pt,
            pl,
            d,
            oh: (h + pt + pb - d * (kh - 1) - 1) / sh + 1,
            ow: (w + pl + pr - d * (kw - 1) - 1) / sw + 1,
        }
    }

    /// Every layer of the MLPerf Tiny models' kinds, and sizes that leave every remainder:
    /// output channels not a multiple of the tile's rows, wide grids not a multiple of its
    /// lanes, several passes over the input channels, strides, dilation, groups.
    fn cases() -> Vec<Grouped> {
        vec![
            // DS-CNN: 10 × 4 stride 2 same; depthwise 3 × 3 same; 1 × 1.
            geom((1, 64, 1), (49, 10), (10, 4), (2, 2), (4, 5, 1, 1), 1),
            geom((64, 64, 64), (25, 5), (3, 3), (1, 1), (1, 1, 1, 1), 1),
            geom((64, 64, 1), (25, 5), (1, 1), (1, 1), (0, 0, 0, 0), 1),
            // ResNet-8: 3 × 3 same, its stride-2 same, the 1 × 1 stride-2 shortcut.
            geom((16, 16, 1), (32, 32), (3, 3), (1, 1), (1, 1, 1, 1), 1),
            geom((16, 32, 1), (32, 32), (3, 3), (2, 2), (0, 1, 0, 1), 1),
            geom((16, 32, 1), (32, 32), (1, 1), (2, 2), (0, 0, 0, 0), 1),
            // MobileNetV1's first layers, a stride-2 depthwise layer.
            geom((3, 8, 1), (17, 17), (3, 3), (2, 2), (0, 1, 0, 1), 1),
            geom((16, 16, 16), (12, 12), (3, 3), (2, 2), (0, 1, 0, 1), 1),
            // Remainders: 7 and 5 output channels, 3 groups of 2, dilation, a rectangular
            // stride, more taps than one pass sums (several passes over the input).
            geom((3, 7, 1), (5, 9), (2, 3), (1, 2), (1, 0, 2, 1), 2),
            geom((6, 6, 3), (7, 4), (3, 2), (2, 1), (1, 1, 0, 1), 1),
            geom((5, 5, 5), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),
            geom((130, 5, 1), (4, 4), (3, 3), (1, 1), (1, 1, 1, 1), 1),
            geom((2, 3, 1), (40, 90), (3, 3), (1, 1), (1, 1, 1, 1), 2),
        ]
    }

    #[test]
    fn forward_matches_a_float64_reference() {
        for (n, g) in cases().into_iter().enumerate() {
            let w = values(g.cout * (g.cin / g.groups) * g.kh * g.kw, n);
            let b = values(g.cout, n + 100);
            let x = values(g.cin * g.h * g.w, n + 200);
            let want = reference(&g, &w, &b, &x);
            let mut y = vec![f32::NAN; want.len()];
            assert!(
                g.forward_shifted(&w, &b, &x, &mut y),
                "{g:?} fits the buffer"
            );
            let taps = (g.cin / g.groups * g.kh * g.kw) as f64;
            for (k, (a, e)) in y.iter().zip(&want).enumerate() {
                // f32 sums of `taps` products of values below 1 in magnitude.
                let tol = 4.0 * taps * f64::from(f32::EPSILON) * (1.0 + e.abs());
                assert!((f64::from(*a) - e).abs() <= tol, "{g:?} at {k}: {a} != {e}");
            }
        }
    }

    /// The backward pass in float64: the weight, bias and input gradients of `batch`
    /// samples.
    fn reference_backward(
        g: &Grouped,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        batch: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (cing, coutg) = (g.cin / g.groups, g.cout / g.groups);
        let (n_in, n_out) = (g.cin * g.h * g.w, g.cout * g.oh * g.ow);
        let mut gw = vec![0.0f64; w.len()];
        let mut gb = vec![0.0f64; g.cout];
        let mut dx = vec![0.0f64; batch * n_in];
        for s in 0..batch {
            for o in 0..g.cout {
                for i in 0..g.oh {
                    for j in 0..g.ow {
                        let d = f64::from(dy[s * n_out + (o * g.oh + i) * g.ow + j]);
                        gb[o] += d;
                        for ci in 0..cing {
                            let c = (o / coutg) * cing + ci;
                            for ki in 0..g.kh {
                                for kj in 0..g.kw {
                                    let r = (i * g.sh + ki * g.d) as isize - g.pt as isize;
                                    let q = (j * g.sw + kj * g.d) as isize - g.pl as isize;
                                    if r < 0 || q < 0 || r >= g.h as isize || q >= g.w as isize {
                                        continue;
                                    }
                                    let wi = ((o * cing + ci) * g.kh + ki) * g.kw + kj;
                                    let xi = s * n_in + (c * g.h + r as usize) * g.w + q as usize;
                                    gw[wi] += d * f64::from(x[xi]);
                                    dx[xi] += d * f64::from(w[wi]);
                                }
                            }
                        }
                    }
                }
            }
        }
        (gw, gb, dx)
    }

    #[test]
    fn backward_matches_a_float64_reference() {
        let batch = 3;
        for (n, g) in cases().into_iter().enumerate() {
            let w = values(g.cout * (g.cin / g.groups) * g.kh * g.kw, n);
            let x = values(batch * g.cin * g.h * g.w, n + 300);
            let dy = values(batch * g.cout * g.oh * g.ow, n + 400);
            let (want_w, want_b, want_x) = reference_backward(&g, &w, &x, &dy, batch);
            // Gradients are added to what is there, the input gradient overwritten.
            let mut gw = vec![1.0f32; w.len()];
            let mut gb = vec![1.0f32; g.cout];
            let mut dx = vec![f32::NAN; x.len()];
            g.backward_shifted(&w, &x, &dy, Some(&mut dx), &mut gw, &mut gb);
            // Each sum has at most this many terms, of magnitude below 1.
            let terms = (batch * g.cout.max(g.cin) * g.oh * g.ow * g.kh * g.kw) as f64;
            let tol = |e: f64| 32.0 * terms.sqrt() * f64::from(f32::EPSILON) * (1.0 + e.abs());
            for (what, got, want, plus) in [
                ("weight", &gw, &want_w, 1.0),
                ("bias", &gb, &want_b, 1.0),
                ("input", &dx, &want_x, 0.0),
            ] {
                for (k, (a, e)) in got.iter().zip(want.iter()).enumerate() {
                    let e = e + plus;
                    assert!(
                        (f64::from(*a) - e).abs() <= tol(e),
                        "{g:?}: {what} gradient at {k}: {a} != {e}"
                    );
                }
            }
        }
    }

    /// Each instruction set's tile against the float64 sum, for 1 to `ROWS` rows.
    #[test]
    fn tiles_match_a_float64_reference() {
        let taps = 37;
        // Room for 8 rows 5 floats apart.
        let buf = values(taps * 3 + LANES + 5 * ROWS, 1);
        let w = values(ROWS * 50, 2);
        let offs: Vec<usize> = (0..taps).map(|t| (t * 3) % (taps * 3)).collect();
        // Every instruction set this CPU has, not only the one `Isa::detect` picks.
        #[allow(unused_mut)]
        let mut isas = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                isas.push(Isa::Avx2);
            }
            if std::is_x86_feature_detected!("avx512f") {
                isas.push(Isa::Avx512);
            }
        }
        for (isa, shift) in isas.into_iter().flat_map(|i| [(i, 0), (i, 5)]) {
            for rows in 1..=ROWS {
                let mut acc = [[0.5f32; LANES]; ROWS];
                tile(
                    isa,
                    rows,
                    &buf,
                    Taps::new(&offs).shifted(shift),
                    &w,
                    50,
                    &mut acc,
                );
                for (r, acc) in acc.iter().enumerate() {
                    for (k, a) in acc.iter().enumerate() {
                        let want = if r < rows {
                            offs.iter()
                                .enumerate()
                                .map(|(t, o)| {
                                    f64::from(w[r * 50 + t]) * f64::from(buf[o + r * shift + k])
                                })
                                .sum::<f64>()
                        } else {
                            0.5
                        };
                        let tol = 4.0 * taps as f64 * f64::from(f32::EPSILON);
                        assert!(
                            (f64::from(*a) - want).abs() <= tol,
                            "{isa:?}, {rows} rows {shift} apart: row {r} lane {k}: {a} != {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_channel_too_large_for_the_buffer_is_refused() {
        let g = geom((1, 1, 1), (200, 200), (3, 3), (1, 1), (1, 1, 1, 1), 1);
        let mut y = vec![0.0; g.oh * g.ow];
        let x = vec![0.0; g.h * g.w];
        assert!(!g.forward_shifted(&[0.0; 9], &[0.0], &x, &mut y));
    }
}
