//! Every batched kernel the CPU has against the one-sample `linear`, bit for bit.

use super::*;
use crate::int8::{Activation, Requant};
use alloc::vec::Vec;

use crate::kernels::int8::dot::tests::pattern;

/// The instruction sets this CPU has.
fn isas() -> Vec<Isa> {
    let mut v = Vec::from([Isa::Portable]);
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            v.push(Isa::Avx2);
        }
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
        {
            v.push(Isa::Vnni);
        }
    }
    v
}

/// Every batch from 1 to 17 and 64, widths around the tiles' edges, each instruction set
/// against the one-sample `linear` on each sample: the same bits.
#[test]
fn every_kernel_equals_one_sample_linear() {
    let widths = [
        (1, 1),
        (3, 5),
        (4, 16),
        (7, 17),
        (33, 31),
        (64, 48),
        (70, 10),
    ];
    for (n_in, n_out) in widths {
        let mut w = pattern(n_in * n_out, (n_in * 31 + n_out) as u32);
        // Symmetric weights as quantisation makes them, the extremes at the edges.
        for v in &mut w {
            *v = (*v).max(-127);
        }
        w[0] = -127;
        w[n_in * n_out - 1] = 127;
        let bias: Vec<i32> = (0..n_out as i32).map(|o| o * 997 - 3000).collect();
        let requant: Vec<Requant> = (0..n_out)
            .map(|o| Requant::new(0.0007 + o as f64 * 0.0003))
            .collect();
        let weights = Weights {
            weight: &w,
            bias: Some(&bias),
            requant: &requant,
        };
        let packed = PackedLinear::new(&w, n_in, n_out);
        let sums: Vec<i32> = w
            .chunks_exact(n_in)
            .map(|r| r.iter().map(|&v| v as i32).sum())
            .collect();
        let mut scratch = BatchScratch::default();
        for batch in (1..=17).chain([64]) {
            let mut x = pattern(batch * n_in, (batch * 7 + n_in) as u32);
            x[0] = -128;
            for (zp, act) in [
                (-128, Activation::None),
                (5, Activation::Relu),
                (127, Activation::Relu6),
            ] {
                let out = Output::new(0.05, -3, act);
                let mut want = alloc::vec![0i8; batch * n_out];
                for (xs, ys) in x.chunks_exact(n_in).zip(want.chunks_exact_mut(n_out)) {
                    super::super::linear(xs, zp, weights, out, ys);
                }
                for isa in isas() {
                    for given in [&sums[..], &[]] {
                        let mut got = alloc::vec![0i8; batch * n_out];
                        linear_batch_on(
                            isa,
                            &x,
                            zp,
                            weights,
                            &packed,
                            given,
                            out,
                            &mut got,
                            &mut scratch,
                        );
                        assert_eq!(
                            got, want,
                            "{isa:?}: batch {batch} of {n_in} → {n_out}, zp {zp}"
                        );
                    }
                }
            }
        }
    }
}
