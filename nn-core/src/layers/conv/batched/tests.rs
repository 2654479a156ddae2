//! The batched paths of `Conv2d` against the direct loops, with blocks small enough to take
//! every plan: groups of samples, one sample at a time, blocks of taps and parts of rows.

extern crate std;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::Rng;

fn close(got: &[f32], want: &[f32], what: &str) {
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        // Sums of a few hundred terms of order 1, in another order: a few roundings.
        assert!(
            (g - w).abs() <= 1e-5 * scale,
            "{what}: element {i}: {g} against {w}"
        );
    }
}

fn check<L: Layer + Clone>(
    forward: impl Fn(&L, &[f32], &mut [f32], usize, &mut [f32]),
    backward: impl Fn(&L, &[f32], &[f32], Option<&mut [f32]>, &mut [f32], &mut [f32]),
    direct: impl Fn(&L, &[f32], &[f32], Option<&mut [f32]>, &mut [f32]),
) {
    let batch = 5;
    let mut rng = Rng::seed(3);
    let mut layer = L::zeroed();
    layer.init(&mut rng);
    let x: Vec<f32> = (0..batch * L::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let dy: Vec<f32> = (0..batch * L::OUT)
        .map(|_| rng.uniform(-1.0, 1.0))
        .collect();
    let mut want_y = vec![0.0; batch * L::OUT];
    for (x, y) in x.chunks(L::IN).zip(want_y.chunks_mut(L::OUT)) {
        layer.forward(x, y);
    }
    let mut want_dx = vec![0.0; batch * L::IN];
    let mut want_g = vec![0.0; L::PARAMS];
    direct(&layer, &x, &dy, Some(&mut want_dx), &mut want_g);
    for room in [7, 40, 100, 300, 1000, 5000, BLOCK] {
        let mut block = vec![f32::NAN; room];
        let mut y = vec![f32::NAN; batch * L::OUT];
        forward(&layer, &x, &mut y, batch, &mut block);
        close(&y, &want_y, &std::format!("output, block of {room}"));
        let mut dx = vec![f32::NAN; batch * L::IN];
        let mut g = vec![0.0; L::PARAMS];
        backward(&layer, &x, &dy, Some(&mut dx), &mut g, &mut block);
        close(
            &dx,
            &want_dx,
            &std::format!("input gradient, block of {room}"),
        );
        close(
            &g,
            &want_g,
            &std::format!("parameter gradient, block of {room}"),
        );
        let mut g = vec![0.0; L::PARAMS];
        backward(&layer, &x, &dy, None, &mut g, &mut block);
        close(
            &g,
            &want_g,
            &std::format!("parameter gradient alone, block of {room}"),
        );
    }
}

macro_rules! cases {
    ($($name:ident: $t:ty,)*) => {$(
        #[test]
        fn $name() {
            check::<$t>(
                |l, x, y, b, blk| l.forward_blocks(x, y, b, blk),
                |l, x, dy, dx, g, blk| l.backward_blocks(x, dy, dx, g, blk),
                |l, x, dy, dx, g| l.backward_direct(x, dy, dx, g),
            );
        }
    )*};
}

cases! {
    few_channels: Conv2d<1, 3, 3, 1, 0, 9, 8>,
    stride_and_padding: Conv2d<2, 5, 3, 2, 1, 9, 7>,
    many_channels: Conv2d<3, 17, 2, 1, 1, 6, 5>,
    one_by_one: Conv2d<4, 2, 1, 1, 0, 5, 6>,
    wide_padding: Conv2d<2, 6, 3, 3, 2, 4, 5>,
    wide_rows: Conv2d<1, 2, 3, 1, 0, 4, 12>,
    without_bias: Conv2d<2, 5, 3, 2, 1, 9, 7, false>,
    many_channels_without_bias: Conv2d<3, 17, 2, 1, 1, 6, 5, false>,
}

#[test]
fn plans() {
    let g = <Conv2d<1, 8, 3, 1, 0, 28, 28> as Shape>::GEOM;
    assert!(matches!(
        Plan::new(&g, 8, BLOCK),
        Plan::Grouped {
            group: 2,
            cols_per: 676
        }
    ));
    let g = <Conv2d<8, 16, 3, 1, 0, 13, 13> as Shape>::GEOM;
    assert!(matches!(
        Plan::new(&g, 16, BLOCK),
        Plan::Grouped {
            group: 1,
            cols_per: 121
        }
    ));
    let g = <Conv2d<512, 16, 3, 1, 1, 64, 64> as Shape>::GEOM;
    assert!(matches!(Plan::new(&g, 16, BLOCK), Plan::Blocked(_)));
}

/// `Conv2d`'s definition in float64: the output, and for the output gradient `dy` the
/// weight, bias and input gradients, of the samples of `x`.
#[allow(clippy::type_complexity)]
fn reference<L: Shape>(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    dy: &[f32],
    cout: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let g = L::GEOM;
    let (k, plane) = (g.k, g.oh * g.ow);
    let (n_in, n_out) = (g.cin * g.h * g.w, cout * plane);
    let (mut y, mut gw, mut gb) = (
        vec![0.0; x.len() / n_in * n_out],
        vec![0.0; w.len()],
        vec![0.0; cout],
    );
    let mut dx = vec![0.0; x.len()];
    for s in 0..x.len() / n_in {
        for o in 0..cout {
            for p in 0..plane {
                let at = s * n_out + o * plane + p;
                let d = f64::from(dy[at]);
                y[at] = f64::from(b[o]);
                gb[o] += d;
                for c in 0..g.cin {
                    for t in 0..k * k {
                        let r = ((p / g.ow) * g.s + t / k) as isize - g.p as isize;
                        let q = ((p % g.ow) * g.s + t % k) as isize - g.p as isize;
                        if r < 0 || q < 0 || r >= g.h as isize || q >= g.w as isize {
                            continue;
                        }
                        let xi = s * n_in + (c * g.h + r as usize) * g.w + q as usize;
                        let wi = (o * g.cin + c) * k * k + t;
                        y[at] += f64::from(w[wi]) * f64::from(x[xi]);
                        gw[wi] += d * f64::from(x[xi]);
                        dx[xi] += d * f64::from(w[wi]);
                    }
                }
            }
        }
    }
    (y, gw, gb, dx)
}

/// Within a few roundings of a sum of `terms` terms below 1 in magnitude.
fn near(got: &[f32], want: &[f64], terms: usize, what: &str) {
    let tol = 8.0 * (terms as f64).sqrt() * f64::from(f32::EPSILON);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {i}: {g} against {w}"
        );
    }
}

