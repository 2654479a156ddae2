//! The one safe entry to `matrixmultiply`'s `sgemm`.
//!
//! Matrices are views over `f32` slices with a row stride and a column stride, so a
//! transpose is a view with the strides swapped ([`MatRef::t`]), never a copy.

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

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` view of `data`.
    ///
    /// ```
    /// let a = nn_core::gemm::MatRef::row_major(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
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
    /// let a = nn_core::gemm::MatRef::row_major(&[1.0; 6], 2, 3).t();
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

    /// A mutable view with explicit strides. Panics if the view reaches past `data`.
    pub fn strided(data: &'a mut [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        check_view("view", data.len(), rows, cols, rs, cs);
        MatMut {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// The transpose, by swapping strides.
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
/// use nn_core::gemm::{gemm, MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [5.0, 6.0, 7.0, 8.0]; // [[5, 6], [7, 8]]
/// let mut c = [0.0; 4];
/// // C = A Bᵀ, with Bᵀ taken by strides
/// gemm(1.0, MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2).t(), 0.0, MatMut::row_major(&mut c, 2, 2));
/// assert_eq!(c, [17.0, 23.0, 39.0, 53.0]);
/// ```
pub fn gemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
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
    // SAFETY: each view was checked at construction to keep every element it names
    // inside its slice (`check_view`), the shapes agree (checked above), `c` is borrowed
    // mutably so it cannot alias `a` or `b`, and sgemm reads and writes only elements
    // inside the m×k, k×n and m×n views.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            stride(a.rs),
            stride(a.cs),
            b.data.as_ptr(),
            stride(b.rs),
            stride(b.cs),
            beta,
            c.data.as_mut_ptr(),
            stride(c.rs),
            stride(c.cs),
        );
    }
}
