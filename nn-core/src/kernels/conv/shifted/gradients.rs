//! The training backward of a stride-1 convolution of one group by direct kernels: no patch
//! matrix and no packing.
//!
//! The weight gradient: the batch spread as the one-sample forward spreads one input (each
//! sample padded, `[sample][channel][hq × wq]`) and the output gradient on the wide grid
//! (`[sample][channel][oh × wq]`, zeros in its columns from `ow` on, rounded up to whole
//! vectors). Weight `(o, t)` (output channel, input channel and tap) is then the dot product
//! of output channel `o`'s run with the input's run at the tap's offset, sample by sample. A
//! tile of output channels × weights keeps one 16-lane sum per weight in registers: each
//! lane adds its products in order of sample and position, fused, and the lanes are added
//! pairwise at the end (lane `i` with `i + 8`, then `i + 4`, `i + 2`, `i + 1`), so AVX-512,
//! AVX2 (two passes of 8 lanes) and the portable loops give the same bits.
//!
//! The input gradient is the forward pass of the adjoint geometry (output and input channels
//! swapped, the kernel turned by half a turn, `k − 1 − p` rows and columns of padding) over
//! the output gradient, by the one-sample tiles of [`Grouped::forward_shifted`].

use super::backward::Scratch;
use super::*;

/// Output channels and weights of a weight-gradient tile on AVX-512 (24 sums in registers)
/// and in the portable loops.
const WIDE: (usize, usize) = (4, 6);
/// The same on AVX2: 9 sums of two vectors each, in 16 registers with their operands.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
const NARROW: (usize, usize) = (3, 3);
/// The most output channels or weights of a tile, for its stack arrays: a depthwise
/// layer's tiles take one channel and up to 9 of its taps (a 3 × 3 kernel in one pass).
pub(super) const TILE_MAX: usize = 9;

/// The runs one weight-gradient tile adds: output channel rows `rows` of the output
/// gradient, input runs from `offs` (both offsets within a sample), over `samples` samples
/// `x_step` and `d_step` floats apart, `vectors` vectors of 16 each.
pub(super) struct GradTile<'a> {
    pub(super) d: &'a [f32],
    pub(super) rows: [usize; TILE_MAX],
    pub(super) x: &'a [f32],
    pub(super) offs: [usize; TILE_MAX],
    pub(super) samples: usize,
    pub(super) d_step: usize,
    pub(super) x_step: usize,
    pub(super) vectors: usize,
}

/// The lanes' sum in the order every instruction set takes: `i + 8`, `i + 4`, `i + 2`,
/// `i + 1`.
#[inline(always)]
fn lanes_sum(l: &[f32; LANES]) -> f32 {
    let s8: [f32; 8] = core::array::from_fn(|i| l[i] + l[i + 8]);
    let s4: [f32; 4] = core::array::from_fn(|i| s8[i] + s8[i + 4]);
    let s2: [f32; 2] = core::array::from_fn(|i| s4[i] + s4[i + 2]);
    s2[0] + s2[1]
}

