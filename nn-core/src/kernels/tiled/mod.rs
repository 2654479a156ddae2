//! Register-tiled matrix products: `C ← α A B + β C` by a microkernel that keeps a tile
//! of `C` in vector registers (AVX-512F, AVX2+FMA or NEON), chosen once at run time.
//!
//! The kernel reads one operand as vectors along the rows of `C`'s tile and broadcasts the
//! other element by element, reading it in place whatever its strides. The vector operand
//! is read in place too when its rows are contiguous and few tiles share it (`dY W` and
//! `dYᵀ X`, a `Linear` layer's gradients, at small batches, and most convolution products);
//! either operand can take that role (`Cᵀ = Bᵀ Aᵀ`), and a cost estimate picks the role and,
//! on AVX-512, the tile (8 × 32, or 8 × 16 for narrow products). Otherwise the vector
//! operand is packed, one panel of at most [`KC`] × `NR` at a time, into a block
//! on the stack: copied when its rows are contiguous, transposed in registers when its
//! columns are (`X Wᵀ`, a `Linear`'s forward, whose `C` is then still written by vectors).
//! No call allocates, so a training step or batched inference needs no heap for products.
//!
//! Every element of `C` is the same sum in the same order whatever the kernel, the
//! orientation, the tile it falls in or the part of a split product it belongs to:
//! multiply-adds fused and in order of `k` within equal blocks of at most [`KC`] terms
//! (their count fixed by `k` alone), each block's sum scaled by `α` and added to `C`
//! (scaled by `β` before the first block). So a product gives the same bits on AVX-512,
//! AVX2 and NEON, and on any number of threads.

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

use core::sync::atomic::{AtomicU8, Ordering};

/// The depth of one block of the sum: a tile's sum over `k` is taken in blocks of this
/// many terms, each added into `C` in turn. Fixed for every kernel, so that all give the
/// same bits.
pub(crate) const KC: usize = 256;

/// The widest tile's column count (AVX-512's 32); the stack block for a packed panel holds
/// [`KC`] rows of it.
pub(super) const NR_MAX: usize = 32;

/// Which kernel computes matrix products.
///
/// ```
/// use nn::gemm::{kernel, set_kernel, Kernel};
/// let chosen = kernel();
/// // matrixmultiply is always there: the general path, and the reference.
/// set_kernel(Kernel::Matrixmultiply).unwrap();
/// assert_eq!(kernel(), Kernel::Matrixmultiply);
/// set_kernel(chosen).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `matrixmultiply`'s `sgemm`, which packs both operands on each call.
    Matrixmultiply,
    /// 8 × 32 tiles (8 × 16 for narrow products) in AVX-512F registers (x86-64 with
    /// AVX-512F).
    Avx512,
    /// 6 × 16 tiles in AVX2 registers with FMA (x86-64 with AVX2 and FMA).
    Avx2,
    /// 8 × 8 tiles in NEON registers (aarch64).
    Neon,
}

impl Kernel {
    /// Whether this CPU can run the kernel.
    pub fn available(self) -> bool {
        match self {
            Kernel::Matrixmultiply => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The kernel's name as `NN_KERNEL` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Matrixmultiply => "matrixmultiply",
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Neon => "neon",
        }
    }

    const ALL: [Kernel; 4] = [
        Kernel::Avx512,
        Kernel::Avx2,
        Kernel::Neon,
        Kernel::Matrixmultiply,
    ];

    fn code(self) -> u8 {
        match self {
            Kernel::Matrixmultiply => 1,
            Kernel::Avx512 => 2,
            Kernel::Avx2 => 3,
            Kernel::Neon => 4,
        }
    }
}

/// The kernel's code (`Kernel::code`), 0 before the first product chose one.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// The kernel that computes products: the one [`set_kernel`] set, else the one the
/// `NN_KERNEL` environment variable names (`avx512`, `avx2`, `neon`, `matrixmultiply`)
/// where the CPU has it, else the widest the CPU has. Chosen once, at the first product.
#[inline]
pub fn kernel() -> Kernel {
    let code = CHOSEN.load(Ordering::Relaxed);
    if let Some(k) = Kernel::ALL.into_iter().find(|k| k.code() == code) {
        return k;
    }
    choose()
}

/// The first call's choice for [`kernel`], kept.
#[cold]
fn choose() -> Kernel {
    let named = std::env::var("NN_KERNEL").ok();
    let k = Kernel::ALL
        .into_iter()
        .filter(|k| k.available())
        .find(|k| {
            named
                .as_deref()
                .is_none_or(|n| n.eq_ignore_ascii_case(k.name()))
        })
        .unwrap_or_else(|| {
            Kernel::ALL
                .into_iter()
                .find(|k| k.available())
                .unwrap_or(Kernel::Matrixmultiply)
        });
    CHOSEN.store(k.code(), Ordering::Relaxed);
    k
}

