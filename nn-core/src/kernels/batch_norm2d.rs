//! `BatchNorm2d`'s passes over a batch of samples of `channels` planes of `plane` floats
//! each, compiled for the widest vector unit the CPU has (AVX-512 or AVX2, chosen at run
//! time, with `alloc` on x86-64; the build's baseline elsewhere). Every sum runs over 16
//! lanes in one order, so each instruction set gives the same bits.

use super::lane_sum;

/// A pass of this file: run compiled for the CPU's widest vector unit where one is chosen
/// at run time, as the build's baseline otherwise.
trait Pass {
    /// Runs the pass; `#[inline(always)]`, so that it is compiled into its vector caller.
    fn go(self);
}

#[cfg(feature = "alloc")]
macro_rules! dispatch {
    ($($t:ident),*) => {$(
        impl super::simd::Kernel for $t<'_> {
            #[inline(always)]
            fn run(self) {
                Pass::go(self)
            }
        }
    )*};
}
#[cfg(feature = "alloc")]
dispatch!(Sums, Squares, Normalize, GradSums, InputGrad);

/// Runs `p` on the widest vector unit with `alloc`, as the baseline without.
#[inline(always)]
fn run<P: Pass + Runnable>(p: P) {
    p.dispatch();
}

/// How a [`Pass`] is started: through [`super::simd::vectorized`] with `alloc`.
trait Runnable {
    fn dispatch(self);
}

#[cfg(feature = "alloc")]
impl<P: Pass + super::simd::Kernel> Runnable for P {
    #[inline(always)]
    fn dispatch(self) {
        super::simd::vectorized(self);
    }
}

#[cfg(not(feature = "alloc"))]
impl<P: Pass> Runnable for P {
    #[inline(always)]
    fn dispatch(self) {
        self.go();
    }
}

/// The shape of a batch: `batch` samples of `channels` planes of `plane` floats.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planes {
    /// Samples.
    pub batch: usize,
    /// Channels of a sample.
    pub channels: usize,
    /// Floats of a channel's plane.
    pub plane: usize,
}

impl Planes {
    /// Floats of one sample.
    #[inline(always)]
    fn sample(self) -> usize {
        self.channels * self.plane
    }
}

#[cfg(feature = "alloc")]
/// `Σ (v[k] − m)²` over 16 lanes, then the rest in order.
#[inline(always)]
fn centered_squares(v: &[f32], m: f32) -> f32 {
    let (chunks, tail) = v.as_chunks::<16>();
    let mut acc = [0.0f32; 16];
    for ch in chunks {
        for i in 0..16 {
            acc[i] += (ch[i] - m) * (ch[i] - m);
        }
    }
    acc.iter().sum::<f32>() + tail.iter().map(|v| (v - m) * (v - m)).sum::<f32>()
}

/// `Σ dy[k]·(x[k] − m)` over 16 lanes, then the rest in order.
#[inline(always)]
fn centered_dot(x: &[f32], dy: &[f32], m: f32) -> f32 {
    let (xc, xt) = x.as_chunks::<16>();
    let (dc, dt) = dy[..x.len()].as_chunks::<16>();
    let mut acc = [0.0f32; 16];
    for (x, d) in xc.iter().zip(dc) {
        for i in 0..16 {
            acc[i] += d[i] * (x[i] - m);
        }
    }
    acc.iter().sum::<f32>() + xt.iter().zip(dt).map(|(x, d)| d * (x - m)).sum::<f32>()
}

#[cfg(feature = "alloc")]
/// Per channel `c`, `sums[c] += Σ x` over the batch's planes of `c`, each plane's sum
/// ([`lane_sum`]) added in float64.
struct Sums<'a> {
    x: &'a [f32],
    at: Planes,
    sums: &'a mut [f64],
}

#[cfg(feature = "alloc")]
impl Pass for Sums<'_> {
    #[inline(always)]
    fn go(self) {
        for sample in self.x.chunks_exact(self.at.sample()).take(self.at.batch) {
            for (s, plane) in self.sums.iter_mut().zip(sample.chunks_exact(self.at.plane)) {
                *s += f64::from(lane_sum(plane));
            }
        }
    }
}

#[cfg(feature = "alloc")]
/// Per channel `c`, `sums[c] += Σ (x − mean[c])²` over the batch's planes of `c`, each
/// plane's sum added in float64.
struct Squares<'a> {
    x: &'a [f32],
    mean: &'a [f32],
    at: Planes,
    sums: &'a mut [f64],
}

#[cfg(feature = "alloc")]
impl Pass for Squares<'_> {
    #[inline(always)]
    fn go(self) {
        for sample in self.x.chunks_exact(self.at.sample()).take(self.at.batch) {
            let planes = sample.chunks_exact(self.at.plane);
            for ((s, plane), &m) in self.sums.iter_mut().zip(planes).zip(self.mean) {
                *s += f64::from(centered_squares(plane, m));
            }
        }
    }
}

#[cfg(feature = "alloc")]
/// `y = (x − mean[c])·invstd[c]·weight[c] + bias[c]` on every plane of channel `c`.
struct Normalize<'a> {
    x: &'a [f32],
    y: &'a mut [f32],
    stats: (&'a [f32], &'a [f32]),
    affine: (&'a [f32], &'a [f32]),
    at: Planes,
}