/// The batched forward (1 × 1 layers as products, padded ones by the one-sample tiles) and
/// the 1 × 1 layers' backward against the float64 definition, over batches of several
/// chunks' remainders.
fn against_float64<L: Layer + Clone + Shape>(
    forward: impl Fn(&L, &[f32], &mut [f32]),
    backward: impl Fn(&L, &[f32], &[f32], Option<&mut [f32]>, &mut [f32]),
    params: impl Fn(&L) -> (&[f32], &[f32]),
    cout: usize,
) {
    for batch in [1, 5] {
        let mut rng = Rng::seed(5);
        let mut layer = L::zeroed();
        layer.init(&mut rng);
        let x: Vec<f32> = (0..batch * L::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let dy: Vec<f32> = (0..batch * L::OUT)
            .map(|_| rng.uniform(-1.0, 1.0))
            .collect();
        let (w, b) = params(&layer);
        let (y_want, gw_want, gb_want, dx_want) = reference::<L>(w, b, &x, &dy, cout);
        let mut y = vec![f32::NAN; batch * L::OUT];
        forward(&layer, &x, &mut y);
        let taps = L::GEOM.cin * L::GEOM.k * L::GEOM.k;
        near(&y, &y_want, taps, "output");
        let mut dx = vec![f32::NAN; batch * L::IN];
        let mut g = vec![0.0; L::PARAMS];
        backward(&layer, &x, &dy, Some(&mut dx), &mut g);
        let positions = batch * L::GEOM.oh * L::GEOM.ow;
        near(&g[..w.len()], &gw_want, positions, "weight gradient");
        near(
            &g[w.len()..],
            &gb_want[..g.len() - w.len()],
            positions,
            "bias gradient",
        );
        near(
            &dx,
            &dx_want,
            cout * L::GEOM.k * L::GEOM.k,
            "input gradient",
        );
    }
}

macro_rules! float64_cases {
    ($($name:ident: $t:ty, $cout:expr,)*) => {$(
        #[test]
        fn $name() {
            against_float64::<$t>(
                |l, x, y| l.forward_samples(x, y),
                |l, x, dy, dx, g| l.backward_blocks(x, dy, dx, g, &mut vec![0.0; BLOCK]),
                |l| (l.weight_matrix(), &l.bias[..]),
                $cout,
            );
        }
    )*};
}

float64_cases! {
    pointwise: Conv2d<4, 2, 1, 1, 0, 5, 6>, 2,
    pointwise_many_channels: Conv2d<17, 19, 1, 1, 0, 3, 7>, 19,
    pointwise_without_bias: Conv2d<3, 5, 1, 1, 0, 4, 4, false>, 5,
    padded_by_tiles: Conv2d<3, 17, 3, 1, 1, 6, 5>, 17,
    padded_strided_by_tiles: Conv2d<2, 5, 3, 2, 1, 9, 7, false>, 5,
}