/// Makes `k` compute every product from now on, in every thread; refuses, naming it, a
/// kernel this CPU cannot run. Products already running finish with the kernel they began
/// with.
pub fn set_kernel(k: Kernel) -> Result<(), UnavailableKernel> {
    if !k.available() {
        return Err(UnavailableKernel(k));
    }
    CHOSEN.store(k.code(), Ordering::Relaxed);
    Ok(())
}

/// [`set_kernel`]'s refusal: this CPU cannot run the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnavailableKernel(pub Kernel);

impl core::fmt::Display for UnavailableKernel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "this CPU cannot run the `{}` kernel", self.0.name())
    }
}

impl std::error::Error for UnavailableKernel {}

/// A tile of `C`: `mr ≤ MR` rows and `nr ≤ NR` columns of `C ← α A B + β C` over `k ≤ KC`
/// terms.
pub(super) struct Tile {
    /// Terms of the sum.
    k: usize,
    /// The broadcast operand: element `(i, p)` at `a + i·a_rs + p·a_cs`.
    a: *const f32,
    a_rs: isize,
    a_cs: isize,
    /// Rows of the tile that are real; rows past them re-read row `mr − 1` of `A`.
    mr: usize,
    /// The vector operand: element `(p, j)` at `b + p·b_rs + j`, for all `NR` columns
    /// (past `nr` they are a packed panel's zeros).
    b: *const f32,
    b_rs: isize,
    /// Columns of the tile that are real.
    nr: usize,
    /// `C`'s element `(i, j)` at `c + i·rsc + j·csc`.
    c: *mut f32,
    rsc: isize,
    csc: isize,
    alpha: f32,
    /// `C`'s scale; 0 means `C` is only written.
    beta: f32,
}

/// A microkernel: computes one [`Tile`].
pub(super) trait Microkernel {
    /// Rows of its tile.
    const MR: usize;
    /// Columns of its tile, a whole number of vectors.
    const NR: usize;
    /// Its speed relative to the widest kernel's on whole tiles, for [`Product::cost`].
    const SPEED: f64 = 1.0;
    /// Computes `t`.
    ///
    /// # Safety
    /// The CPU must have the kernel's features; `t`'s pointers must name valid elements for
    /// every `i < mr`, `p < k` (A), `p < k`, `j < NR` (B) and `i < mr`, `j < nr` (C), C's
    /// elements distinct and nothing else accessing them meanwhile.
    unsafe fn tile(t: &Tile);

    /// Packs `kc × nr` elements of B (element `(p, j)` at `b + p·rsb + j·csb`) into `out`
    /// as `kc` rows of `NR`, zeros past `nr`: writes all `kc · NR` floats from `out`.
    ///
    /// # Safety
    /// The CPU must have the kernel's features; those elements must be valid; `out` must be
    /// valid for writes of `kc · NR` floats apart from B; `kc ≤ KC`, `nr ≤ NR`.
    unsafe fn pack(out: *mut f32, b: *const f32, kc: usize, nr: usize, rsb: isize, csb: isize) {
        // SAFETY: forwarded.
        unsafe { pack_scalar::<Self>(out, b, kc, nr, rsb, csb) }
    }
}

/// Writes a tile's sums (`acc`, `nr` apart per row) into `C` element by element: the path of
/// tiles whose `C` is not contiguous along rows, or that are cut short. Rounds as the
/// kernels' vector path does: `α·s`, then `+ β·c`.
///
/// # Safety
/// `t.c` must name valid, distinct elements for `i < t.mr`, `j < t.nr`.
#[inline]
unsafe fn write_scalar(t: &Tile, acc: &[f32], nr: usize) {
    for i in 0..t.mr {
        for j in 0..t.nr {
            // SAFETY: `(i, j)` is inside the tile, which the caller vouches for.
            let c = unsafe { &mut *t.c.offset(i as isize * t.rsc + j as isize * t.csc) };
            let s = t.alpha * acc[i * nr + j];
            *c = if t.beta == 0.0 { s } else { s + t.beta * *c };
        }
    }
}

/// A [`KC`] × [`NR_MAX`] block for a packed panel, aligned to a cache line. Left
/// uninitialised (zeroing it would cost a call as much as packing a panel): a pack writes
/// every float the kernel then reads.
#[repr(C, align(64))]
struct Panel([f32; KC * NR_MAX]);

