//! Each pass against float64 on planes of every remainder of 16 lanes, with each
//! instruction set this CPU has giving the same bits.

use super::super::simd::forced;
use super::*;
use std::{vec, vec::Vec};

/// Values in −1..1 from a seed, without a generator, off centre by `shift`.
fn values(n: usize, seed: usize, shift: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0 + shift)
        .collect()
}

/// Shapes: planes of 1 to 33 floats (every remainder of 16 around one and two chunks), the
/// DS-CNN's 25 × 5 and ResNet-8's 8 × 8, one to three channels, one to five samples.
fn shapes() -> Vec<Planes> {
    let mut v = Vec::new();
    for plane in [1, 2, 5, 15, 16, 17, 31, 32, 33, 64, 125] {
        for (batch, channels) in [(1, 1), (2, 3), (5, 2)] {
            v.push(Planes {
                batch,
                channels,
                plane,
            });
        }
    }
    v
}

/// Runs `pass(isa)` on every instruction set this CPU has; the results, each with its set.
fn on_each_isa<T>(mut pass: impl FnMut(usize) -> Option<T>) -> Vec<(usize, T)> {
    (0..3)
        .filter_map(|isa| pass(isa).map(|t| (isa, t)))
        .collect()
}

/// `got` within `terms` roundings of float64's `want` (values below 1 in magnitude).
fn close(what: &str, at: Planes, got: &[f32], want: &[f64], terms: usize) {
    for (k, (a, e)) in got.iter().zip(want).enumerate() {
        let tol = 4.0 * terms as f64 * f64::from(f32::EPSILON) * (1.0 + e.abs());
        assert!(
            (f64::from(*a) - e).abs() <= tol,
            "{at:?}: {what} at {k}: {a} != {e}"
        );
    }
}

#[test]
fn statistics_match_a_float64_reference_with_the_same_bits_on_every_isa() {
    for (n, at) in shapes().into_iter().enumerate() {
        let x = values(at.batch * at.sample(), n, 0.25);
        let per = at.batch * at.plane;
        let xr = &x;
        let channel = |c: usize| {
            (0..at.batch).flat_map(move |s| {
                (0..at.plane).map(move |k| f64::from(xr[(s * at.channels + c) * at.plane + k]))
            })
        };
        let want_sum: Vec<f64> = (0..at.channels).map(|c| channel(c).sum()).collect();
        let mean: Vec<f32> = want_sum.iter().map(|s| (s / per as f64) as f32).collect();
        let want_sq: Vec<f64> = (0..at.channels)
            .map(|c| channel(c).map(|v| (v - f64::from(mean[c])).powi(2)).sum())
            .collect();
        let runs = on_each_isa(|isa| {
            let mut s = vec![0.5f64; at.channels];
            let mut q = vec![0.5f64; at.channels];
            let x = &x[..];
            let ran = forced(
                isa,
                Sums {
                    x,
                    at,
                    sums: &mut s,
                },
            );
            let mean = &mean[..];
            ran.then(|| {
                forced(
                    isa,
                    Squares {
                        x,
                        mean,
                        at,
                        sums: &mut q,
                    },
                )
            })
            .map(|_| (s, q))
        });
        for (isa, (s, q)) in &runs {
            // Added to what is there.
            let s: Vec<f32> = s.iter().map(|v| (v - 0.5) as f32).collect();
            let q: Vec<f32> = q.iter().map(|v| (v - 0.5) as f32).collect();
            close(&std::format!("isa {isa}: sum"), at, &s, &want_sum, per);
            close(&std::format!("isa {isa}: squares"), at, &q, &want_sq, per);
        }
        for (isa, r) in &runs[1..] {
            assert_eq!(r, &runs[0].1, "{at:?}: isa {isa} against the baseline");
        }
    }
}

#[test]
fn normalisation_and_gradients_match_a_float64_reference_with_the_same_bits_on_every_isa() {
    for (n, at) in shapes().into_iter().enumerate() {
        let len = at.batch * at.sample();
        let (x, dy) = (values(len, n, 0.25), values(len, n + 50, 0.0));
        let c_of = |k: usize| (k / at.plane) % at.channels;
        let mean = values(at.channels, n + 1, 0.0);
        let invstd: Vec<f32> = values(at.channels, n + 2, 0.0)
            .iter()
            .map(|v| 1.5 + v)
            .collect();
        let weight = values(at.channels, n + 3, 0.0);
        let bias = values(at.channels, n + 4, 0.0);
        let (md, mdx) = (
            values(at.channels, n + 5, 0.0),
            values(at.channels, n + 6, 0.0),
        );
        let xhat =
            |k: usize| (f64::from(x[k]) - f64::from(mean[c_of(k)])) * f64::from(invstd[c_of(k)]);
        let want_y: Vec<f64> = (0..len)
            .map(|k| xhat(k) * f64::from(weight[c_of(k)]) + f64::from(bias[c_of(k)]))
            .collect();
        let want_dx: Vec<f64> = (0..len)
            .map(|k| {
                let c = c_of(k);
                f64::from(weight[c])
                    * f64::from(invstd[c])
                    * (f64::from(dy[k]) - f64::from(md[c]) - xhat(k) * f64::from(mdx[c]))
            })
            .collect();
        let mut want_dy = vec![0.0f64; at.channels];
        let mut want_dyx = vec![0.0f64; at.channels];
        for k in 0..len {
            want_dy[c_of(k)] += f64::from(dy[k]);
            want_dyx[c_of(k)] += f64::from(dy[k]) * xhat(k);
        }
        let runs = on_each_isa(|isa| {
            let (x, dy, stats) = (&x[..], &dy[..], (&mean[..], &invstd[..]));
            let mut y = vec![f32::NAN; len];
            let affine = (&weight[..], &bias[..]);
            if !forced(
                isa,
                Normalize {
                    x,
                    y: &mut y,
                    stats,
                    affine,
                    at,
                },
            ) {
                return None;
            }
            let (mut sd, mut sdx) = (vec![0.0f32; at.channels], vec![0.0f32; at.channels]);
            let sums = (&mut sd[..], &mut sdx[..]);
            forced(
                isa,
                GradSums {
                    x,
                    dy,
                    stats,
                    at,
                    sums,
                },
            );
            let mut dx = vec![f32::NAN; len];
            let (weight, means) = (&weight[..], (&md[..], &mdx[..]));
            forced(
                isa,
                InputGrad {
                    x,
                    dy,
                    dx: &mut dx,
                    stats,
                    weight,
                    means,
                    at,
                },
            );
            Some((y, sd, sdx, dx))
        });
        let per = at.batch * at.plane;
        for (isa, (y, sd, sdx, dx)) in &runs {
            close(&std::format!("isa {isa}: y"), at, y, &want_y, 4);
            close(&std::format!("isa {isa}: Σdy"), at, sd, &want_dy, per);
            close(
                &std::format!("isa {isa}: Σdy·x̂"),
                at,
                sdx,
                &want_dyx,
                4 * per,
            );
            close(&std::format!("isa {isa}: dx"), at, dx, &want_dx, 8);
        }
        for (isa, r) in &runs[1..] {
            assert!(r == &runs[0].1, "{at:?}: isa {isa} against the baseline");
        }
    }
}
