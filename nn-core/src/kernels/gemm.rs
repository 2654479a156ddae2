//! The one safe entry to matrix products: the register-tiled kernels where the CPU has
//! one ([`Kernel`], chosen once at run time: AVX-512F, AVX2+FMA or NEON), `matrixmultiply`'s
//! `sgemm` otherwise (and without `std`), the general path and the reference.
//!
//! Matrices are views over `f32` slices with a row stride and a column stride, so a
//! transpose is a view with the strides swapped ([`MatRef::t`]), never a copy.
//!
//! A read-only view may name an element twice (a row stride of 0 repeats one row); a
//! mutable view may not: [`MatMut::strided`] refuses strides under which two elements
//! share memory, so that `sgemm`, and the threads of the `threading` feature, never
//! write one value through two elements.

#[cfg(feature = "std")]
use super::tiled;
#[cfg(feature = "std")]
pub use super::tiled::{kernel, set_kernel, Kernel, UnavailableKernel};

/// Which kernel computes matrix products: only `matrixmultiply` without `std`.
#[cfg(not(feature = "std"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `matrixmultiply`'s `sgemm`.
    Matrixmultiply,
}

#[cfg(not(feature = "std"))]
impl Kernel {
    /// Whether this CPU can run the kernel: always.
    pub fn available(self) -> bool {
        true
    }

    /// The kernel's name.
    pub fn name(self) -> &'static str {
        "matrixmultiply"
    }
}

/// The kernel that computes products: `matrixmultiply` without `std`.
#[cfg(not(feature = "std"))]
pub fn kernel() -> Kernel {
    Kernel::Matrixmultiply
}

/// A read-only matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// A mutable matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// Panics unless every element of a `rows × cols` view with strides `rs`, `cs` lies in `len`.
fn check_view(what: &str, len: usize, rows: usize, cols: usize, rs: usize, cs: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)));
    match last {
        Some(last) if last < len => {}
        _ => panic!(
            "gemm: matrix {what} is {rows}×{cols} with strides ({rs}, {cs}), \
             which does not fit in its slice of {len} values"
        ),
    }
}

