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
