//! The general convolution's loops: groups (depthwise when each group is one channel),
//! rectangular kernels and strides, padding that may differ on each side, dilation. Not a
//! matrix product: each output plane gains `w · x` along the runs of positions that a kernel
//! tap reads inside the input, so that a depthwise layer does exactly its multiply-adds.

/// A general convolution's geometry: `cin` channels of `h × w` in `groups` groups, to `cout`
/// channels of `oh × ow`, by a `kh × kw` kernel moved by `(sh, sw)`, dilated by `(dh, dw)`, with
/// `pt` rows of zeros above and `pl` columns on the left (those below and on the right
/// only bound `oh` and `ow`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grouped {
    pub cin: usize,
    pub cout: usize,
    pub groups: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub pt: usize,
    pub pl: usize,
    pub dh: usize,
    pub dw: usize,
    pub oh: usize,
    pub ow: usize,
}

/// The outputs `lo..hi` (of `n_out`) whose input index `o·s + off − pad` lies in `0..n_in`.
#[inline(always)]
fn span(n_out: usize, s: usize, off: usize, pad: usize, n_in: usize) -> (usize, usize) {
    // lo: the first o with o·s + off ≥ pad.
    let lo = if off >= pad {
        0
    } else {
        (pad - off).div_ceil(s)
    };
    // hi: one past the last o with o·s + off − pad < n_in.
    let hi = if n_in + pad > off {
        (n_in + pad - off - 1) / s + 1
    } else {
        0
    };
    (lo.min(n_out), hi.min(n_out).max(lo.min(n_out)))
}

impl Grouped {
    /// Input channels per group, the weight's second dimension.
    const fn cing(&self) -> usize {
        self.cin / self.groups
    }

    /// Calls `f(t, x0, y0, n)` for every output channel, input channel of its group, kernel
    /// tap and output row that reads inside the input: `t` is the tap's index in the weight,
    /// and the `n` outputs from index `y0` gain the tap times the inputs from index `x0`,
    /// `sw` apart.
    #[inline(always)]
    fn taps(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        let (cing, coutg) = (self.cing(), self.cout / self.groups);
        let plane = self.oh * self.ow;
        for o in 0..self.cout {
            let g = o / coutg;
            for ci in 0..cing {
                let c = g * cing + ci;
                for ki in 0..self.kh {
                    let (ilo, ihi) = span(self.oh, self.sh, ki * self.dh, self.pt, self.h);
                    for kj in 0..self.kw {
                        let tap = (ci * self.kh + ki) * self.kw + kj;
                        let (jlo, jhi) = span(self.ow, self.sw, kj * self.dw, self.pl, self.w);
                        if jlo >= jhi {
                            continue;
                        }
                        for i in ilo..ihi {
                            let ih = i * self.sh + ki * self.dh - self.pt;
                            // The first output `jlo` reads column `jlo·sw + kj·d − pl`.
                            let x0 =
                                (c * self.h + ih) * self.w + jlo * self.sw + kj * self.dw - self.pl;
                            let y0 = o * plane + i * self.ow + jlo;
                            f(o * cing * self.kh * self.kw + tap, x0, y0, jhi - jlo);
                        }
                    }
                }
            }
        }
    }

    /// `y ← conv(x) + bias` for one sample.
    pub fn forward(&self, weight: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
        for (plane, b) in y.chunks_exact_mut(self.oh * self.ow).zip(bias) {
            plane.fill(*b);
        }
        let sw = self.sw;
        self.taps(|t, x0, y0, n| {
            let w = weight[t];
            let y = &mut y[y0..][..n];
            if sw == 1 {
                for (y, x) in y.iter_mut().zip(&x[x0..][..n]) {
                    *y += w * x;
                }
            } else {
                for (y, x) in y.iter_mut().zip(x[x0..].iter().step_by(sw)) {
                    *y += w * x;
                }
            }
        });
    }