/// `C ← α A B + β C` with `kernel`; returns `false`, touching nothing, when that is
/// [`Kernel::Matrixmultiply`] (or `k` is 0), for the caller to run that instead.
///
/// # Safety
/// The CPU must be able to run `kernel` ([`Kernel::available`]). The pointers and strides must name valid `m×k`, `k×n` and `m×n` matrices, C's elements
/// distinct from each other and from A's and B's, and nothing else may access C meanwhile.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
    kernel: Kernel,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) -> bool {
    if k == 0 {
        return false;
    }
    let p = Product {
        m,
        k,
        n,
        alpha,
        a,
        rsa,
        csa,
        b,
        rsb,
        csb,
        beta,
        c,
        rsc,
        csc,
    };
    match kernel {
        Kernel::Matrixmultiply => return false,
        // SAFETY: the CPU has the kernel's features (this function's contract); the matrices are as this function's contract says.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe {
            #[cfg(test)]
            if let Some(narrow) = tests::FORCE_NARROW.with(|f| f.get()) {
                return {
                    if narrow {
                        p.run::<x86::Avx512Narrow>()
                    } else {
                        p.run::<x86::Avx512>()
                    }
                    true
                };
            }
            if p.best::<x86::Avx512>() <= p.best::<x86::Avx512Narrow>() {
                p.run::<x86::Avx512>()
            } else {
                p.run::<x86::Avx512Narrow>()
            }
        },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { p.run::<x86::Avx2>() },
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon => unsafe { p.run::<neon::Neon>() },
        #[allow(unreachable_patterns)]
        _ => return false,
    }
    true
}

/// One product's arguments, as [`sgemm`] takes them.
#[derive(Clone, Copy)]
pub(crate) struct Product {
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) alpha: f32,
    pub(crate) a: *const f32,
    pub(crate) rsa: isize,
    pub(crate) csa: isize,
    pub(crate) b: *const f32,
    pub(crate) rsb: isize,
    pub(crate) csb: isize,
    pub(crate) beta: f32,
    pub(crate) c: *mut f32,
    pub(crate) rsc: isize,
    pub(crate) csc: isize,
}

impl Product {
    /// `Cᵀ = Bᵀ Aᵀ`: the same product with the roles of rows and columns swapped.
    fn transposed(self) -> Product {
        Product {
            m: self.n,
            k: self.k,
            n: self.m,
            alpha: self.alpha,
            a: self.b,
            rsa: self.csb,
            csa: self.rsb,
            b: self.a,
            rsb: self.csa,
            csb: self.rsa,
            beta: self.beta,
            c: self.c,
            rsc: self.csc,
            csc: self.rsc,
        }
    }

    /// Runs the product on kernel `K`, in the orientation [`Product::cost`] finds faster.
    ///
    /// # Safety
    /// As [`sgemm`], and the CPU must have `K`'s features.
    unsafe fn run<K: Microkernel>(self) {
        let p = if self.cost::<K>() <= self.transposed().cost::<K>() {
            self
        } else {
            self.transposed()
        };
        // SAFETY: forwarded; the transpose names the same elements.
        unsafe { p.run_oriented::<K>() }
    }

