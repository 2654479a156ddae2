//! The geometry of a 2-D convolution over one NCHW sample, and the loops that walk it:
//! `im2col` (a sample's patches as the columns of a matrix, so that the convolution is one
//! matrix product), `col2im` (the adjoint, for the input gradient) and the direct loops of
//! the no-heap paths. All of them find the part of an output row that reads the input rather
//! than the padding in one place (`Geom::span`): by output row for whole rows, the common
//! case, or by [`Segment`]s for any range of columns.

use core::ops::Range;

/// A convolution's sizes: `cin` channels of `h × w`, a `k × k` kernel, stride `s`, zero
/// padding `p`, and the output's `oh × ow`.
///
/// The patch matrix of a sample has one row per kernel tap `r = (ci, ki, kj)` (PyTorch's
/// weight order, so that the weight `[COUT, CIN, K, K]` is a row-major `[COUT, CIN·K·K]`
/// matrix) and one column per output position `q = (oh, ow)`; its element `(r, q)` is
/// `x[ci, oh·s + ki − p, ow·s + kj − p]`, or 0 in the padding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub s: usize,
    pub p: usize,
    pub oh: usize,
    pub ow: usize,
}

/// A run of one patch-matrix row within one output row: `before` zeros (left padding),
/// `valid` elements read from the input at `src`, `src + s`, …, then `after` zeros.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    /// Offset of the run in the row of the block being walked.
    pub at: usize,
    pub before: usize,
    pub valid: usize,
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub after: usize,
    /// The input index (within the sample) of the first valid element.
    pub src: usize,
}

/// The iterator of [`Geom::segments`].
#[derive(Clone, Debug)]
pub(crate) struct Segments {
    g: Geom,
    ki: usize,
    kj: usize,
    /// The output columns whose input column lies inside the input, `lo..hi`.
    lo: usize,
    hi: usize,
    plane: usize,
    /// The next segment's output row and first output column.
    oh: usize,
    ow0: usize,
    /// The next segment's column in the patch matrix, and the walked range.
    q: usize,
    start: usize,
    end: usize,
}

impl Iterator for Segments {
    type Item = Segment;

    #[inline(always)]
    fn next(&mut self) -> Option<Segment> {
        let g = &self.g;
        if self.q >= self.end {
            return None;
        }
        let ow1 = g.ow.min(self.ow0 + (self.end - self.q));
        let at = self.q - self.start;
        // Wraps to a huge value above the top edge, so one comparison covers both.
        let ih = (self.oh * g.s + self.ki).wrapping_sub(g.p);
        let seg = if ih >= g.h {
            Segment {
                at,
                before: ow1 - self.ow0,
                valid: 0,
                after: 0,
                src: 0,
            }
        } else {
            let (a, b) = (self.lo.clamp(self.ow0, ow1), self.hi.clamp(self.ow0, ow1));
            Segment {
                at,
                before: a - self.ow0,
                valid: b - a,
                after: ow1 - b,
                // Only read when `valid > 0`, that is `a < hi`, where it cannot underflow.
                src: if b > a {
                    self.plane + ih * g.w + a * g.s + self.kj - g.p
                } else {
                    0
                },
            }
        };
        self.q += ow1 - self.ow0;
        (self.oh, self.ow0) = (self.oh + 1, 0);
        Some(seg)
    }
}

impl Geom {
    /// Rows of the patch matrix, `cin·k·k`.
    pub const fn taps(&self) -> usize {
        self.cin * self.k * self.k
    }

    /// Columns of the patch matrix, `oh·ow`.
    pub const fn positions(&self) -> usize {
        self.oh * self.ow
    }

    /// The output indices `o` in `0..n_out` whose input index `o·s + t − p` lies in
    /// `0..n_in`, as `lo..hi`.
    #[inline]
    fn span(&self, t: usize, n_out: usize, n_in: usize) -> (usize, usize) {
        let hi = if t > n_in - 1 + self.p {
            0
        } else {
            ((n_in - 1 + self.p - t) / self.s + 1).min(n_out)
        };
        let lo = if self.p > t {
            (self.p - t).div_ceil(self.s)
        } else {
            0
        };
        (lo.min(hi), hi)
    }

    /// The segments of patch-matrix row `r` over the columns `cols`, in order; their
    /// lengths add up to `cols.len()`. An iterator rather than a callback, so that the loops
    /// over it inline into callers that pass a constant `Geom` and see every size.
    #[inline(always)]
    pub fn segments(&self, r: usize, cols: Range<usize>) -> Segments {
        let kk = self.k * self.k;
        let (ci, ki, kj) = (r / kk, r % kk / self.k, r % self.k);
        let (lo, hi) = self.span(kj, self.ow, self.w);
        Segments {
            g: *self,
            ki,
            kj,
            lo,
            hi,
            plane: ci * self.h * self.w,
            oh: cols.start / self.ow,
            ow0: cols.start % self.ow,
            q: cols.start,
            start: cols.start,
            end: cols.end,
        }
    }

