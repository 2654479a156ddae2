use super::{tile, Grouped, Isa, Taps, LANES, ROWS};
use std::{vec, vec::Vec};

/// The definition in float64, output by output.
fn reference(g: &Grouped, w: &[f32], b: &[f32], x: &[f32]) -> Vec<f64> {
    let (cing, coutg) = (g.cin / g.groups, g.cout / g.groups);
    let mut y = vec![0.0f64; g.cout * g.oh * g.ow];
    for o in 0..g.cout {
        for i in 0..g.oh {
            for j in 0..g.ow {
                let mut acc = f64::from(b[o]);
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
                            let xi = (c * g.h + r as usize) * g.w + q as usize;
                            acc += f64::from(w[wi]) * f64::from(x[xi]);
                        }
                    }
                }
                y[(o * g.oh + i) * g.ow + j] = acc;
            }
        }
    }
    y
}

/// Values in −1..1 from a seed, without a generator.
pub(super) fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
        .collect()
}

/// A geometry with `pb`, `pr` rows and columns of padding below and right.
#[allow(clippy::too_many_arguments)]
pub(super) fn geom(
    (cin, cout, groups): (usize, usize, usize),
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    (pt, pb, pl, pr): (usize, usize, usize, usize),
    d: usize,
) -> Grouped {
    Grouped {
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
        dh: d,
        dw: d,
        oh: (h + pt + pb - d * (kh - 1) - 1) / sh + 1,
        ow: (w + pl + pr - d * (kw - 1) - 1) / sw + 1,
    }
}

/// Every layer of the MLPerf Tiny models' kinds, and sizes that leave every remainder:
/// output channels not a multiple of the tile's rows, wide grids not a multiple of its
/// lanes, several passes over the input channels, strides, dilation, groups.
fn cases() -> Vec<Grouped> {
    vec![
        // DS-CNN: 10 × 4 stride 2 same; depthwise 3 × 3 same; 1 × 1.
        geom((1, 64, 1), (49, 10), (10, 4), (2, 2), (4, 5, 1, 1), 1),
        geom((64, 64, 64), (25, 5), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((64, 64, 1), (25, 5), (1, 1), (1, 1), (0, 0, 0, 0), 1),
        // ResNet-8: 3 × 3 same, its stride-2 same, the 1 × 1 stride-2 shortcut.
        geom((16, 16, 1), (32, 32), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((16, 32, 1), (32, 32), (3, 3), (2, 2), (0, 1, 0, 1), 1),
        geom((16, 32, 1), (32, 32), (1, 1), (2, 2), (0, 0, 0, 0), 1),
        // MobileNetV1's first layers, a stride-2 depthwise layer.
        geom((3, 8, 1), (17, 17), (3, 3), (2, 2), (0, 1, 0, 1), 1),
        geom((16, 16, 16), (12, 12), (3, 3), (2, 2), (0, 1, 0, 1), 1),
        // Remainders: 7 and 5 output channels, 3 groups of 2, dilation, a rectangular
        // stride, more taps than one pass sums (several passes over the input).
        geom((3, 7, 1), (5, 9), (2, 3), (1, 2), (1, 0, 2, 1), 2),
        geom((6, 6, 3), (7, 4), (3, 2), (2, 1), (1, 1, 0, 1), 1),
        geom((5, 5, 5), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),
        geom((130, 5, 1), (4, 4), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((2, 3, 1), (40, 90), (3, 3), (1, 1), (1, 1, 1, 1), 2),
    ]
}

#[test]
fn forward_matches_a_float64_reference() {
    for (n, g) in cases().into_iter().enumerate() {
        let w = values(g.cout * (g.cin / g.groups) * g.kh * g.kw, n);
        let b = values(g.cout, n + 100);
        let x = values(g.cin * g.h * g.w, n + 200);
        let want = reference(&g, &w, &b, &x);
        let mut y = vec![f32::NAN; want.len()];
        assert!(
            g.forward_shifted(&w, &b, &x, &mut y),
            "{g:?} fits the buffer"
        );
        let taps = (g.cin / g.groups * g.kh * g.kw) as f64;
        for (k, (a, e)) in y.iter().zip(&want).enumerate() {
            // f32 sums of `taps` products of values below 1 in magnitude.
            let tol = 4.0 * taps * f64::from(f32::EPSILON) * (1.0 + e.abs());
            assert!((f64::from(*a) - e).abs() <= tol, "{g:?} at {k}: {a} != {e}");
        }
    }
}

/// The backward pass in float64: the weight, bias and input gradients of `batch`
/// samples.
pub(super) fn reference_backward(
    g: &Grouped,
    w: &[f32],
    x: &[f32],
    dy: &[f32],
    batch: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (cing, coutg) = (g.cin / g.groups, g.cout / g.groups);
    let (n_in, n_out) = (g.cin * g.h * g.w, g.cout * g.oh * g.ow);
    let mut gw = vec![0.0f64; w.len()];
    let mut gb = vec![0.0f64; g.cout];
    let mut dx = vec![0.0f64; batch * n_in];
    for s in 0..batch {
        for o in 0..g.cout {
            for i in 0..g.oh {
                for j in 0..g.ow {
                    let d = f64::from(dy[s * n_out + (o * g.oh + i) * g.ow + j]);
                    gb[o] += d;
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
                                let xi = s * n_in + (c * g.h + r as usize) * g.w + q as usize;
                                gw[wi] += d * f64::from(x[xi]);
                                dx[xi] += d * f64::from(w[wi]);
                            }
                        }
                    }
                }
            }
        }
    }
    (gw, gb, dx)
}

