//! The 1-D convolution's forward pass and its causal one-step form, which add the same products
//! in the same order for every output, each product fused into its sum where the vector unit has
//! FMA (chosen once for every pass by `crate::kernels::recurrent::run`). So a step gives the
//! whole sequence's bits. The order: the input channels in groups of [`PART`]; the bias and the
//! first group's products, channel by channel and tap by tap, in one sum; then each next group's
//! products summed on their own from zero, in the same order, and added to it. The groups'
//! sums are independent, so that a step, whose terms would otherwise wait each for the one
//! before, runs them side by side.
//!
//! The whole sequence runs a block of outputs of one channel at a time, each tap adding its
//! products to the whole block (independent sums, side by side in vector registers); the outputs
//! whose taps reach into the padding run one by one, leaving those taps out, as a step leaves
//! out the taps before the first input.

use crate::kernels::recurrent::{madd, run, Steps};

/// Outputs of one channel summed together: 1 KiB of sums, which stay in the first-level cache
/// while every tap adds to them.
const TILE: usize = 256;

/// Input channels per group of products summed on their own.
const PART: usize = 4;

/// A 1-D convolution's geometry: `cin` channels of length `l` in `groups` groups to `cout`
/// channels of length `ol`, a kernel of `k` taps `d` apart moved by `s`, with `pl` zeros before
/// the sequence (those after it only bound `ol`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Conv1dGeom {
    pub cin: usize,
    pub cout: usize,
    pub groups: usize,
    pub k: usize,
    pub s: usize,
    pub pl: usize,
    pub d: usize,
    pub l: usize,
    pub ol: usize,
}

impl Conv1dGeom {
    /// `y ← conv(x) + bias` for one sample; `w` is `[cout, cin / groups, k]`.
    pub fn forward(&self, w: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
        run(Forward {
            g: *self,
            w,
            bias,
            x,
            y,
        });
    }
}

struct Forward<'a> {
    g: Conv1dGeom,
    w: &'a [f32],
    bias: &'a [f32],
    x: &'a [f32],
    y: &'a mut [f32],
}

impl Steps for Forward<'_> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        let Forward { g, w, bias, x, y } = self;
        let (cing, coutg) = (g.cin / g.groups, g.cout / g.groups);
        // The outputs whose every tap reads inside the sequence: `t·s ≥ pl` and
        // `t·s + (k − 1)·d − pl < l`.
        let reach = (g.k - 1) * g.d;
        let lo = g.pl.div_ceil(g.s).min(g.ol);
        let hi = if g.l + g.pl > reach {
            ((g.l - 1 + g.pl - reach) / g.s + 1).clamp(lo, g.ol)
        } else {
            lo
        };
        // A group's own sums over a tile, written before they are read.
        let mut sums = [0.0; TILE];
        for o in 0..g.cout {
            let wo = &w[o * cing * g.k..][..cing * g.k];
            let xs = &x[(o / coutg) * cing * g.l..][..cing * g.l];
            let yo = &mut y[o * g.ol..][..g.ol];
            let b = bias[o];
            let one = |t: usize| {
                let mut acc = b;
                for (n, part) in wo.chunks(PART * g.k).enumerate() {
                    let mut s = if n == 0 { b } else { 0.0 };
                    for (cj, taps) in part.chunks_exact(g.k).enumerate() {
                        let row = &xs[(n * PART + cj) * g.l..][..g.l];
                        for (kk, w) in taps.iter().enumerate() {
                            let at = t * g.s + kk * g.d;
                            if at >= g.pl && at - g.pl < g.l {
                                s = madd::<FMA>(*w, row[at - g.pl], s);
                            }
                        }
                    }
                    acc = if n == 0 { s } else { acc + s };
                }
                acc
            };
            for t in (0..lo).chain(hi..g.ol) {
                yo[t] = one(t);
            }
            // The interior: where the stride is 1, blocks of outputs held in vector registers
            // while every tap adds its products to them (eight AVX-512 registers, eight AVX2
            // ones, and as many for a group's own sums: the sizes that ran fastest on each in
            // `cargo bench`'s `conv_signal`); the
            // rest in tiles that stay in the first-level cache while every tap adds its
            // products to them.
            let mut t = lo;
            if g.s == 1 {
                t = if WIDE {
                    blocks::<FMA, 128>(g, wo, xs, b, t, hi, yo)
                } else {
                    blocks::<FMA, 64>(g, wo, xs, b, t, hi, yo)
                };
            }
            while t < hi {
                let n = (hi - t).min(TILE);
                let tile = &mut yo[t..t + n];
                for (p, part) in wo.chunks(PART * g.k).enumerate() {
                    let s = &mut sums[..n];
                    s.fill(if p == 0 { b } else { 0.0 });
                    for (cj, taps) in part.chunks_exact(g.k).enumerate() {
                        let row = &xs[(p * PART + cj) * g.l..][..g.l];
                        for (kk, w) in taps.iter().enumerate() {
                            let start = t * g.s + kk * g.d - g.pl;
                            if g.s == 1 {
                                for (a, x) in s.iter_mut().zip(&row[start..start + n]) {
                                    *a = madd::<FMA>(*w, *x, *a);
                                }
                            } else {
                                for (a, x) in s.iter_mut().zip(row[start..].iter().step_by(g.s)) {
                                    *a = madd::<FMA>(*w, *x, *a);
                                }
                            }
                        }
                    }
                    if p == 0 {
                        tile.copy_from_slice(s);
                    } else {
                        for (a, s) in tile.iter_mut().zip(&*s) {
                            *a += *s;
                        }
                    }
                }
                t += n;
            }
        }
    }
}