/// Panics unless the elements of a `rows × cols` view with strides `rs`, `cs` are all at
/// distinct offsets. Checked with the layout rule `sgemm` relies on: a dimension of more
/// than one element has a nonzero stride, and the larger stride steps over the whole of
/// the other dimension (`big ≥ small × count`), as in any row- or column-major layout and
/// any window of one; an empty view names nothing. (Interleaved layouts that happen not to collide are refused too.)
fn check_distinct(rows: usize, cols: usize, rs: usize, cs: usize) {
    let ok = match (rows > 1, cols > 1) {
        _ if rows == 0 || cols == 0 => true, // no elements
        (false, false) => true,
        (true, false) => rs > 0,
        (false, true) => cs > 0,
        (true, true) => {
            let ((n_small, small), big) = if rs <= cs {
                ((rows, rs), cs)
            } else {
                ((cols, cs), rs)
            };
            small > 0 && small.checked_mul(n_small).is_some_and(|span| big >= span)
        }
    };
    if !ok {
        panic!(
            "gemm: mutable matrix view is {rows}×{cols} with strides ({rs}, {cs}), \
             under which two elements share memory; an output needs every element apart \
             (for example strides ({cols}, 1), row-major)"
        );
    }
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` view of `data`.
    ///
    /// ```
    /// let a = nn::gemm::MatRef::row_major(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
    /// assert_eq!((a.rows(), a.cols()), (2, 3));
    /// ```
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// A view with explicit strides. Panics if the view reaches past `data`.
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        check_view("view", data.len(), rows, cols, rs, cs);
        MatRef {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// The transpose, by swapping strides.
    ///
    /// ```
    /// let a = nn::gemm::MatRef::row_major(&[1.0; 6], 2, 3).t();
    /// assert_eq!((a.rows(), a.cols()), (3, 2));
    /// ```
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Row count.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Column count.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl<'a> MatMut<'a> {
    /// A row-major `rows × cols` mutable view of `data`.
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// A mutable view with explicit strides.
    ///
    /// # Panics
    /// If the view reaches past `data`, or if two of its elements share memory (a stride
    /// of 0, or rows that overlap): every element of a matrix that is written must be its
    /// own value. A dimension of one element may have any stride.
    ///
    /// ```
    /// use nn::gemm::MatMut;
    /// let mut data = [0.0; 12];
    /// // Columns 1..3 of a 3×4 row-major matrix: rows 4 apart, columns 1 apart.
    /// let _ = MatMut::strided(&mut data[1..], 3, 2, 4, 1);
    /// // Rows 0 apart would write one row three times.
    /// assert!(std::panic::catch_unwind(move || {
    ///     let _ = MatMut::strided(&mut data, 3, 4, 0, 1);
    /// })
    /// .is_err());
    /// ```
    pub fn strided(data: &'a mut [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        check_view("view", data.len(), rows, cols, rs, cs);
        check_distinct(rows, cols, rs, cs);
        MatMut {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// The transpose, by swapping strides (its elements stay distinct).
    pub fn t(self) -> Self {
        MatMut {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// `C ← α A B + β C`, where `A` is `m × k`, `B` is `k × n` and `C` is `m × n`.
///
/// When `β` is 0, `C` is only written, never read (NaNs in it do not propagate).
/// Panics, naming `m`, `k` and `n`, when the shapes disagree.
///
/// ```
/// use nn::gemm::{gemm, MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [5.0, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
/// let mut c = [0.0; 4];
/// // C = A Bᵀ, with Bᵀ taken by strides
/// gemm(1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2).t(), 0.0, MatMut::row_major(&mut c, 2, 2));
/// assert_eq!(c, [17.0, 23.0, 39.0, 53.0]);
/// ```
pub fn gemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    gemm_with(kernel(), alpha, a, b, beta, c)
}

/// [`gemm`] on kernel `kernel` rather than the one [`kernel()`] chose: to compare kernels
/// in one process.
///
/// # Panics
/// As [`gemm`], and when this CPU cannot run `kernel` ([`Kernel::available`]).
///
/// ```
/// use nn::gemm::{gemm_with, Kernel, MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let mut c = [0.0; 4];
/// gemm_with(Kernel::Matrixmultiply, 1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&a, 2, 2), 0.0, MatMut::row_major(&mut c, 2, 2));
/// assert_eq!(c, [7.0, 10.0, 15.0, 22.0]);
/// ```
pub fn gemm_with(
    kernel: Kernel,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) {
    gemm_split(kernel, None, alpha, a, b, beta, c)
}

/// [`gemm_with`] cut into exactly `parts` parts over the pool's threads whatever its size,
/// as a large product is: so that small products can test every remainder of every part.
#[cfg(all(test, feature = "threading"))]
pub(crate) fn gemm_in_parts(
    kernel: Kernel,
    parts: usize,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) {
    gemm_split(kernel, Some(parts), alpha, a, b, beta, c)
}

/// [`gemm_with`], in `parts` parts when given (else as many as its size and the pool call
/// for).
fn gemm_split(
    kernel: Kernel,
    parts: Option<usize>,
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) {
    assert!(
        kernel.available(),
        "gemm: this CPU cannot run the `{}` kernel",
        kernel.name()
    );
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k || c.rows != m || c.cols != n {
        panic!(
            "gemm: A is {}×{}, B is {}×{}, C is {}×{}; with m = {m}, k = {k}, n = {n} \
             they must be m×k, k×n and m×n",
            a.rows, a.cols, b.rows, b.cols, c.rows, c.cols
        );
    }
    if m == 0 || n == 0 {
        return;
    }
    let stride = |s: usize| isize::try_from(s).expect("gemm: a stride exceeds isize::MAX");
    let raw = Raw {
        kernel,
        m,
        k,
        n,
        alpha,
        a: a.data.as_ptr(),
        rsa: stride(a.rs),
        csa: stride(a.cs),
        b: b.data.as_ptr(),
        rsb: stride(b.rs),
        csb: stride(b.cs),
        beta,
        c: c.data.as_mut_ptr(),
        rsc: stride(c.rs),
        csc: stride(c.cs),
    };
    #[cfg(feature = "threading")]
    if let Some(parts) = parts {
        // SAFETY: as for `raw.run()` below; `run_parts` splits C into parts that share no
        // memory and joins them all before returning.
        unsafe { raw.run_parts(parts) };
        return;
    }
    #[cfg(not(feature = "threading"))]
    let _ = parts;
    #[cfg(feature = "threading")]
    // The thread index first: outside a pool, asking for the thread count would build
    // rayon's global pool, threads and all, for a program that never asked for one.
    if m * k * n >= PARALLEL_MIN_MACS
        && rayon::current_thread_index().is_some()
        && rayon::current_num_threads() > 1
    {
        let parts = rayon::current_num_threads().min(m * k * n / PART_MIN_MACS);
        // SAFETY: as for `raw.run()` below; `run_parts` splits C into parts that share no
        // memory and joins them all before returning.
        unsafe { raw.run_parts(parts) };
        return;
    }
    // SAFETY: each view was checked at construction to keep every element it names
    // inside its slice (`check_view`), C's elements at distinct offsets
    // (`check_distinct`, as `sgemm` requires of its output), the shapes agree (checked
    // above), and `c` is borrowed mutably so it cannot alias `a` or `b`.
    unsafe { raw.run() }
}

/// Runs `f` on the thread pool of the `threading` feature: inside it, every large matrix
/// product splits over the pool's threads, and so do batched convolutions. (Outside it products run on the calling thread: a
/// hand-over into the pool for each product costs more than it saves.) Without the
/// feature it runs `f` on the calling thread, so code that uses it builds either way.
///
/// ```
/// let sum = nn::gemm::parallel(|| 1 + 1);
/// assert_eq!(sum, 2);
/// ```
#[cfg(not(feature = "threading"))]
pub fn parallel<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    f()
}

/// Runs `f` on the thread pool of the `threading` feature: inside it, every large matrix
/// product splits over the pool's threads, and so do batched convolutions. (Outside it products run on the calling thread: a
/// hand-over into the pool for each product costs more than it saves.)
///
/// ```
/// let sum = nn::gemm::parallel(|| 1 + 1);
/// assert_eq!(sum, 2);
/// ```
#[cfg(feature = "threading")]
pub fn parallel<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let mut out = None;
    rayon::scope(|_| out = Some(f()));
    match out {
        Some(r) => r,
        None => unreachable!("rayon::scope returns after running its closure"),
    }
}

/// Products at least this large (in multiply-adds) are split over threads with the
/// `threading` feature; smaller ones cost less than the hand-over.
#[cfg(feature = "threading")]
const PARALLEL_MIN_MACS: usize = 1 << 21;

/// The least work (in multiply-adds) of one part of a split product.
#[cfg(feature = "threading")]
const PART_MIN_MACS: usize = 1 << 20;

/// One `sgemm` call's arguments, with raw pointers so that parts can go to threads.
#[derive(Clone, Copy)]
struct Raw {
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
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
}

// SAFETY: a `Raw` is only sent to another thread by `gemm`, which splits C into parts
// that share no memory (C's elements are distinct, checked when its `MatMut` was built)
// and joins every part before its borrows of the data end.
#[cfg(feature = "threading")]
unsafe impl Send for Raw {}

impl Raw {
    /// `C ← α A B + β C`.
    ///
    /// # Safety
    /// The pointers and strides must name valid `m×k`, `k×n` and `m×n` matrices, C's
    /// elements distinct from each other and from A's and B's, and nothing else may
    /// access C meanwhile.
    unsafe fn run(self) {
        #[cfg(feature = "std")]
        // SAFETY: forwarded from this function's contract; `gemm_with` checked that the CPU
        // can run the kernel.
        if unsafe {
            tiled::sgemm(
                self.kernel,
                self.m,
                self.k,
                self.n,
                self.alpha,
                self.a,
                self.rsa,
                self.csa,
                self.b,
                self.rsb,
                self.csb,
                self.beta,
                self.c,
                self.rsc,
                self.csc,
            )
        } {
            return;
        }
        // SAFETY: forwarded from this function's contract.
        unsafe {
            matrixmultiply::sgemm(
                self.m, self.k, self.n, self.alpha, self.a, self.rsa, self.csa, self.b, self.rsb,
                self.csb, self.beta, self.c, self.rsc, self.csc,
            )
        }
    }

    /// `C ← α A B + β C` in `parts` parts over the pool's threads: halves, split in
    /// proportion to the parts each gets, and split again until one part is left.
    ///
    /// # Safety
    /// As [`Raw::run`].
    #[cfg(feature = "threading")]
    unsafe fn run_parts(self, parts: usize) {
        if parts < 2 {
            // SAFETY: forwarded from this function's contract.
            return unsafe { self.run() };
        }
        let (x, y) = self.split(parts / 2, parts);
        // SAFETY: every element of C is at its own offset (`check_distinct` at the view's
        // construction), so the two parts, rows `..mid` and `mid..` or columns, share no
        // memory; both lie inside the views checked by `check_view`; both read only A and
        // B, which the borrows keep unwritten, and `join` returns after both end.
        rayon::join(
            move || unsafe { x.run_parts(parts / 2) },
            move || unsafe { y.run_parts(parts - parts / 2) },
        );
    }

    /// The product as two parts, split along the larger of m and n in the ratio
    /// `first_parts : parts − first_parts`, whose parts of C are disjoint: rows `..mid`
    /// and `mid..`, or columns.
    #[cfg(feature = "threading")]
    fn split(self, first_parts: usize, parts: usize) -> (Raw, Raw) {
        let mut first = self;
        let mut second = self;
        if self.m >= self.n {
            let mid = self.m * first_parts / parts;
            first.m = mid;
            second.m = self.m - mid;
            // Offsets within the checked views, so `wrapping_offset` stays in bounds.
            second.a = self.a.wrapping_offset(mid as isize * self.rsa);
            second.c = self.c.wrapping_offset(mid as isize * self.rsc);
        } else {
            let mid = self.n * first_parts / parts;
            first.n = mid;
            second.n = self.n - mid;
            second.b = self.b.wrapping_offset(mid as isize * self.csb);
            second.c = self.c.wrapping_offset(mid as isize * self.csc);
        }
        (first, second)
    }
}
