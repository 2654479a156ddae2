//! The training backward over a batch cut into blocks of samples: every block's gradients
//! added, and every sample's input gradient written, whatever the last block's remainder.

use super::tests::{geom, reference_backward, values};
use super::Grouped;
use std::{vec, vec::Vec};

/// Layers whose blocks hold from one to a few samples: ResNet-8's stride-2 3 × 3 convolutions
/// (TensorFlow's `same`) and 1 × 1 shortcuts, DS-CNN's 10 × 4 stride-2 first layer,
/// MobileNetV1's strided depthwise layer, a grouped one.
fn cases() -> Vec<Grouped> {
    vec![
        geom((16, 32, 1), (32, 32), (3, 3), (2, 2), (0, 1, 0, 1), 1),
        geom((32, 64, 1), (16, 16), (3, 3), (2, 2), (0, 1, 0, 1), 1),
        geom((16, 32, 1), (32, 32), (1, 1), (2, 2), (0, 0, 0, 0), 1),
        geom((1, 64, 1), (49, 10), (10, 4), (2, 2), (4, 5, 1, 1), 1),
        geom((16, 16, 16), (48, 48), (3, 3), (2, 2), (0, 1, 0, 1), 1),
        geom((8, 12, 4), (40, 40), (3, 3), (2, 2), (1, 1, 1, 1), 1),
    ]
}

#[test]
fn blocks_of_samples_match_a_float64_reference_on_every_remainder() {
    for (n, g) in cases().into_iter().enumerate() {
        let block = g.backward_block();
        // One block, one sample past it, and several blocks with a remainder.
        for batch in [1, block + 1, 2 * block + block.div_ceil(2)] {
            let w = values(g.cout * (g.cin / g.groups) * g.kh * g.kw, n);
            let x = values(batch * g.cin * g.h * g.w, n + 300);
            let dy = values(batch * g.cout * g.oh * g.ow, n + 400);
            let (want_w, want_b, want_x) = reference_backward(&g, &w, &x, &dy, batch);
            // Gradients are added to what is there, the input gradient overwritten.
            let mut gw = vec![1.0f32; w.len()];
            let mut gb = vec![1.0f32; g.cout];
            let mut dx = vec![f32::NAN; x.len()];
            g.backward_shifted(&w, &x, &dy, Some(&mut dx), &mut gw, &mut gb);
            // A weight's and a bias's sum have `batch · oh · ow` terms, an input's
            // `cout · kh · kw`; each below 1 in magnitude, with the 1 added.
            let n_w = (batch * g.oh * g.ow) as f64;
            let n_x = (g.cout / g.groups * g.kh * g.kw) as f64;
            for (what, got, want, plus, terms) in [
                ("weight", &gw, &want_w, 1.0, n_w),
                ("bias", &gb, &want_b, 1.0, n_w),
                ("input", &dx, &want_x, 0.0, n_x),
            ] {
                let tol = |e: f64| 8.0 * terms * f64::from(f32::EPSILON) * (1.0 + e.abs());
                for (k, (a, e)) in got.iter().zip(want.iter()).enumerate() {
                    let e = e + plus;
                    assert!(
                        (f64::from(*a) - e).abs() <= tol(e),
                        "{g:?}, batch {batch} in blocks of {block}: {what} gradient at {k}: {a} != {e}"
                    );
                }
            }
            // Without the input gradient, the same weight and bias gradients, bit for bit.
            let (mut gw2, mut gb2) = (vec![1.0f32; w.len()], vec![1.0f32; g.cout]);
            g.backward_shifted(&w, &x, &dy, None, &mut gw2, &mut gb2);
            assert_eq!((gw2, gb2), (gw, gb), "{g:?}, batch {batch}");
        }
    }
}

#[test]
fn blocks_are_cut_by_the_size_of_a_sample() {
    // ResNet-8's stride-2 3 × 3 layers take one sample at a time, its shortcuts two;
    // DS-CNN's first layer, of one input channel, three.
    let blocks: Vec<usize> = cases().iter().map(Grouped::backward_block).collect();
    assert_eq!(&blocks[..4], &[1, 1, 2, 3]);
}