// Indices name the tile's rows and weights, as the vector registers hold them.
#[allow(clippy::needless_range_loop)]
impl GradTile<'_> {
    /// Panics unless every read lies inside the runs.
    fn check(&self, r: usize, t: usize) {
        let last = |step: usize| (self.samples.max(1) - 1) * step + self.vectors * LANES;
        assert!(
            self.rows[..r]
                .iter()
                .all(|&o| o + last(self.d_step) <= self.d.len())
                && self.offs[..t]
                    .iter()
                    .all(|&o| o + last(self.x_step) <= self.x.len()),
            "a gradient tile's reads lie inside its runs"
        );
    }

    /// `out[r][t] = Σ d[rows[r] + …] · x[offs[t] + …]` for `r < R`, `t < T`, in portable
    /// loops (fused as the vector units fuse).
    fn portable<const R: usize, const T: usize>(&self, out: &mut [[f32; TILE_MAX]; TILE_MAX]) {
        self.check(R, T);
        let mut a = [[[0.0f32; LANES]; T]; R];
        for s in 0..self.samples {
            for v in 0..self.vectors {
                for r in 0..R {
                    let d = &self.d[self.rows[r] + s * self.d_step + v * LANES..][..LANES];
                    for t in 0..T {
                        let x = &self.x[self.offs[t] + s * self.x_step + v * LANES..][..LANES];
                        for k in 0..LANES {
                            a[r][t][k] = d[k].mul_add(x[k], a[r][t][k]);
                        }
                    }
                }
            }
        }
        for r in 0..R {
            for t in 0..T {
                out[r][t] = lanes_sum(&a[r][t]);
            }
        }
    }

    /// [`GradTile::portable`] with AVX-512: one vector of 16 lanes per sum.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512<const R: usize, const T: usize>(&self, out: &mut [[f32; TILE_MAX]; TILE_MAX]) {
        use core::arch::x86_64::*;
        self.check(R, T);
        let mut a = [[_mm512_setzero_ps(); T]; R];
        let (dp, xp) = (self.d.as_ptr(), self.x.as_ptr());
        for s in 0..self.samples {
            let (d0, x0) = (s * self.d_step, s * self.x_step);
            for v in 0..self.vectors {
                let q = v * LANES;
                // SAFETY: `check` found every run's `vectors · 16` floats of every sample
                // inside `d` and `x`.
                unsafe {
                    let d: [__m512; R] =
                        core::array::from_fn(|r| _mm512_loadu_ps(dp.add(self.rows[r] + d0 + q)));
                    for t in 0..T {
                        let x = _mm512_loadu_ps(xp.add(self.offs[t] + x0 + q));
                        for r in 0..R {
                            a[r][t] = _mm512_fmadd_ps(d[r], x, a[r][t]);
                        }
                    }
                }
            }
        }
        for r in 0..R {
            for t in 0..T {
                let mut l = [0.0f32; LANES];
                // SAFETY: `l` holds 16 floats.
                unsafe { _mm512_storeu_ps(l.as_mut_ptr(), a[r][t]) };
                out[r][t] = lanes_sum(&l);
            }
        }
    }

    /// [`GradTile::portable`] with AVX2 and FMA: lanes 0–7 of every sum, then lanes 8–15.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<const R: usize, const T: usize>(&self, out: &mut [[f32; TILE_MAX]; TILE_MAX]) {
        use core::arch::x86_64::*;
        self.check(R, T);
        let mut l = [[[0.0f32; LANES]; T]; R];
        let (dp, xp) = (self.d.as_ptr(), self.x.as_ptr());
        for half in [0, 8] {
            let mut a = [[_mm256_setzero_ps(); T]; R];
            for s in 0..self.samples {
                let (d0, x0) = (s * self.d_step + half, s * self.x_step + half);
                for v in 0..self.vectors {
                    let q = v * LANES;
                    // SAFETY: as in `avx512`: lanes `half..half + 8` of each vector.
                    unsafe {
                        let d: [__m256; R] = core::array::from_fn(|r| {
                            _mm256_loadu_ps(dp.add(self.rows[r] + d0 + q))
                        });
                        for t in 0..T {
                            let x = _mm256_loadu_ps(xp.add(self.offs[t] + x0 + q));
                            for r in 0..R {
                                a[r][t] = _mm256_fmadd_ps(d[r], x, a[r][t]);
                            }
                        }
                    }
                }
            }
            for r in 0..R {
                for t in 0..T {
                    // SAFETY: lanes `half..half + 8` of a row of 16.
                    unsafe { _mm256_storeu_ps(l[r][t].as_mut_ptr().add(half), a[r][t]) };
                }
            }
        }
        for r in 0..R {
            for t in 0..T {
                out[r][t] = lanes_sum(&l[r][t]);
            }
        }
    }

    /// The tile on `isa`, whose shape it takes: its `(output channels, weights)`.
    fn run(&self, isa: Isa, out: &mut [[f32; TILE_MAX]; TILE_MAX]) {
        let _ = isa;
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        match isa {
            // SAFETY: `Isa::detect` (or the test that chose it) found AVX-512F.
            Isa::Avx512 => return unsafe { self.avx512::<{ WIDE.0 }, { WIDE.1 }>(out) },
            // SAFETY: `Isa::detect` (or the test that chose it) found AVX2 and FMA.
            Isa::Avx2 => return unsafe { self.avx2::<{ NARROW.0 }, { NARROW.1 }>(out) },
            Isa::Portable => {}
        }
        self.portable::<{ WIDE.0 }, { WIDE.1 }>(out)
    }
}

