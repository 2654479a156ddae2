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
    /// The widest the CPU has, but AVX2 where the products run on AVX2 (`NN_KERNEL=avx2`,
    /// or [`crate::gemm::set_kernel`]), so that an AVX-512 machine can run what an AVX2
    /// machine runs.
    fn detect() -> Self {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            let avx2 = crate::gemm::kernel() == crate::gemm::Kernel::Avx2;
            if !avx2 && std::is_x86_feature_detected!("avx512f") {
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
        let hp = (self.oh - 1) * self.sh + (self.kh - 1) * self.dh + 1;
        let wp = (self.ow - 1) * self.sw + (self.kw - 1) * self.dw + 1;
        let (hq, wq) = (hp.div_ceil(self.sh), wp.div_ceil(self.sw));
        Layout {
            hq,
            wq,
            channel: self.sh * self.sw * hq * wq,
            wide: self.oh * wq,
            slack: wq + 2 * LANES + self.kw * self.dw,
        }
    }

    /// The offset of tap `(ki, kj)` within a channel of the spread input.
    #[inline(always)]
    fn tap_offset(&self, l: &Layout, ki: usize, kj: usize) -> usize {
        let (r, c) = (ki * self.dh, kj * self.dw);
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
        self.forward_shifted_on(Isa::detect(), weight, bias, x, y)
    }

    /// Whether [`Grouped::forward_shifted`] takes this geometry: one channel and `ROWS`
    /// channels of the wide output grid fit their stack buffers, and one pass sums the
    /// kernel's taps.
    #[inline(always)]
    fn fits_shifted(&self) -> bool {
        let l = self.layout();
        let wide = l.wide.next_multiple_of(LANES);
        l.channel + l.slack <= ROOM && self.kh * self.kw <= MAX_TAPS && ROWS * wide <= OUT_ROOM
    }

    /// [`Grouped::forward_shifted`] on the instruction set `isa`, its buffers on the stack.
    #[inline(always)]
    fn forward_shifted_on(
        &self,
        isa: Isa,
        weight: &[f32],
        bias: &[f32],
        x: &[f32],
        y: &mut [f32],
    ) -> bool {
        let mut spread_store = [MaybeUninit::<f32>::uninit(); ROOM];
        let mut out_store = [MaybeUninit::<f32>::uninit(); OUT_ROOM];
        self.forward_shifted_in(isa, weight, bias, x, y, &mut spread_store, &mut out_store)
    }

    /// [`Grouped::forward_shifted_on`] with its buffers given: `spread_store` of at least
    /// `ROOM` floats, `out_store` of at least `OUT_ROOM` (only written, never read before).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn forward_shifted_in(
        &self,
        isa: Isa,
        weight: &[f32],
        bias: &[f32],
        x: &[f32],
        y: &mut [f32],
        spread_store: &mut [MaybeUninit<f32>],
        out_store: &mut [MaybeUninit<f32>],
    ) -> bool {
        if !self.fits_shifted() {
            return false;
        }
        let l = self.layout();
        let kk = self.kh * self.kw;
        // The wide grid of `ROWS` output channels, whole tiles each.
        let wide = l.wide.next_multiple_of(LANES);
        let (cing, coutg) = (self.cin / self.groups, self.cout / self.groups);
        // Input channels of one pass: as many as the buffer and the tap count allow.
        let per = cing.min((ROOM - l.slack) / l.channel).min(MAX_TAPS / kk);
        // A depthwise layer (one channel per group) spreads up to `ROWS` channels at once,
        // one per row of a tile.
        let depthwise = cing == 1 && coutg == 1;
        let per_dw = ROWS.min((ROOM - l.slack) / l.channel);
        let room = if depthwise { per_dw } else { per };
        let buf = zeroed(spread_store, room * l.channel + l.slack);
        let out = zeroed(out_store, ROWS * wide);
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
            // Fused, as the vector units fuse: the same bits on every instruction set.
            for (a, x) in a.iter_mut().zip(x) {
                *a = wv.mul_add(*x, *a);
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

mod backward;
mod depthwise;
mod gradients;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_blocks;
