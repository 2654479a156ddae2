//! Every tiled kernel this CPU can run against a float64 reference, on every remainder of
//! its tiles (rows, columns and blocks of the sum), in every layout, in one thread and in
//! pools of two, three and four.

use alloc::vec::Vec;

use super::{Kernel, Microkernel, KC};
use crate::gemm::{gemm_with, MatMut, MatRef};
use crate::Rng;

std::thread_local! {
    /// On this thread, AVX-512 products take the narrow tile (`Some(true)`) or the wide one
    /// (`Some(false)`) rather than the one their shape suggests.
    pub(super) static FORCE_NARROW: core::cell::Cell<Option<bool>> =
        const { core::cell::Cell::new(None) };
}

/// A microkernel to test: its kernel, tile, and on AVX-512 which tile is forced.
#[derive(Clone, Copy)]
struct Micro {
    kernel: Kernel,
    mr: usize,
    nr: usize,
    narrow: Option<bool>,
}

impl Micro {
    fn name(&self) -> std::string::String {
        std::format!("{} {}×{}", self.kernel.name(), self.mr, self.nr)
    }

    fn run(&self, case: &Case) -> Vec<f32> {
        FORCE_NARROW.with(|f| f.set(self.narrow));
        let c = case.run(self.kernel);
        FORCE_NARROW.with(|f| f.set(None));
        c
    }
}

/// The microkernels to test: those this CPU runs.
fn kernels() -> Vec<Micro> {
    let mut all = Vec::new();
    let micro = |kernel, mr, nr, narrow| Micro {
        kernel,
        mr,
        nr,
        narrow,
    };
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Avx2, Avx512, Avx512Narrow};
        all.push(micro(Kernel::Avx512, Avx512::MR, Avx512::NR, Some(false)));
        all.push(micro(
            Kernel::Avx512,
            Avx512Narrow::MR,
            Avx512Narrow::NR,
            Some(true),
        ));
        all.push(micro(Kernel::Avx2, Avx2::MR, Avx2::NR, None));
    }
    #[cfg(target_arch = "aarch64")]
    all.push(micro(
        Kernel::Neon,
        super::neon::Neon::MR,
        super::neon::Neon::NR,
        None,
    ));
    all.retain(|m| m.kernel.available());
    // NEON is part of every aarch64 CPU: its kernel is always tested there.
    #[cfg(target_arch = "aarch64")]
    assert!(!all.is_empty(), "NEON was not detected on an aarch64 CPU");
    all
}

/// A row-major matrix, or the transpose of one (`t`), with its data.
struct Operand {
    data: Vec<f32>,
    rows: usize,
    cols: usize,
    t: bool,
}

impl Operand {
    fn random(rng: &mut Rng, rows: usize, cols: usize, t: bool) -> Self {
        let data = (0..rows * cols).map(|_| rng.uniform(-1.0, 1.0)).collect();
        Operand {
            data,
            rows,
            cols,
            t,
        }
    }

    fn view(&self) -> MatRef<'_> {
        if self.t {
            MatRef::row_major(&self.data, self.cols, self.rows).t()
        } else {
            MatRef::row_major(&self.data, self.rows, self.cols)
        }
    }

    fn at(&self, i: usize, j: usize) -> f32 {
        if self.t {
            self.data[j * self.rows + i]
        } else {
            self.data[i * self.cols + j]
        }
    }
}

/// One product's inputs: `C ← α A B + β C` with `C` row-major, or column-major (`tc`).
struct Case {
    a: Operand,
    b: Operand,
    c: Vec<f32>,
    tc: bool,
    alpha: f32,
    beta: f32,
}