/// A depthwise tile: one output channel (`rows[0]`) and its first `taps` weights (at most
/// [`TILE_MAX`]), in registers on every instruction set.
impl GradTile<'_> {
    pub(super) fn run_depthwise(
        &self,
        isa: Isa,
        taps: usize,
        out: &mut [[f32; TILE_MAX]; TILE_MAX],
    ) {
        macro_rules! taps {
            ($f:ident) => {
                match taps {
                    1 => $f::<1>(self, isa, out),
                    2 => $f::<2>(self, isa, out),
                    3 => $f::<3>(self, isa, out),
                    4 => $f::<4>(self, isa, out),
                    5 => $f::<5>(self, isa, out),
                    6 => $f::<6>(self, isa, out),
                    7 => $f::<7>(self, isa, out),
                    8 => $f::<8>(self, isa, out),
                    _ => $f::<9>(self, isa, out),
                }
            };
        }
        /// The tile of one row and `T` weights on `isa`.
        fn one_row<const T: usize>(
            tile: &GradTile<'_>,
            isa: Isa,
            out: &mut [[f32; TILE_MAX]; TILE_MAX],
        ) {
            let _ = isa;
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            match isa {
                // SAFETY: `Isa::detect` (or the test that chose it) found AVX-512F.
                Isa::Avx512 => return unsafe { tile.avx512::<1, T>(out) },
                // SAFETY: `Isa::detect` (or the test that chose it) found AVX2 and FMA.
                Isa::Avx2 => return unsafe { tile.avx2::<1, T>(out) },
                Isa::Portable => {}
            }
            tile.portable::<1, T>(out)
        }
        assert!((1..=TILE_MAX).contains(&taps), "1 to 9 taps a tile");
        taps!(one_row)
    }
}

/// A tile's shape on `isa`: output channels, weights.
fn tile_shape(isa: Isa) -> (usize, usize) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if isa == Isa::Avx2 {
        return NARROW;
    }
    let _ = isa;
    WIDE
}