    /// [`Product::cost`] of the better orientation on kernel `K`.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fn best<K: Microkernel>(&self) -> f64 {
        self.cost::<K>().min(self.transposed().cost::<K>())
    }

    /// A rough time for this orientation, in units of the product at full speed: lanes and
    /// rows a cut-short tile wastes, `C` written element by element where its rows are not
    /// contiguous (dear when the sum is short), a vector operand packed by transposes where
    /// its rows are not contiguous (dear when few rows of `C` share it). Either orientation
    /// gives the same bits; this only picks the faster.
    fn cost<K: Microkernel>(&self) -> f64 {
        let used = |x: usize, tile: usize| x as f64 / x.div_ceil(tile).max(1) as f64 / tile as f64;
        let kc = self.k.min(KC) as f64;
        let write = if self.csc == 1 { 2.0 } else { 24.0 } / kc;
        let pack = if self.csb == 1 {
            0.0
        } else {
            16.0 / self.m as f64
        };
        (1.0 + write + pack) / (used(self.n, K::NR) * used(self.m, K::MR) * K::SPEED)
    }

    /// Runs the product with `B` as the vector operand.
    ///
    /// # Safety
    /// As [`Product::run`].
    unsafe fn run_oriented<K: Microkernel>(self) {
        // Read in place when its rows are contiguous and few tiles of `C` share a panel;
        // else packed, so that a panel is contiguous in memory whatever `B`'s row stride
        // (a stride of a power of two would crowd a few sets of the first-level cache).
        let direct = self.csb == 1 && self.m <= 4 * K::MR;
        let mut panel = core::mem::MaybeUninit::<Panel>::uninit();
        let panel = panel.as_mut_ptr().cast::<f32>();
        // The sum in equal blocks of at most `KC` terms: the same blocks for every kernel.
        let blocks = self.k.div_ceil(KC);
        let block = self.k.div_ceil(blocks);
        let mut k0 = 0;
        while k0 < self.k {
            let kc = block.min(self.k - k0);
            let beta = if k0 == 0 { self.beta } else { 1.0 };
            let mut i0 = 0;
            while i0 < self.m {
                let mc = MC.min(self.m - i0);
                let mut j0 = 0;
                while j0 < self.n {
                    let nr = K::NR.min(self.n - j0);
                    // SAFETY: `(k0, j0)` is an element of B (`k0 < k`, `j0 < n`).
                    let b_at = unsafe {
                        self.b
                            .offset(k0 as isize * self.rsb + j0 as isize * self.csb)
                    };
                    let (b, b_rs) = if direct && nr == K::NR {
                        (b_at, self.rsb)
                    } else {
                        // SAFETY: the panel's `kc × nr` elements lie in B; `panel` holds
                        // `KC · NR_MAX ≥ kc · NR` floats on this stack, apart from B.
                        unsafe { K::pack(panel, b_at, kc, nr, self.rsb, self.csb) };
                        (panel.cast_const(), K::NR as isize)
                    };
                    let mut i = i0;
                    while i < i0 + mc {
                        let mr = K::MR.min(i0 + mc - i);
                        let t = Tile {
                            k: kc,
                            // SAFETY: `(i, k0)` is an element of A.
                            a: unsafe {
                                self.a
                                    .offset(i as isize * self.rsa + k0 as isize * self.csa)
                            },
                            a_rs: self.rsa,
                            a_cs: self.csa,
                            mr,
                            b,
                            b_rs,
                            nr,
                            // SAFETY: `(i, j0)` is an element of C.
                            c: unsafe {
                                self.c
                                    .offset(i as isize * self.rsc + j0 as isize * self.csc)
                            },
                            rsc: self.rsc,
                            csc: self.csc,
                            alpha: self.alpha,
                            beta,
                        };
                        // SAFETY: the tile's `mr × kc` elements of A, `kc × NR` of B (in
                        // place, all columns real, or the packed panel) and `mr × nr` of C
                        // lie in the matrices this function's caller vouches for.
                        unsafe { K::tile(&t) };
                        i += K::MR;
                    }
                    j0 += K::NR;
                }
                i0 += MC;
            }
            k0 += kc;
        }
    }
}

/// Rows of `C` per block: the block's rows of `A` (`MC × KC`) stay in the second-level
/// cache while every panel of `B` passes over them.
const MC: usize = 384;

/// Packs `kc × nr` elements of B (element `(p, j)` at `b + p·rsb + j·csb`) into `out` as
/// `kc` rows of `K::NR`, zeros past `nr`: the portable form of [`Microkernel::pack`].
///
/// # Safety
/// As [`Microkernel::pack`], but for the CPU's features.
pub(super) unsafe fn pack_scalar<K: Microkernel + ?Sized>(
    out: *mut f32,
    b: *const f32,
    kc: usize,
    nr: usize,
    rsb: isize,
    csb: isize,
) {
    let nr_k = K::NR;
    if nr < nr_k {
        // SAFETY: `out` takes `kc · NR` floats (this function's contract); all-zero bits
        // are 0.0.
        unsafe { core::ptr::write_bytes(out, 0, kc * nr_k) };
    }
    if csb == 1 {
        for p in 0..kc {
            // SAFETY: row `p < kc` of B holds `nr` contiguous elements; row `p` of `out`
            // takes `NR ≥ nr`, apart from B.
            unsafe {
                core::ptr::copy_nonoverlapping(b.offset(p as isize * rsb), out.add(p * nr_k), nr)
            };
        }
    } else if rsb == 1 {
        // Columns of B contiguous (a transposed row-major matrix): read each along `p`.
        for j in 0..nr {
            for p in 0..kc {
                // SAFETY: `(p, j)`, `p < kc`, `j < nr`, is in B and in `out`.
                unsafe {
                    out.add(p * nr_k + j)
                        .write(*b.offset(j as isize * csb + p as isize))
                };
            }
        }
    } else {
        for p in 0..kc {
            for j in 0..nr {
                // SAFETY: `(p, j)`, `p < kc`, `j < nr`, is in B and in `out`.
                unsafe {
                    out.add(p * nr_k + j)
                        .write(*b.offset(p as isize * rsb + j as isize * csb))
                };
            }
        }
    }
}