/// Outputs `t ..` of one channel of a convolution of stride 1 (weights `wo`, its group's
/// inputs `xs`, bias `b`), `V` at a time while `V` remain before `hi`, every tap reading
/// inside the sequence: each block's sums held in registers from the bias to the last term.
/// Returns where it stopped.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn blocks<const FMA: bool, const V: usize>(
    g: Conv1dGeom,
    wo: &[f32],
    xs: &[f32],
    b: f32,
    mut t: usize,
    hi: usize,
    yo: &mut [f32],
) -> usize {
    while t + V <= hi {
        let mut acc = [b; V];
        for (p, part) in wo.chunks(PART * g.k).enumerate() {
            let mut s = if p == 0 { acc } else { [0.0; V] };
            for (cj, taps) in part.chunks_exact(g.k).enumerate() {
                let row = &xs[(p * PART + cj) * g.l..][..g.l];
                for (kk, w) in taps.iter().enumerate() {
                    let start = t + kk * g.d - g.pl;
                    let x = &row[start..start + V];
                    for j in 0..V {
                        s[j] = madd::<FMA>(*w, x[j], s[j]);
                    }
                }
            }
            if p == 0 {
                acc = s;
            } else {
                for j in 0..V {
                    acc[j] += s[j];
                }
            }
        }
        yo[t..t + V].copy_from_slice(&acc);
        t += V;
    }
    t
}

/// One step of a causal convolution: `y ← bias + Σ_{ci, k} w[ci][k][o] · x(t − (K − 1 − k)·D)`
/// over the taps that reach an input, in the order of [`Conv1dGeom::forward`] (the module's),
/// compiled into its caller, which [`run`] has compiled for the vector unit that `FMA` says.
/// `hist[j]` is the input `j` steps back (`hist[0]` the newest, `K · D` rows), `seen` inputs
/// exist; `wt` is `[CING][K][COUT]`, the outputs side by side, so that a tap runs down them in
/// vector registers. Every tap's row is known to the compiler, and once `(K − 1)·D` inputs have
/// gone by every tap reads one, so that the steady state runs the taps with no test.
#[inline(always)]
pub(crate) fn step<
    const FMA: bool,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const D: usize,
    const G: usize,
    const CING: usize,