    /// Adds one sample's weight gradient into `gw` and bias gradient into `gb` (when not
    /// empty), and writes its input gradient into `dx` when given. Builds with `std` take
    /// the batched products of `shifted.rs` instead.
    #[cfg_attr(feature = "std", allow(dead_code))]
    pub fn backward(
        &self,
        weight: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
    ) {
        let sw = self.sw;
        for (g, plane) in gb.iter_mut().zip(dy.chunks_exact(self.oh * self.ow)) {
            *g += plane.iter().sum::<f32>();
        }
        self.taps(|t, x0, y0, n| {
            let d = &dy[y0..][..n];
            let mut s = 0.0f32;
            for (d, x) in d.iter().zip(x[x0..].iter().step_by(sw)) {
                s += d * x;
            }
            gw[t] += s;
        });
        let Some(dx) = dx else { return };
        dx.fill(0.0);
        self.taps(|t, x0, y0, n| {
            let w = weight[t];
            for (dx, d) in dx[x0..].iter_mut().step_by(sw).zip(&dy[y0..][..n]) {
                *dx += w * d;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{span, Grouped};

    /// The definition, output by output, every tap tested against the padded input.
    fn naive(g: &Grouped, w: &[f32], b: &[f32], x: &[f32]) -> [f32; 512] {
        let mut y = [0.0; 512];
        let (cing, coutg) = (g.cin / g.groups, g.cout / g.groups);
        for o in 0..g.cout {
            for i in 0..g.oh {
                for j in 0..g.ow {
                    let mut acc = b[o];
                    for ci in 0..cing {
                        let c = (o / coutg) * cing + ci;
                        for ki in 0..g.kh {
                            for kj in 0..g.kw {
                                let r = (i * g.sh + ki * g.dh) as isize - g.pt as isize;
                                let q = (j * g.sw + kj * g.dw) as isize - g.pl as isize;
                                if r < 0 || q < 0 || r >= g.h as isize || q >= g.w as isize {
                                    continue;
                                }
                                let wi = ((o * cing + ci) * g.kh + ki) * g.kw + kj;
                                acc += w[wi] * x[(c * g.h + r as usize) * g.w + q as usize];
                            }
                        }
                    }
                    y[(o * g.oh + i) * g.ow + j] = acc;
                }
            }
        }
        y
    }

    #[test]
    fn forward_is_the_definition() {
        // (cin, cout, groups, h, w, kh, kw, sh, sw, pt, pb, pl, pr, (dh, dw))
        let cases = [
            (2, 2, 2, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, (1, 1)),
            (4, 6, 2, 6, 5, 3, 2, 2, 1, 0, 1, 2, 0, (1, 1)),
            (1, 3, 1, 7, 6, 2, 3, 3, 2, 1, 1, 0, 1, (2, 2)),
            (3, 3, 3, 4, 4, 1, 1, 2, 2, 0, 0, 0, 0, (1, 1)),
            (2, 4, 1, 3, 3, 3, 3, 1, 1, 2, 2, 2, 2, (2, 2)),
            (2, 2, 1, 7, 5, 3, 3, 1, 1, 2, 2, 1, 1, (2, 1)),
            (2, 4, 2, 5, 8, 2, 3, 1, 2, 0, 1, 1, 1, (1, 3)),
        ];
        for (cin, cout, groups, h, w, kh, kw, sh, sw, pt, pb, pl, pr, (dh, dw)) in cases {
            let oh = (h + pt + pb - dh * (kh - 1) - 1) / sh + 1;
            let ow = (w + pl + pr - dw * (kw - 1) - 1) / sw + 1;
            let g = Grouped {
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
                dh,
                dw,
                oh,
                ow,
            };
            let wt: [f32; 256] = core::array::from_fn(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0);
            let x: [f32; 256] = core::array::from_fn(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0);
            let b = [0.5, -0.25, 0.125, 1.0, -1.0, 0.0];
            let mut y = [0.0; 512];
            let n = cout * oh * ow;
            g.forward(&wt, &b[..cout], &x[..cin * h * w], &mut y[..n]);
            let want = naive(&g, &wt, &b, &x);
            for (k, (a, e)) in y[..n].iter().zip(&want[..n]).enumerate() {
                assert!(
                    (a - e).abs() <= 1e-5 * (1.0 + e.abs()),
                    "{g:?} at {k}: {a} != {e}"
                );
            }
        }
    }

    #[test]
    fn spans_keep_reads_inside() {
        // 5 inputs, kernel offset 0, padding 1, stride 2: outputs 0..3 read −1, 1, 3.
        assert_eq!(span(3, 2, 0, 1, 5), (1, 3));
        assert_eq!(span(3, 2, 2, 1, 5), (0, 2));
        assert_eq!(span(2, 1, 0, 0, 1), (0, 1));
        assert_eq!(span(4, 1, 0, 5, 2), (4, 4));
    }
}