#[test]
fn backward_matches_a_float64_reference() {
    let batch = 3;
    for (n, g) in cases().into_iter().enumerate() {
        let w = values(g.cout * (g.cin / g.groups) * g.kh * g.kw, n);
        let x = values(batch * g.cin * g.h * g.w, n + 300);
        let dy = values(batch * g.cout * g.oh * g.ow, n + 400);
        let (want_w, want_b, want_x) = reference_backward(&g, &w, &x, &dy, batch);
        // Gradients are added to what is there, the input gradient overwritten.
        let mut gw = vec![1.0f32; w.len()];
        let mut gb = vec![1.0f32; g.cout];
        let mut dx = vec![f32::NAN; x.len()];
        g.backward_shifted(&w, &x, &dy, Some(&mut dx), &mut gw, &mut gb);
        // Each sum has at most this many terms, of magnitude below 1.
        let terms = (batch * g.cout.max(g.cin) * g.oh * g.ow * g.kh * g.kw) as f64;
        let tol = |e: f64| 32.0 * terms.sqrt() * f64::from(f32::EPSILON) * (1.0 + e.abs());
        for (what, got, want, plus) in [
            ("weight", &gw, &want_w, 1.0),
            ("bias", &gb, &want_b, 1.0),
            ("input", &dx, &want_x, 0.0),
        ] {
            for (k, (a, e)) in got.iter().zip(want.iter()).enumerate() {
                let e = e + plus;
                assert!(
                    (f64::from(*a) - e).abs() <= tol(e),
                    "{g:?}: {what} gradient at {k}: {a} != {e}"
                );
            }
        }
    }
}

