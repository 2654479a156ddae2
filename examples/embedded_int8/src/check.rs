//! The int8 kernels as compiled for this board, checked against TFLite Micro's reference
//! loop before the models run.

use cortex_m_semihosting::hprintln;
use nn::int8::baked::Linear;
use nn::int8::{linear, Activation, Output, Quant, Requant, Weights};

/// A reproducible int8 pattern covering the whole range (xorshift).
fn pattern(v: &mut [i8], seed: u32) {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    for v in v {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        *v = s as u8 as i8;
    }
}

/// Checks `nn::int8::linear`, as compiled for this target, against the plain loop of TFLite
/// Micro's reference on every remainder the kernels handle apart: input widths 1..=40 and
/// around the pieces they prepare at a time, row counts odd and even, weights starting at each
/// byte of a word, input zero points at both ends. Panics (and so fails the run) on the first
/// difference.
#[inline(never)]
pub fn check_kernels() {
    const WIDTHS: [usize; 8] = [63, 64, 65, 127, 128, 129, 255, 300];
    const ROWS: [usize; 7] = [1, 2, 3, 4, 5, 16, 17];
    let mut buffer = [0i8; 17 * 300 + 3];
    let mut x = [0i8; 300];
    let (mut cases, mut values) = (0, 0);
    let requant: [Requant; 17] = core::array::from_fn(|k| Requant {
        multiplier: (1 << 30) + 40_000_000 * k as i32,
        shift: -6 - (k as i32 % 5),
    });
    let bias: [i32; 17] = core::array::from_fn(|k| 1000 * k as i32 - 7000);
    let out = Output {
        zero_point: 3,
        min: -128,
        max: 127,
    };
    for n in (1..=40).chain(WIDTHS) {
        for rows in ROWS {
            let zp = [-128, 5, 127][cases % 3];
            let offset = cases % 4;
            let w = &mut buffer[offset..offset + rows * n];
            pattern(w, (n * 31 + rows) as u32);
            w[0] = -128;
            let x = &mut x[..n];
            pattern(x, (n * 7 + rows * 3) as u32);
            x[0] = 127;
            let (w, x) = (&*w, &*x);
            let mut got = [0i8; 17];
            let weights = Weights {
                weight: w,
                bias: Some(&bias[..rows]),
                requant: &requant[..rows],
            };
            linear(x, zp, weights, out, &mut got[..rows]);
            for r in 0..rows {
                let mut acc = bias[r];
                for i in 0..n {
                    acc += w[r * n + i] as i32 * (x[i] as i32 - zp);
                }
                let want = out.write(requant[r].apply(acc));
                assert_eq!(
                    got[r], want,
                    "linear of {} inputs, row {} of {}, zero point {}",
                    n, r, rows, zp
                );
                values += 1;
            }
            cases += 1;
        }
    }
    hprintln!(
        "kernel check: nn::int8::linear equals the reference loop on {} shapes ({} outputs)",
        cases,
        values
    );
    let baked = [
        baked_linear::<8, 1>(1),
        baked_linear::<8, 3>(2),
        baked_linear::<16, 5>(3),
        baked_linear::<64, 7>(4),
        baked_linear::<128, 6>(5),
        baked_linear::<256, 9>(6),
        baked_linear::<24, 4>(7),
        baked_linear::<12, 5>(8),
    ];
    hprintln!(
        "kernel check: baked Linear equals nn::int8::linear on {} layers ({} outputs)",
        2 * baked.len(),
        baked.iter().sum::<usize>()
    );
}

/// A baked `Linear<IN, OUT>` (the weights laid out for this board's kernel where it has one)
/// against `nn::int8::linear` on the same tensors, twice: every row's rounding fused, and
/// some rows' not (multipliers of 1/4 or more). Returns the outputs checked.
#[inline(never)]
fn baked_linear<const IN: usize, const OUT: usize>(seed: u32) -> usize {
    let mut flat = [[0i8; IN]; OUT];
    pattern(flat.as_flattened_mut(), seed);
    let mut x = [0i8; IN];
    pattern(&mut x, seed + 100);
    let bias: [i32; OUT] = core::array::from_fn(|k| 700 * k as i32 - 2000);
    let input = Quant {
        scale: 0.05,
        zero_point: -7,
    };
    let output = Quant {
        scale: 0.25,
        zero_point: 5,
    };
    for mixed in [false, true] {
        let scale: [f32; OUT] = core::array::from_fn(|k| {
            let s = 0.0003 + 0.0001 * k as f32;
            // Multipliers 0.4 (a right shift of 1) and 0.5 (2^30 exactly, no shift).
            match (mixed, k % 4) {
                (true, 1) => 2.0,
                (true, 3) => 2.5,
                _ => s,
            }
        });
        let layer = Linear::new(flat, bias, &scale, input, output, Activation::Relu);
        let mut got = [0i8; OUT];
        layer.forward(&x, &mut got);
        let requant: [Requant; OUT] =
            core::array::from_fn(|k| Requant::product(input.scale, scale[k], output.scale));
        let weights = Weights {
            weight: flat.as_flattened(),
            bias: Some(&bias),
            requant: &requant,
        };
        let mut want = [0i8; OUT];
        let out = Output::new(output.scale, output.zero_point, Activation::Relu);
        linear(&x, input.zero_point, weights, out, &mut want);
        assert_eq!(got, want, "baked Linear<{}, {}>, mixed {}", IN, OUT, mixed);
    }
    2 * OUT
}