#[cfg(feature = "alloc")]
impl Pass for Normalize<'_> {
    #[inline(always)]
    fn go(self) {
        let ((mean, invstd), (weight, bias)) = (self.stats, self.affine);
        let n = self.at.sample();
        let samples = self.y.chunks_exact_mut(n).zip(self.x.chunks_exact(n));
        for (ys, xs) in samples.take(self.at.batch) {
            let planes = ys
                .chunks_exact_mut(self.at.plane)
                .zip(xs.chunks_exact(self.at.plane));
            for (c, (y, x)) in planes.enumerate() {
                let (m, s, w, b) = (mean[c], invstd[c], weight[c], bias[c]);
                for (y, x) in y.iter_mut().zip(x) {
                    *y = (x - m) * s * w + b;
                }
            }
        }
    }
}

/// Per channel `c`, `sum_dy[c] += Σ dy` and `sum_dy_xhat[c] += Σ dy·(x − mean[c]) ·
/// invstd[c]`, plane by plane.
struct GradSums<'a> {
    x: &'a [f32],
    dy: &'a [f32],
    stats: (&'a [f32], &'a [f32]),
    at: Planes,
    sums: (&'a mut [f32], &'a mut [f32]),
}

impl Pass for GradSums<'_> {
    #[inline(always)]
    fn go(self) {
        let ((mean, invstd), (sum_dy, sum_dy_xhat)) = (self.stats, self.sums);
        let n = self.at.sample();
        let samples = self.x.chunks_exact(n).zip(self.dy.chunks_exact(n));
        for (xs, dys) in samples.take(self.at.batch) {
            let planes = xs
                .chunks_exact(self.at.plane)
                .zip(dys.chunks_exact(self.at.plane));
            for (c, (x, dy)) in planes.enumerate() {
                sum_dy[c] += lane_sum(dy);
                sum_dy_xhat[c] += centered_dot(x, dy, mean[c]) * invstd[c];
            }
        }
    }
}

/// `dx = weight[c]·invstd[c]·(dy − mean_dy[c] − x̂·mean_dy_xhat[c])`, `x̂ = (x −
/// mean[c])·invstd[c]`, on every plane of channel `c`.
struct InputGrad<'a> {
    x: &'a [f32],
    dy: &'a [f32],
    dx: &'a mut [f32],
    stats: (&'a [f32], &'a [f32]),
    weight: &'a [f32],
    means: (&'a [f32], &'a [f32]),
    at: Planes,
}

impl Pass for InputGrad<'_> {
    #[inline(always)]
    fn go(self) {
        let ((mean, invstd), (mean_dy, mean_dy_xhat)) = (self.stats, self.means);
        let n = self.at.sample();
        let samples = self
            .dx
            .chunks_exact_mut(n)
            .zip(self.x.chunks_exact(n))
            .zip(self.dy.chunks_exact(n));
        for ((dxs, xs), dys) in samples.take(self.at.batch) {
            let planes = dxs
                .chunks_exact_mut(self.at.plane)
                .zip(xs.chunks_exact(self.at.plane))
                .zip(dys.chunks_exact(self.at.plane));
            for (c, ((dx, x), dy)) in planes.enumerate() {
                let (m, s) = (mean[c], invstd[c]);
                let scale = self.weight[c] * s;
                let (md, mdx) = (mean_dy[c], mean_dy_xhat[c]);
                for ((dx, x), dy) in dx.iter_mut().zip(x).zip(dy) {
                    let xhat = (x - m) * s;
                    *dx = scale * (dy - md - xhat * mdx);
                }
            }
        }
    }
}

#[cfg(feature = "alloc")]
/// Per channel, `Σ x` over the batch's planes into `sums`, in float64.
#[inline(always)]
pub(crate) fn sums(x: &[f32], at: Planes, sums: &mut [f64]) {
    run(Sums { x, at, sums });
}

#[cfg(feature = "alloc")]
/// Per channel `c`, `Σ (x − mean[c])²` over the batch's planes into `sums`, in float64.
#[inline(always)]
pub(crate) fn squares(x: &[f32], mean: &[f32], at: Planes, sums: &mut [f64]) {
    run(Squares { x, mean, at, sums });
}

#[cfg(feature = "alloc")]
/// `y = (x − mean)·invstd·weight + bias`, channel by channel: `stats` is `(mean, invstd)`,
/// `affine` `(weight, bias)`.
#[inline(always)]
pub(crate) fn normalize(
    x: &[f32],
    y: &mut [f32],
    stats: (&[f32], &[f32]),
    affine: (&[f32], &[f32]),
    at: Planes,
) {
    run(Normalize {
        x,
        y,
        stats,
        affine,
        at,
    });
}

/// Adds `Σ dy` and `Σ dy·x̂` per channel into `sums` (`stats` is `(mean, invstd)`).
#[inline(always)]
pub(crate) fn grad_sums(
    x: &[f32],
    dy: &[f32],
    stats: (&[f32], &[f32]),
    at: Planes,
    sums: (&mut [f32], &mut [f32]),
) {
    run(GradSums {
        x,
        dy,
        stats,
        at,
        sums,
    });
}

/// The input gradient of a batch normalised with `stats` (`(mean, invstd)`) and scaled by
/// `weight`, from the per-channel means of `dy` and `dy·x̂` (`means`).
#[inline(always)]
pub(crate) fn input_grad(
    (x, dy, dx): (&[f32], &[f32], &mut [f32]),
    stats: (&[f32], &[f32]),
    weight: &[f32],
    means: (&[f32], &[f32]),
    at: Planes,
) {
    run(InputGrad {
        x,
        dy,
        dx,
        stats,
        weight,
        means,
        at,
    });
}

#[cfg(all(test, feature = "alloc"))]
mod tests;