/// Each instruction set's tile against the float64 sum, for 1 to `ROWS` rows.
#[test]
fn tiles_match_a_float64_reference() {
    let taps = 37;
    // Room for 8 rows 5 floats apart.
    let buf = values(taps * 3 + LANES + 5 * ROWS, 1);
    let w = values(ROWS * 50, 2);
    let offs: Vec<usize> = (0..taps).map(|t| (t * 3) % (taps * 3)).collect();
    // Every instruction set this CPU has, not only the one `Isa::detect` picks.
    #[allow(unused_mut)]
    let mut isas = vec![Isa::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            isas.push(Isa::Avx2);
        }
        if std::is_x86_feature_detected!("avx512f") {
            isas.push(Isa::Avx512);
        }
    }
    for (isa, shift) in isas.into_iter().flat_map(|i| [(i, 0), (i, 5)]) {
        for rows in 1..=ROWS {
            let mut acc = [[0.5f32; LANES]; ROWS];
            tile(
                isa,
                rows,
                &buf,
                Taps::new(&offs).shifted(shift),
                &w,
                50,
                &mut acc,
            );
            for (r, acc) in acc.iter().enumerate() {
                for (k, a) in acc.iter().enumerate() {
                    let want = if r < rows {
                        offs.iter()
                            .enumerate()
                            .map(|(t, o)| {
                                f64::from(w[r * 50 + t]) * f64::from(buf[o + r * shift + k])
                            })
                            .sum::<f64>()
                    } else {
                        0.5
                    };
                    let tol = 4.0 * taps as f64 * f64::from(f32::EPSILON);
                    assert!(
                        (f64::from(*a) - want).abs() <= tol,
                        "{isa:?}, {rows} rows {shift} apart: row {r} lane {k}: {a} != {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_channel_too_large_for_the_buffer_is_refused() {
    let g = geom((1, 1, 1), (200, 200), (3, 3), (1, 1), (1, 1, 1, 1), 1);
    let mut y = vec![0.0; g.oh * g.ow];
    let x = vec![0.0; g.h * g.w];
    assert!(!g.forward_shifted(&[0.0; 9], &[0.0], &x, &mut y));
}

/// Every instruction set this CPU has.
fn isas() -> Vec<Isa> {
    #[allow(unused_mut)]
    let mut isas = vec![Isa::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            isas.push(Isa::Avx2);
        }
        if std::is_x86_feature_detected!("avx512f") {
            isas.push(Isa::Avx512);
        }
    }
    isas
}

/// Stride-1 geometries of one group for the direct gradient kernels: output channels 1 to 9
/// (every remainder of tiles of 4 and 3 rows), weights per output channel not a multiple of
/// 6 or 3 (1, 2, 4, 5, 7, 8, 10, 13 …), wide grids of every remainder of 16 lanes, padding
/// from none to the kernel's size less one, rectangular kernels and padding that differs by
/// side.
fn stride1_cases() -> Vec<Grouped> {
    let mut v = vec![
        // The example CNN's layers, and ResNet-8's 3 × 3 same.
        geom((1, 8, 1), (28, 28), (3, 3), (1, 1), (0, 0, 0, 0), 1),
        geom((8, 16, 1), (13, 13), (3, 3), (1, 1), (0, 0, 0, 0), 1),
        geom((16, 16, 1), (32, 32), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((5, 7, 1), (9, 11), (2, 3), (1, 1), (1, 0, 2, 1), 1),
        geom((3, 5, 1), (6, 6), (5, 5), (1, 1), (4, 4, 4, 4), 1),
        geom((130, 5, 1), (4, 4), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((2, 3, 1), (40, 90), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((4, 6, 1), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ];
    for cout in 1..=9 {
        for (cin, k) in [(1, 1), (2, 1), (1, 2), (5, 1), (7, 1), (13, 1), (1, 3)] {
            // Output widths 1 to 22: wide grids of most remainders of 16.
            let w = cout + 2 * cin + k - 1;
            v.push(geom(
                (cin, cout, 1),
                (3, w),
                (k, k),
                (1, 1),
                (k - 1, 0, 0, k - 1),
                1,
            ));
        }
    }
    v
}

#[test]
fn direct_gradients_match_a_float64_reference_with_the_same_bits_on_every_isa() {
    for batch in [1, 3] {
        for (n, g) in stride1_cases().into_iter().enumerate() {
            let w = values(g.cout * g.cin * g.kh * g.kw, n);
            let x = values(batch * g.cin * g.h * g.w, n + 300);
            let dy = values(batch * g.cout * g.oh * g.ow, n + 400);
            let (want_w, want_b, want_x) = reference_backward(&g, &w, &x, &dy, batch);
            let mut first: Option<Vec<Vec<u32>>> = None;
            for isa in isas() {
                // Gradients are added to what is there, the input gradient overwritten.
                let mut gw = vec![1.0f32; w.len()];
                let mut gb = vec![1.0f32; g.cout];
                let mut dx = vec![f32::NAN; x.len()];
                assert!(
                    g.backward_direct_on(isa, &w, &x, &dy, Some(&mut dx), &mut gw, &mut gb),
                    "{g:?} is taken"
                );
                // A weight's sum has `batch · oh · ow` terms, an input's `cout · kh · kw`, a
                // bias's `batch · oh · ow`; each below 1 in magnitude, with the 1 added.
                let n_w = (batch * g.oh * g.ow) as f64;
                let n_x = (g.cout * g.kh * g.kw) as f64;
                for (what, got, want, plus, terms) in [
                    ("weight", &gw, &want_w, 1.0, n_w),
                    ("bias", &gb, &want_b, 1.0, n_w),
                    ("input", &dx, &want_x, 0.0, n_x),
                ] {
                    // As `backward_matches_a_float64_reference` bounds it.
                    let tol =
                        |e: f64| 32.0 * terms.sqrt() * f64::from(f32::EPSILON) * (1.0 + e.abs());
                    for (k, (a, e)) in got.iter().zip(want.iter()).enumerate() {
                        let e = e + plus;
                        assert!(
                            (f64::from(*a) - e).abs() <= tol(e),
                            "{isa:?}, {g:?}, batch {batch}: {what} gradient at {k}: {a} != {e}"
                        );
                    }
                }
                let got: Vec<Vec<u32>> = [&gw, &gb, &dx]
                    .iter()
                    .map(|v| v.iter().map(|f| f.to_bits()).collect())
                    .collect();
                match &first {
                    None => first = Some(got),
                    Some(f) => assert!(*f == got, "{isa:?}, {g:?}: other bits than the first"),
                }
            }
            // Without the input gradient, the same parameter gradients.
            let mut gw = vec![1.0f32; w.len()];
            let mut gb = vec![1.0f32; g.cout];
            let isa = *isas().last().expect("the portable loops at least");
            assert!(g.backward_direct_on(isa, &w, &x, &dy, None, &mut gw, &mut gb));
            let first = first.expect("the portable loops at least");
            assert!(gw.iter().map(|f| f.to_bits()).eq(first[0].iter().copied()));
            assert!(gb.iter().map(|f| f.to_bits()).eq(first[1].iter().copied()));
        }
    }
}

#[test]
fn direct_gradients_refuse_strides_groups_dilation_and_wide_padding() {
    for g in [
        geom((2, 2, 1), (8, 8), (3, 3), (2, 2), (1, 1, 1, 1), 1),
        geom((4, 4, 2), (8, 8), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((2, 2, 2), (8, 8), (3, 3), (2, 2), (1, 1, 1, 1), 1),
        geom((2, 2, 1), (8, 8), (3, 3), (1, 1), (2, 2, 2, 2), 2),
        geom((2, 2, 1), (8, 8), (3, 3), (1, 1), (3, 0, 0, 0), 1),
    ] {
        let w = values(g.cout * g.cin / g.groups * g.kh * g.kw, 1);
        let x = values(g.cin * g.h * g.w, 2);
        let dy = values(g.cout * g.oh * g.ow, 3);
        let (mut gw, mut gb) = (vec![0.0; w.len()], vec![0.0; g.cout]);
        for isa in isas() {
            let taken = g.backward_direct_on(isa, &w, &x, &dy, None, &mut gw, &mut gb);
            assert!(!taken, "{isa:?}, {g:?}");
        }
        assert!(
            !g.backward_direct(&w, &x, &dy, None, &mut gw, &mut gb),
            "{g:?}"
        );
        assert!(
            gw.iter().chain(&gb).all(|v| *v == 0.0),
            "{g:?} wrote nothing"
        );
    }
}

/// Depthwise geometries: kernels of 1, 4, 9, 10 and 25 taps (every remainder of tiles of 9
/// taps: 1, 4, 9, 9 + 1, 9 + 9 + 7), wide grids of several remainders of 16 lanes, padding
/// from none to the kernel's size less one, padding that differs by side; strides for the
/// forward pass.
fn depthwise_cases(strides: bool) -> Vec<Grouped> {
    let mut v = vec![
        // DS-CNN's and MobileNetV1's 3 × 3 same.
        geom((64, 64, 64), (25, 5), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((8, 8, 8), (48, 48), (3, 3), (1, 1), (1, 1, 1, 1), 1),
        geom((3, 3, 3), (4, 7), (1, 1), (1, 1), (0, 0, 0, 0), 1),
        geom((2, 2, 2), (5, 6), (2, 2), (1, 1), (1, 0, 0, 1), 1),
        geom((5, 5, 5), (9, 3), (2, 5), (1, 1), (1, 0, 2, 2), 1),
        geom((2, 2, 2), (7, 19), (5, 5), (1, 1), (4, 4, 4, 4), 1),
        geom((3, 3, 3), (6, 33), (5, 5), (1, 1), (0, 2, 2, 0), 1),
        geom((2, 2, 2), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ];
    if strides {
        v.extend([
            geom((16, 16, 16), (12, 12), (3, 3), (2, 2), (0, 1, 0, 1), 1),
            geom((3, 3, 3), (11, 9), (3, 2), (2, 1), (1, 1, 0, 1), 1),
            geom((2, 2, 2), (9, 9), (3, 3), (1, 1), (2, 2, 2, 2), 2),
        ]);
    }
    v
}

#[test]
fn depthwise_batches_match_a_float64_reference_with_the_same_bits_on_every_isa() {
    // Batches of every remainder of tiles of `ROWS` samples.
    for batch in [1, 3, 8, 9, 17] {
        for (n, g) in depthwise_cases(true).into_iter().enumerate() {
            let kk = g.kh * g.kw;
            let w = values(g.cout * kk, n);
            let b = values(g.cout, n + 100);
            let x = values(batch * g.cin * g.h * g.w, n + 200);
            let out = g.cout * g.oh * g.ow;
            let mut first: Option<Vec<u32>> = None;
            for isa in isas() {
                let mut y = vec![f32::NAN; batch * out];
                assert!(g.forward_depthwise_on(isa, &w, &b, &x, &mut y), "{g:?}");
                for (s, y) in y.chunks_exact(out).enumerate() {
                    let want = reference(&g, &w, &b, &x[s * g.cin * g.h * g.w..]);
                    for (k, (a, e)) in y.iter().zip(&want).enumerate() {
                        let tol = 4.0 * kk as f64 * f64::from(f32::EPSILON) * (1.0 + e.abs());
                        assert!(
                            (f64::from(*a) - e).abs() <= tol,
                            "{isa:?}, {g:?}, sample {s}: output {k}: {a} != {e}"
                        );
                    }
                }
                let got: Vec<u32> = y.iter().map(|v| v.to_bits()).collect();
                match &first {
                    None => first = Some(got),
                    Some(f) => assert!(*f == got, "{isa:?}, {g:?}: other bits than the first"),
                }
            }
        }
    }
    // Not depthwise: refused, nothing written.
    let g = geom((4, 4, 2), (6, 6), (3, 3), (1, 1), (1, 1, 1, 1), 1);
    let mut y = vec![0.0; g.cout * g.oh * g.ow];
    let x = values(g.cin * g.h * g.w, 1);
    assert!(!g.forward_depthwise(&values(36, 2), &[0.0; 4], &x, &mut y));
    assert!(y.iter().all(|v| *v == 0.0));
}

#[test]
fn depthwise_gradients_match_a_float64_reference_with_the_same_bits_on_every_isa() {
    for batch in [1, 3, 8, 9, 17] {
        for (n, g) in depthwise_cases(false).into_iter().enumerate() {
            let kk = g.kh * g.kw;
            let w = values(g.cout * kk, n);
            let x = values(batch * g.cin * g.h * g.w, n + 300);
            let dy = values(batch * g.cout * g.oh * g.ow, n + 400);
            let (want_w, want_b, want_x) = reference_backward(&g, &w, &x, &dy, batch);
            let mut first: Option<Vec<Vec<u32>>> = None;
            for isa in isas() {
                // Gradients are added to what is there, the input gradient overwritten.
                let mut gw = vec![1.0f32; w.len()];
                let mut gb = vec![1.0f32; g.cout];
                let mut dx = vec![f32::NAN; x.len()];
                assert!(
                    g.backward_direct_on(isa, &w, &x, &dy, Some(&mut dx), &mut gw, &mut gb),
                    "{g:?} is taken"
                );
                // A weight's and a bias's sum have `batch · oh · ow` terms, an input's `kk`.
                let n_w = (batch * g.oh * g.ow) as f64;
                for (what, got, want, plus, terms) in [
                    ("weight", &gw, &want_w, 1.0, n_w),
                    ("bias", &gb, &want_b, 1.0, n_w),
                    ("input", &dx, &want_x, 0.0, kk as f64),
                ] {
                    let tol =
                        |e: f64| 32.0 * terms.sqrt() * f64::from(f32::EPSILON) * (1.0 + e.abs());
                    for (k, (a, e)) in got.iter().zip(want.iter()).enumerate() {
                        let e = e + plus;
                        assert!(
                            (f64::from(*a) - e).abs() <= tol(e),
                            "{isa:?}, {g:?}, batch {batch}: {what} gradient at {k}: {a} != {e}"
                        );
                    }
                }
                let got: Vec<Vec<u32>> = [&gw, &gb, &dx]
                    .iter()
                    .map(|v| v.iter().map(|f| f.to_bits()).collect())
                    .collect();
                // Without the input gradient, the same parameter gradients.
                let (mut gw, mut gb) = (vec![1.0f32; w.len()], vec![1.0f32; g.cout]);
                assert!(g.backward_direct_on(isa, &w, &x, &dy, None, &mut gw, &mut gb));
                assert!(gw.iter().map(|f| f.to_bits()).eq(got[0].iter().copied()));
                assert!(gb.iter().map(|f| f.to_bits()).eq(got[1].iter().copied()));
                match &first {
                    None => first = Some(got),
                    Some(f) => assert!(*f == got, "{isa:?}, {g:?}: other bits than the first"),
                }
            }
        }
    }
}
