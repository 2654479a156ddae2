//! The int8 kernels as compiled for this board, checked against TFLite Micro's reference
//! loop before the models run.

use cortex_m_semihosting::hprintln;
use nn::int8::{linear, Output, Requant, Weights};

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
}