    /// Writes the block `rows × cols` of sample `x`'s patch matrix into `dst`, row-major
    /// with `cols.len()` columns.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    pub fn im2col(&self, x: &[f32], dst: &mut [f32], rows: Range<usize>, cols: Range<usize>) {
        if cols.start.is_multiple_of(self.ow) && cols.len().is_multiple_of(self.ow) {
            let ohs = cols.start / self.ow..cols.end / self.ow;
            return self.im2col_rows(x, dst, rows, ohs);
        }
        let n = cols.len();
        for (r, row) in rows.zip(dst.chunks_exact_mut(n)) {
            for seg in self.segments(r, cols.clone()) {
                let out = &mut row[seg.at..][..seg.before + seg.valid + seg.after];
                let (zeros, rest) = out.split_at_mut(seg.before);
                zeros.fill(0.0);
                let (valid, zeros) = rest.split_at_mut(seg.valid);
                zeros.fill(0.0);
                if seg.valid > 0 {
                    self.gather(valid, &x[seg.src..]);
                }
            }
        }
    }

    /// [`Geom::im2col`] for the columns of whole output rows `ohs`: the common case, with a
    /// loop per output row rather than per segment.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn im2col_rows(&self, x: &[f32], dst: &mut [f32], rows: Range<usize>, ohs: Range<usize>) {
        let (ow, kk) = (self.ow, self.k * self.k);
        for (r, row) in rows.zip(dst.chunks_exact_mut(ohs.len() * ow)) {
            let (ci, ki, kj) = (r / kk, r % kk / self.k, r % self.k);
            let (lo, hi) = self.span(kj, ow, self.w);
            let plane = &x[ci * self.h * self.w..][..self.h * self.w];
            for (oh, out) in ohs.clone().zip(row.chunks_exact_mut(ow)) {
                let ih = (oh * self.s + ki).wrapping_sub(self.p);
                if ih >= self.h {
                    out.fill(0.0);
                    continue;
                }
                if lo > 0 {
                    out[..lo].fill(0.0);
                }
                if hi < ow {
                    out[hi..].fill(0.0);
                }
                if hi > lo {
                    self.gather(
                        &mut out[lo..hi],
                        &plane[ih * self.w + lo * self.s + kj - self.p..],
                    );
                }
            }
        }
    }

    /// `dst[i] ← src[i · s]`.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn gather(&self, dst: &mut [f32], src: &[f32]) {
        let src = &src[..(dst.len() - 1) * self.s + 1];
        if self.s == 1 {
            copy(dst, src);
        } else {
            for (d, v) in dst.iter_mut().zip(src.iter().step_by(self.s)) {
                *d = *v;
            }
        }
    }

    /// `dst[i · s] += src[i]`.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn scatter_add(&self, dst: &mut [f32], src: &[f32]) {
        let dst = &mut dst[..(src.len() - 1) * self.s + 1];
        if self.s == 1 {
            add(dst, src);
        } else {
            for (t, v) in dst.iter_mut().step_by(self.s).zip(src) {
                *t += v;
            }
        }
    }

    /// Adds the block `rows × cols` of a patch-matrix gradient `d` (row-major with
    /// `cols.len()` columns) into the sample gradient `dx`: the adjoint of [`Geom::im2col`].
    #[cfg(feature = "alloc")]
    #[inline(always)]
    pub fn col2im_add(&self, d: &[f32], dx: &mut [f32], rows: Range<usize>, cols: Range<usize>) {
        if cols.start.is_multiple_of(self.ow) && cols.len().is_multiple_of(self.ow) {
            let ohs = cols.start / self.ow..cols.end / self.ow;
            return self.col2im_rows_add(d, dx, rows, ohs);
        }
        let n = cols.len();
        for (r, row) in rows.zip(d.chunks_exact(n)) {
            for seg in self.segments(r, cols.clone()) {
                if seg.valid > 0 {
                    self.scatter_add(&mut dx[seg.src..], &row[seg.at + seg.before..][..seg.valid]);
                }
            }
        }
    }

    /// [`Geom::col2im_add`] for the columns of whole output rows `ohs`.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn col2im_rows_add(&self, d: &[f32], dx: &mut [f32], rows: Range<usize>, ohs: Range<usize>) {
        let (ow, kk) = (self.ow, self.k * self.k);
        for (r, row) in rows.zip(d.chunks_exact(ohs.len() * ow)) {
            let (ci, ki, kj) = (r / kk, r % kk / self.k, r % self.k);
            let (lo, hi) = self.span(kj, ow, self.w);
            if hi <= lo {
                continue;
            }
            let plane = &mut dx[ci * self.h * self.w..][..self.h * self.w];
            for (oh, from) in ohs.clone().zip(row.chunks_exact(ow)) {
                let ih = (oh * self.s + ki).wrapping_sub(self.p);
                if ih < self.h {
                    let at = ih * self.w + lo * self.s + kj - self.p;
                    self.scatter_add(&mut plane[at..], &from[lo..hi]);
                }
            }
        }
    }

    /// Every valid run of the whole patch matrix, as `(r, out, src, n)`: row `r`'s output
    /// positions `out..out + n` read the input at `src`, `src + s`, …. The direct loops of
    /// the no-heap paths are built on it.
    #[inline(always)]
    pub fn runs(&self) -> impl Iterator<Item = (usize, usize, usize, usize)> {
        let g = *self;
        (0..g.taps()).flat_map(move |r| {
            g.segments(r, 0..g.positions())
                .filter(|seg| seg.valid > 0)
                .map(move |seg| (r, seg.at + seg.before, seg.src, seg.valid))
        })
    }
}

