//! One core's single-precision FMA peak: a loop of independent fused multiply-adds on the
//! widest vector unit the CPU has (AVX-512, else AVX2+FMA, else scalar `mul_add`), chosen at
//! run time, so that the report can say what fraction of the machine each case uses.

use std::hint::black_box;

use super::median_us;

/// Independent accumulators in the peak loop: each FMA waits for its own accumulator only, so
/// that 12 of them cover the latency of two FMA pipes (4–5 cycles × 2 on current x86 cores)
/// while fitting in the 16 vector registers of AVX2 with the two operands.
const ACCUMULATORS: usize = 12;

/// The widest vector unit the CPU has, on which the peak loop runs.
#[derive(Clone, Copy)]
pub enum Unit {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    Scalar,
}

impl Unit {
    /// The widest unit this CPU has, as it reports at run time.
    fn detect() -> Unit {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                return Unit::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Unit::Avx2Fma;
            }
        }
        Unit::Scalar
    }

    /// The unit's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Unit::Avx512 => "AVX-512",
            #[cfg(target_arch = "x86_64")]
            Unit::Avx2Fma => "AVX2+FMA",
            Unit::Scalar => "scalar mul_add",
        }
    }

    /// `f32` lanes of one FMA.
    pub fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Unit::Avx512 => 16,
            #[cfg(target_arch = "x86_64")]
            Unit::Avx2Fma => 8,
            Unit::Scalar => 1,
        }
    }

    /// Runs `iters` rounds of [`ACCUMULATORS`] independent FMAs.
    fn run(self, iters: u64) {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` picks this unit only where the CPU reports AVX-512F.
            Unit::Avx512 => unsafe { x86::fma_avx512(iters) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` picks this unit only where the CPU reports AVX2 and FMA.
            Unit::Avx2Fma => unsafe { x86::fma_avx2(iters) },
            Unit::Scalar => fma_scalar(iters),
        }
    }
}

/// The peak loop without vector instructions, for CPUs with neither AVX-512 nor AVX2+FMA.
fn fma_scalar(iters: u64) {
    let (a, b) = (black_box(0.999_999f32), black_box(1e-6f32));
    let mut acc = [black_box(1.0f32); ACCUMULATORS];
    for _ in 0..iters {
        for x in &mut acc {
            *x = x.mul_add(a, b);
        }
    }
    black_box(acc);
}

/// The peak loop on x86-64 vector units. Each accumulator goes `x ← a·x + b` with `a` just
/// under 1, so it settles near `b / (1 − a)` = 1 rather than overflowing or going subnormal.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::ACCUMULATORS;
    use core::arch::x86_64::{_mm256_fmadd_ps, _mm256_set1_ps, _mm512_fmadd_ps, _mm512_set1_ps};
    use std::hint::black_box;

    /// `iters` rounds of [`ACCUMULATORS`] independent 16-lane FMAs.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn fma_avx512(iters: u64) {
        let (a, b) = (
            _mm512_set1_ps(black_box(0.999_999)),
            _mm512_set1_ps(black_box(1e-6)),
        );
        let mut acc = [_mm512_set1_ps(black_box(1.0)); ACCUMULATORS];
        for _ in 0..iters {
            for x in &mut acc {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        black_box(acc);
    }

    /// `iters` rounds of [`ACCUMULATORS`] independent 8-lane FMAs.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn fma_avx2(iters: u64) {
        let (a, b) = (
            _mm256_set1_ps(black_box(0.999_999)),
            _mm256_set1_ps(black_box(1e-6)),
        );
        let mut acc = [_mm256_set1_ps(black_box(1.0)); ACCUMULATORS];
        for _ in 0..iters {
            for x in &mut acc {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        black_box(acc);
    }
}

/// One core's single-precision FMA peak in GFLOP/s, on the widest vector unit the CPU has:
/// the median over rounds of [`median_us`], as every other figure.
pub fn fma_peak() -> (f64, Unit) {
    let unit = Unit::detect();
    const ITERS: u64 = 1 << 16;
    let flops = (ITERS as usize * ACCUMULATORS * unit.lanes() * 2) as f64;
    let us = median_us(|| unit.run(black_box(ITERS)), 50.0);
    (flops / us / 1e3, unit)
}

/// The clock `/proc/cpuinfo` reports for the first core, in MHz.
pub fn cpuinfo_mhz() -> Option<f64> {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()?
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()
}