impl Grouped {
    /// Whether this is a depthwise layer: one input and one output channel per group.
    #[inline(always)]
    pub(super) fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.groups == self.cin && self.groups == self.cout
    }

    /// The geometry whose forward pass is this one's input gradient, when this is a
    /// stride-1 convolution of one group or a depthwise one, without dilation.
    #[inline(always)]
    fn adjoint(&self) -> Option<Grouped> {
        let groups = self.groups == 1 || self.is_depthwise();
        let plain = groups && self.sh == 1 && self.sw == 1 && self.dh == 1 && self.dw == 1;
        if !plain || self.pt >= self.kh || self.pl >= self.kw {
            return None;
        }
        Some(Grouped {
            cin: self.cout,
            cout: self.cin,
            groups: self.groups,
            h: self.oh,
            w: self.ow,
            kh: self.kh,
            kw: self.kw,
            sh: 1,
            sw: 1,
            pt: self.kh - 1 - self.pt,
            pl: self.kw - 1 - self.pl,
            dh: 1,
            dw: 1,
            oh: self.h,
            ow: self.w,
        })
    }

    /// The backward pass of the samples of `x` (and `dy`) by the direct kernels: adds the
    /// weight gradient into `gw` and the bias gradient into `gb` (when not empty), and
    /// writes the input gradient into `dx` when given. Returns `false`, having written
    /// nothing, for a geometry they do not take (strides, groups other than depthwise,
    /// dilation, padding of a kernel's size or more, or a sample too large for the
    /// one-sample tiles), and, but for depthwise layers, on CPUs without AVX-512 (or with the
    /// products on AVX2): there the patch matrices' products measured faster on the example
    /// CNN. A depthwise layer's tiles take one channel and its taps.
    #[inline(always)]
    pub fn backward_direct(
        &self,
        weight: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
    ) -> bool {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            let isa = Isa::detect();
            if isa == Isa::Avx512 || (isa == Isa::Avx2 && self.is_depthwise()) {
                return self.backward_direct_on(isa, weight, x, dy, dx, gw, gb);
            }
        }
        let _ = (weight, x, dy, dx, gw, gb);
        false
    }

    /// [`Grouped::backward_direct`] on the instruction set `isa`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward_direct_on(
        &self,
        isa: Isa,
        weight: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
    ) -> bool {
        let Some(adjoint) = self.adjoint() else {
            return false;
        };
        if dx.is_some() && !adjoint.fits_shifted() {
            return false;
        }
        if self.is_depthwise() {
            return self.backward_depthwise(isa, &adjoint, weight, x, dy, dx, gw, gb);
        }
        let l = self.layout();
        let kk = self.kh * self.kw;
        let (in_size, out_plane) = (self.cin * self.h * self.w, self.oh * self.ow);
        let out_size = self.cout * out_plane;
        let batch = x.len() / in_size;
        for dy in dy.chunks_exact(out_size).take(batch) {
            for (g, plane) in gb.iter_mut().zip(dy.chunks_exact(out_plane)) {
                *g += crate::kernels::lane_sum(plane);
            }
        }
        // The spread batch, the output gradient on the wide grid, and for the input
        // gradient the turned weight and a bias of zeros, from one scratch block.
        let wide = l.wide.next_multiple_of(LANES);
        let x_step = self.cin * l.channel;
        let d_step = self.cout * wide;
        let taps = self.cin * kk;
        let n_x = batch * x_step + l.slack;
        let n_d = batch * d_step;
        let n_w = if dx.is_some() { taps * self.cout } else { 0 };
        // Every float read is written below: the block's old values are left in place.
        // The input gradient's spread and wide grid here too, rather than on the stack: a
        // pool's thread may run several chunks' backward passes nested on its stack.
        let n_in = if dx.is_some() { ROOM + OUT_ROOM } else { 0 };
        let mut scratch = Scratch::take_written(n_x + n_d + n_w + self.cin + n_in);
        let (xs, rest) = scratch.split_at_mut(n_x);
        let (ds, rest) = rest.split_at_mut(n_d);
        let (turned, rest) = rest.split_at_mut(n_w);
        let (zeros, rest) = rest.split_at_mut(self.cin);
        let (spread_store, out_store) = rest.split_at_mut(n_in.min(ROOM));
        zeros.fill(0.0);
        // In order of samples: each spread zeros the slack after it, the next sample's start.
        for (s, x) in x.chunks_exact(in_size).take(batch).enumerate() {
            self.spread(&l, x, 0, self.cin, &mut xs[s * x_step..]);
        }
        for (s, dy) in dy.chunks_exact(out_size).take(batch).enumerate() {
            for (o, dy) in dy.chunks_exact(out_plane).enumerate() {
                let d = &mut ds[s * d_step + o * wide..][..wide];
                let (rows, tail) = d.split_at_mut(l.wide);
                for (run, row) in rows.chunks_exact_mut(l.wq).zip(dy.chunks_exact(self.ow)) {
                    run[..self.ow].copy_from_slice(row);
                    run[self.ow..].fill(0.0);
                }
                tail.fill(0.0);
            }
        }
        let mut out = [[0.0f32; TILE_MAX]; TILE_MAX];
        let (tr, tt) = tile_shape(isa);
        for o0 in (0..self.cout).step_by(tr) {
            let rows_real = tr.min(self.cout - o0);
            for t0 in (0..taps).step_by(tt) {
                let taps_real = tt.min(taps - t0);
                // Rows and weights past the real ones repeat the last, and are not written.
                let rows = core::array::from_fn(|r| (o0 + r.min(rows_real - 1)) * wide);
                let offs = core::array::from_fn(|t| {
                    let t = t0 + t.min(taps_real - 1);
                    let (ci, tap) = (t / kk, t % kk);
                    ci * l.channel + self.tap_offset(&l, tap / self.kw, tap % self.kw)
                });
                GradTile {
                    d: ds,
                    rows,
                    x: xs,
                    offs,
                    samples: batch,
                    d_step,
                    x_step,
                    vectors: wide / LANES,
                }
                .run(isa, &mut out);
                for (r, out) in out.iter().enumerate().take(rows_real) {
                    let g = &mut gw[(o0 + r) * taps + t0..][..taps_real];
                    for (g, v) in g.iter_mut().zip(out) {
                        *g += v;
                    }
                }
            }
        }
        let Some(dx) = dx else {
            return true;
        };
        // turned[ci][o·kk + kk − 1 − tap] = weight[o][ci][tap].
        for o in 0..self.cout {
            for ci in 0..self.cin {
                for tap in 0..kk {
                    turned[ci * self.cout * kk + o * kk + kk - 1 - tap] =
                        weight[(o * self.cin + ci) * kk + tap];
                }
            }
        }
        // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and the one-sample pass only
        // writes initialised floats into these buffers, so they stay initialised.
        let (spread_store, out_store) = unsafe {
            (
                &mut *(core::ptr::from_mut(spread_store) as *mut [MaybeUninit<f32>]),
                &mut *(core::ptr::from_mut(out_store) as *mut [MaybeUninit<f32>]),
            )
        };
        let dys = dy.chunks_exact(out_size).take(batch);
        for (dy, dx) in dys.zip(dx.chunks_exact_mut(in_size)) {
            let done =
                adjoint.forward_shifted_in(isa, turned, zeros, dy, dx, spread_store, out_store);
            debug_assert!(done, "the adjoint geometry was checked to fit");
        }
        true
    }
}