>(
    wt: &[[[f32; COUT]; K]; CING],
    bias: &[f32; COUT],
    hist: &[[f32; CIN]],
    seen: usize,
    y: &mut [f32; COUT],
) {
    let hist = &hist[..K * D];
    if seen > (K - 1) * D {
        *y = taps::<FMA, CIN, COUT, K, D, G, CING, true>(wt, bias, hist, seen);
    } else {
        *y = taps::<FMA, CIN, COUT, K, D, G, CING, false>(wt, bias, hist, seen);
    }
}

/// The sums of [`step`]; `ALL`: every tap reads an input.
#[inline(always)]
fn taps<
    const FMA: bool,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const D: usize,
    const G: usize,
    const CING: usize,
    const ALL: bool,
>(
    wt: &[[[f32; COUT]; K]; CING],
    bias: &[f32; COUT],
    hist: &[[f32; CIN]],
    seen: usize,
) -> [f32; COUT] {
    // The sums in local arrays, so that they stay in vector registers across the taps.
    let mut acc = *bias;
    let coutg = COUT / G;
    for (p, part) in wt.chunks(PART).enumerate() {
        let mut s = if p == 0 { acc } else { [0.0; COUT] };
        for (cj, taps) in part.iter().enumerate() {
            let ci = p * PART + cj;
            for (k, w) in taps.iter().enumerate() {
                let back = (K - 1 - k) * D;
                if !ALL && back >= seen {
                    continue;
                }
                let x = &hist[back];
                if G == 1 {
                    let v = x[ci];
                    for j in 0..COUT {
                        s[j] = madd::<FMA>(w[j], v, s[j]);
                    }
                } else {
                    for g in 0..G {
                        let v = x[g * CING + ci];
                        for j in g * coutg..(g + 1) * coutg {
                            s[j] = madd::<FMA>(w[j], v, s[j]);
                        }
                    }
                }
            }
        }
        if p == 0 {
            acc = s;
        } else {
            for j in 0..COUT {
                acc[j] += s[j];
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::{vec, vec::Vec};

    use super::Conv1dGeom;
    use crate::kernels::conv::grouped::Grouped;

    /// The forward pass against the general convolution's over an image of one row, at
    /// strides, paddings, dilations and groups whose outputs run in blocks and one by one.
    #[test]
    fn forward_is_the_general_convolution_s() {
        // (cin, cout, groups, k, s, pl, pr, d, l)
        let cases = [
            (2, 3, 1, 3, 1, 0, 0, 1, 150),
            (4, 6, 2, 4, 1, 9, 0, 3, 140),
            (3, 4, 1, 5, 2, 2, 2, 1, 300),
            (3, 3, 3, 3, 3, 1, 1, 2, 200),
            (1, 2, 1, 2, 1, 1, 1, 1, 5),
            // Channels in more than one part: 4, 4 and 1; 4 and 1 in each group.
            (9, 4, 1, 3, 2, 2, 2, 1, 300),
            (10, 4, 2, 3, 1, 2, 0, 2, 700),
        ];
        let mut rng = crate::Rng::seed(4);
        for (cin, cout, groups, k, s, pl, pr, d, l) in cases {
            let ol = (l + pl + pr - d * (k - 1) - 1) / s + 1;
            let w: Vec<f32> = (0..cout * cin / groups * k)
                .map(|_| rng.uniform(-1.0, 1.0))
                .collect();
            let b: Vec<f32> = (0..cout).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let x: Vec<f32> = (0..cin * l).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let mut got = vec![f32::NAN; cout * ol];
            let g = Conv1dGeom {
                cin,
                cout,
                groups,
                k,
                s,
                pl,
                d,
                l,
                ol,
            };
            g.forward(&w, &b, &x, &mut got);
            let mut want = vec![0.0; cout * ol];
            let general = Grouped {
                cin,
                cout,
                groups,
                h: 1,
                w: l,
                kh: 1,
                kw: k,
                sh: 1,
                sw: s,
                pt: 0,
                pl,
                dh: 1,
                dw: d,
                oh: 1,
                ow: ol,
            };
            general.forward(&w, &b, &x, &mut want);
            for (i, (a, e)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (a - e).abs() <= 1e-5 * (1.0 + e.abs()),
                    "{g:?} at {i}: {a} != {e}"
                );
            }
        }
    }
}