impl Case {
    #[allow(clippy::too_many_arguments)]
    fn new(rng: &mut Rng, m: usize, k: usize, n: usize, ta: bool, tb: bool, tc: bool) -> Self {
        let a = Operand::random(rng, m, k, ta);
        let b = Operand::random(rng, k, n, tb);
        let c = (0..m * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (alpha, beta) = match rng.below(3) {
            0 => (1.0, 0.0),
            1 => (1.0, 1.0),
            _ => (-1.5, 0.5),
        };
        Case {
            a,
            b,
            c,
            tc,
            alpha,
            beta,
        }
    }

    fn run(&self, kernel: Kernel) -> Vec<f32> {
        self.run_in(kernel, None)
    }

    /// [`Case::run`], in `parts` parts over the pool's threads when given.
    fn run_in(&self, kernel: Kernel, parts: Option<usize>) -> Vec<f32> {
        let (m, n) = (self.a.rows, self.b.cols);
        let mut c = self.c.clone();
        if self.beta == 0.0 {
            // Written, never read.
            c.fill(f32::NAN);
        }
        let out = if self.tc {
            MatMut::row_major(&mut c, n, m).t()
        } else {
            MatMut::row_major(&mut c, m, n)
        };
        let (a, b) = (self.a.view(), self.b.view());
        match parts {
            None => gemm_with(kernel, self.alpha, a, b, self.beta, out),
            #[cfg(feature = "threading")]
            Some(parts) => {
                crate::gemm::gemm_in_parts(kernel, parts, self.alpha, a, b, self.beta, out)
            }
            #[cfg(not(feature = "threading"))]
            Some(_) => unreachable!("parts need the `threading` feature"),
        }
        c
    }

    /// Checks `got` against the float64 product, within the bound on the rounding of a sum
    /// of `k` products in float32: `(k + 2) ε Σ|α aᵢₚ bₚⱼ| + |β cᵢⱼ|` (an indexing mistake is
    /// off by a whole term).
    fn check(&self, got: &[f32], what: &str) {
        let (m, k, n) = (self.a.rows, self.a.cols, self.b.cols);
        for i in 0..m {
            for j in 0..n {
                let at = if self.tc { j * m + i } else { i * n + j };
                let (mut sum, mut size) = (0.0f64, 0.0f64);
                for p in 0..k {
                    let t = self.a.at(i, p) as f64 * self.b.at(p, j) as f64;
                    sum += t;
                    size += t.abs();
                }
                let c0 = self.c[at] as f64 * self.beta as f64;
                let want = self.alpha as f64 * sum + c0;
                let bound = (k as f64 + 2.0)
                    * f32::EPSILON as f64
                    * (self.alpha.abs() as f64 * size + c0.abs());
                let err = (got[at] as f64 - want).abs();
                assert!(
                    err <= bound,
                    "{what}: {m}×{k}×{n} (A{}, B{}, C{}), α {} β {}: C[{i}][{j}] = {}, \
                     float64 gives {want}, off by {err:e} (bound {bound:e})",
                    if self.a.t { "ᵀ" } else { "" },
                    if self.b.t { "ᵀ" } else { "" },
                    if self.tc { "ᵀ" } else { "" },
                    self.alpha,
                    self.beta,
                    got[at],
                );
            }
        }
    }
}

/// Every layout: each operand row-major or transposed, `C` row- or column-major. They
/// take every path: vector operand read in place (either orientation), packed, `C`
/// written by vectors or element by element.
const LAYOUTS: [(bool, bool, bool); 8] = [
    (false, false, false),
    (false, true, false),
    (true, false, false),
    (true, true, false),
    (false, false, true),
    (false, true, true),
    (true, false, true),
    (true, true, true),
];

/// Checks `kernel` on `m × k × n` in every layout, and that it gives the same bits as the
/// other tiled kernels (every kernel sums in the same order).
fn check_all(rng: &mut Rng, m: usize, k: usize, n: usize) {
    let ks = kernels();
    for (ta, tb, tc) in LAYOUTS {
        let case = Case::new(rng, m, k, n, ta, tb, tc);
        let mut first: Option<(Micro, Vec<f32>)> = None;
        for micro in &ks {
            let got = micro.run(&case);
            case.check(&got, &micro.name());
            match &first {
                None => first = Some((*micro, got)),
                Some((k0, c0)) => assert!(
                    c0.iter().zip(&got).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{m}×{k}×{n}: `{}` and `{}` differ in bits",
                    k0.name(),
                    micro.name()
                ),
            }
        }
    }
}

#[test]
fn every_row_remainder() {
    let mut rng = Rng::seed(1);
    let most = kernels().iter().map(|k| k.mr).max().unwrap_or(1);
    for m in 1..=2 * most + 1 {
        check_all(&mut rng, m, 9, 35);
    }
    // More rows than a block of rows (`MC`, 384) holds: a short second block, two whole
    // ones and a third.
    for m in [131, 400, 768, 1000] {
        check_all(&mut rng, m, 5, 7);
    }
}

#[test]
fn every_column_remainder() {
    let mut rng = Rng::seed(2);
    let most = kernels().iter().map(|k| k.nr).max().unwrap_or(1);
    for n in 1..=2 * most + 1 {
        check_all(&mut rng, 9, 7, n);
    }
}

#[test]
fn every_block_of_the_sum() {
    let mut rng = Rng::seed(3);
    for k in [1, 2, 3, KC - 1, KC, KC + 1, 2 * KC + 7] {
        check_all(&mut rng, 13, k, 37);
    }
}

/// A product split over a pool's threads gives the one-thread bits, on every kernel, with
/// parts that cut tiles (odd sizes) and unequal parts (three threads).
#[cfg(feature = "threading")]
#[test]
fn split_products_give_the_same_bits_in_pools_of_two_three_and_four() {
    let mut rng = Rng::seed(4);
    let shapes = [(257, 300, 65), (65, 129, 257), (517, 131, 127)];
    let cases: Vec<Case> = shapes
        .iter()
        .flat_map(|&(m, k, n)| {
            [
                (false, true, false),
                (true, false, false),
                (false, false, true),
            ]
            .map(|(ta, tb, tc)| Case::new(&mut rng, m, k, n, ta, tb, tc))
        })
        .collect();
    let mut tiled: Vec<Kernel> = kernels().iter().map(|m| m.kernel).collect();
    tiled.dedup();
    for kernel in tiled {
        let one: Vec<Vec<f32>> = cases.iter().map(|c| c.run(kernel)).collect();
        for (case, got) in cases.iter().zip(&one) {
            case.check(got, kernel.name());
        }
        for threads in [2, 3, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            let split: Vec<Vec<f32>> = pool.install(|| {
                crate::gemm::parallel(|| cases.iter().map(|c| c.run(kernel)).collect())
            });
            for ((case, one), split) in cases.iter().zip(&one).zip(&split) {
                case.check(split, kernel.name());
                assert!(
                    one.iter()
                        .zip(split)
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "`{}` on {threads} threads: {}×{}×{} differs in bits from one thread",
                    kernel.name(),
                    case.a.rows,
                    case.a.cols,
                    case.b.cols
                );
            }
        }
    }
}

/// Every microkernel on products cut into as many parts as a pool of two, three or four
/// threads has: the sizes run over enough values that every part of each takes every
/// remainder of the tile's rows (parts along `m`) and of its columns (parts along `n`),
/// and the sum one block and two. Each against float64, and the same bits as on one thread.
#[cfg(feature = "threading")]
#[test]
fn every_remainder_of_every_part_in_pools_of_two_three_and_four() {
    let mut rng = Rng::seed(5);
    let ks = kernels();
    let most_mr = ks.iter().map(|k| k.mr).max().unwrap_or(1);
    let most_nr = ks.iter().map(|k| k.nr).max().unwrap_or(1);
    for threads in [2, 3, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        // A product is cut along the larger of `m` and `n`; each part has about a
        // `threads`-th of it, so `threads · 2 · tile` consecutive sizes give every
        // remainder to every part.
        let (rows, cols) = (threads * 2 * most_mr, threads * 2 * most_nr);
        let mut shapes: Vec<(usize, usize, usize)> = (0..=rows).map(|i| (7 + i, 9, 7)).collect();
        shapes.extend((0..=cols).map(|j| (7, 9, 8 + j)));
        shapes.extend([(40, KC + 1, 37), (37, 2 * KC + 7, 70)]);
        for (m, k, n) in shapes {
            for (ta, tb, tc) in LAYOUTS {
                let case = Case::new(&mut rng, m, k, n, ta, tb, tc);
                for micro in &ks {
                    let one = micro.run(&case);
                    pool.broadcast(|_| FORCE_NARROW.with(|f| f.set(micro.narrow)));
                    let split = pool.install(|| case.run_in(micro.kernel, Some(threads)));
                    pool.broadcast(|_| FORCE_NARROW.with(|f| f.set(None)));
                    let what = std::format!("{} in {threads} parts", micro.name());
                    case.check(&split, &what);
                    assert!(
                        one.iter()
                            .zip(&split)
                            .all(|(x, y)| x.to_bits() == y.to_bits()),
                        "{what}: {m}×{k}×{n} differs in bits from one thread"
                    );
                }
            }
        }
    }
}

/// Every packing of a panel (the AVX transposes of eight by eight and their remainders,
/// the copies and the strided gathers), for every depth up to three transposes and a whole
/// block and every column count up to the tile's: the panel holds B's elements exactly,
/// zeros past its columns.
#[test]
fn every_panel_packs_exactly() {
    fn check<K: Microkernel>(name: &str) {
        let mut rng = Rng::seed(6);
        let mut out = alloc::vec![f32::NAN; KC * K::NR];
        for kc in (1..=25).chain([KC - 1, KC]) {
            for nr in 1..=K::NR {
                // B as `kc × nr` of a larger matrix: row-major (rows 3 past), its transpose
                // (columns contiguous) and a gather with neither stride 1.
                let data: Vec<f32> = (0..(kc + 3) * (nr + 3) * 2)
                    .map(|_| rng.uniform(-1.0, 1.0))
                    .collect();
                for (rsb, csb) in [(nr + 3, 1), (1, kc + 3), (2 * (nr + 3), 2)] {
                    out.fill(f32::NAN);
                    // SAFETY: the CPU has the kernel's features (checked by the caller);
                    // every `(p, j)`, `p < kc`, `j < nr`, lies in `data`; `out` holds
                    // `KC · NR ≥ kc · NR` floats.
                    unsafe {
                        K::pack(
                            out.as_mut_ptr(),
                            data.as_ptr(),
                            kc,
                            nr,
                            rsb as isize,
                            csb as isize,
                        )
                    };
                    for p in 0..kc {
                        for j in 0..K::NR {
                            let want = if j < nr { data[p * rsb + j * csb] } else { 0.0 };
                            let got = out[p * K::NR + j];
                            assert!(
                                got.to_bits() == want.to_bits(),
                                "{name}: {kc} × {nr} panel, strides ({rsb}, {csb}): \
                                 ({p}, {j}) is {got}, B's element is {want}"
                            );
                        }
                    }
                }
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Avx2, Avx512, Avx512Narrow};
        if Kernel::Avx512.available() {
            check::<Avx512>("avx512 8×32");
            check::<Avx512Narrow>("avx512 8×16");
        }
        if Kernel::Avx2.available() {
            check::<Avx2>("avx2 6×16");
        }
    }
    #[cfg(target_arch = "aarch64")]
    if Kernel::Neon.available() {
        check::<super::neon::Neon>("neon 8×8");
    }
}

#[test]
fn a_kernel_the_cpu_lacks_is_refused() {
    for k in Kernel::ALL {
        assert_eq!(super::set_kernel(k).is_ok(), k.available(), "{k:?}");
    }
    // Leave the widest, as the first product would choose.
    let widest = Kernel::ALL.into_iter().find(|k| k.available()).unwrap();
    super::set_kernel(widest).unwrap();
}