/// `dst ← src` (equal lengths) for runs of a few dozen floats, inline: whole vectors, the
/// last one overlapping the one before, where `copy_from_slice` would call `memcpy` for each
/// short run.
#[cfg(feature = "alloc")]
#[inline(always)]
fn copy(dst: &mut [f32], src: &[f32]) {
    #[inline(always)]
    fn ends<const N: usize>(dst: &mut [f32], src: &[f32]) {
        let n = dst.len();
        let (d16, _) = dst.as_chunks_mut::<N>();
        let (s16, _) = src.as_chunks::<N>();
        for (d, s) in d16.iter_mut().zip(s16) {
            *d = *s;
        }
        if let (Some(d), Some(s)) = (
            dst[n - N..].first_chunk_mut::<N>(),
            src[n - N..].first_chunk::<N>(),
        ) {
            *d = *s;
        }
    }
    match dst.len() {
        16.. => ends::<16>(dst, src),
        8.. => ends::<8>(dst, src),
        4.. => ends::<4>(dst, src),
        _ => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
    }
}

/// `dst += src` (equal lengths) for runs of a few dozen floats, inline: 8 at a time, then 4,
/// then one by one, where a plain loop would leave a run shorter than one vector (11 floats
/// for the example CNN's second layer) to scalar code.
#[cfg(feature = "alloc")]
#[inline(always)]
fn add(dst: &mut [f32], src: &[f32]) {
    let (d8, dst) = dst.as_chunks_mut::<8>();
    let (s8, src) = src.as_chunks::<8>();
    for (d, s) in d8.iter_mut().zip(s8) {
        for i in 0..8 {
            d[i] += s[i];
        }
    }
    let (d4, dst) = dst.as_chunks_mut::<4>();
    let (s4, src) = src.as_chunks::<4>();
    for (d, s) in d4.iter_mut().zip(s4) {
        for i in 0..4 {
            d[i] += s[i];
        }
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// How to cover a sample's patch matrix (`taps × oh·ow`) with blocks of at most `room`
/// floats: blocks of `rows_per` taps and `cols_per` columns, as even as possible. Whole taps
/// and whole output rows when they fit (the loops over whole rows are the fast ones), then
/// fewer taps, and only when a single output row is wider than `room`, parts of rows.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blocks {
    pub rows: usize,
    pub cols: usize,
    pub rows_per: usize,
    pub cols_per: usize,
}

#[cfg(feature = "alloc")]
impl Blocks {
    /// Blocks of at most `room` floats (`room` at least 1) for geometry `g`.
    pub fn new(g: &Geom, room: usize) -> Self {
        let (taps, oh, ow) = (g.taps(), g.oh, g.ow);
        let even = |n: usize, per: usize| n.div_ceil(n.div_ceil(per.clamp(1, n)));
        let (rows_per, cols_per) = if taps * ow <= room {
            (taps, even(oh, room / (taps * ow)) * ow)
        } else if ow <= room {
            (even(taps, room / ow), ow)
        } else {
            (1, even(oh * ow, room))
        };
        Blocks {
            rows: taps,
            cols: oh * ow,
            rows_per,
            cols_per,
        }
    }

    /// The blocks' column ranges.
    pub fn col_ranges(self) -> impl Iterator<Item = Range<usize>> {
        (0..self.cols)
            .step_by(self.cols_per)
            .map(move |c| c..(c + self.cols_per).min(self.cols))
    }

    /// The blocks' row ranges.
    pub fn row_ranges(self) -> impl Iterator<Item = Range<usize>> {
        (0..self.rows)
            .step_by(self.rows_per)
            .map(move |r| r..(r + self.rows_per).min(self.rows))
    }
}
