//! Runs a loop compiled for the widest vector unit the CPU has, chosen at run time, so
//! that a portable build still uses AVX-512 or AVX2 where they exist.

/// A loop to run through [`vectorized`]. Its `run` must be `#[inline(always)]`, so that
/// it is compiled into the vector-enabled caller (a closure would not be).
pub(crate) trait Kernel {
    /// Runs the loop.
    fn run(self);
}

/// Runs `k` compiled with AVX-512 or AVX2 when the CPU supports them (with `std` on
/// x86-64), else as the build's baseline. Results are the same either way: no fused
/// operations are introduced (Rust never contracts `a * b + c`).
#[inline(always)]
pub(crate) fn vectorized<K: Kernel>(k: K) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU was just found to support AVX-512F.
            return unsafe { x86::avx512(k) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU was just found to support AVX2.
            return unsafe { x86::avx2(k) };
        }
    }
    k.run()
}

/// Runs `k` on instruction set `isa` (0: the build's baseline, 1: AVX2, 2: AVX-512), for
/// tests that compare their bits; `false`, having run nothing, where the CPU lacks it.
#[cfg(test)]
pub(crate) fn forced<K: Kernel>(isa: usize, k: K) -> bool {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if isa == 1 && std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU was just found to support AVX2.
            unsafe { x86::avx2(k) };
            return true;
        }
        if isa == 2 && std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU was just found to support AVX-512F.
            unsafe { x86::avx512(k) };
            return true;
        }
    }
    if isa == 0 {
        k.run();
        return true;
    }
    false
}

/// `√x`, correctly rounded: the vector unit's square root with `std`, `libm`'s without (the
/// same bits, as both round correctly; `libm`'s does not vectorise).
#[inline(always)]
pub(crate) fn sqrt(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.sqrt();
    #[cfg(not(feature = "std"))]
    libm::sqrtf(x)
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use super::Kernel;

    /// Runs `k` with AVX-512F code generation.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512<K: Kernel>(k: K) {
        k.run()
    }

    /// Runs `k` with AVX2 code generation.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2<K: Kernel>(k: K) {
        k.run()
    }
}
