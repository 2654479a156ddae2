//! Elementwise activations: one driver ([`Elementwise`]); each activation states only
//! its function and derivative.

use core::fmt;
use core::marker::PhantomData;

use crate::{Backward, Layer, Rng};

/// An elementwise function: `f`, and its derivative written in terms of the input `x`
/// and the output `y = f(x)` (whichever is cheaper).
pub trait Activation: 'static {
    /// The name PyTorch gives the module, for summaries.
    const NAME: &'static str;
    /// The function.
    fn f(x: f32) -> f32;
    /// `f'(x)`, given `x` and `y = f(x)`.
    fn df(x: f32, y: f32) -> f32;
}

/// An activation `A` applied to each of `N` features. Declared in `network!` by the
/// activation's name alone (`ReLU`); the macro fills in `N` from the layer before.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn_core::{Layer, ReLU};
/// let mut y = [0.0; 3];
/// ReLU::<3>::default().forward(&[-1.0, 0.0, 2.0], &mut y);
/// assert_eq!(y, [0.0, 0.0, 2.0]);
/// ```
pub struct Elementwise<A, const N: usize>(PhantomData<A>);

impl<A, const N: usize> Default for Elementwise<A, N> {
    fn default() -> Self {
        Elementwise(PhantomData)
    }
}
impl<A, const N: usize> Clone for Elementwise<A, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A, const N: usize> Copy for Elementwise<A, N> {}
impl<A, const N: usize> PartialEq for Elementwise<A, N> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<A, const N: usize> Eq for Elementwise<A, N> {}
impl<A, const N: usize> fmt::Debug for Elementwise<A, N>
where
    A: Activation,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}<{N}>", A::NAME)
    }
}

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<A, const N: usize> bytemuck::Zeroable for Elementwise<A, N> {}

#[diagnostic::do_not_recommend]
impl<A: Activation, const N: usize> Layer for Elementwise<A, N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(A::NAME)
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = A::f(*x);
        }
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize) {
        self.forward(&x[..batch * N], &mut y[..batch * N]);
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        if let Some(dx) = dx {
            let n = io.batch * N;
            let rows = io.x[..n].iter().zip(&io.y[..n]).zip(&io.dy[..n]);
            for (dx, ((x, y), dy)) in dx[..n].iter_mut().zip(rows) {
                *dx = dy * A::df(*x, *y);
            }
        }
    }
}

/// `max(0, x)`, the derivative taken as 0 at 0 as PyTorch does.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReluFn;
impl Activation for ReluFn {
    const NAME: &'static str = "ReLU";
    #[inline]
    fn f(x: f32) -> f32 {
        x.max(0.0)
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        if x > 0.0 {
            1.0
        } else {
            0.0
        }
    }
}

/// `1 / (1 + e^-x)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigmoidFn;
impl Activation for SigmoidFn {
    const NAME: &'static str = "Sigmoid";
    #[inline]
    fn f(x: f32) -> f32 {
        1.0 / (1.0 + libm::expf(-x))
    }
    #[inline]
    fn df(_x: f32, y: f32) -> f32 {
        y * (1.0 - y)
    }
}

/// `tanh(x)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TanhFn;
impl Activation for TanhFn {
    const NAME: &'static str = "Tanh";
    #[inline]
    fn f(x: f32) -> f32 {
        libm::tanhf(x)
    }
    #[inline]
    fn df(_x: f32, y: f32) -> f32 {
        1.0 - y * y
    }
}

/// PyTorch's `nn.ReLU` over `N` features.
pub type ReLU<const N: usize> = Elementwise<ReluFn, N>;
/// PyTorch's `nn.Sigmoid` over `N` features.
pub type Sigmoid<const N: usize> = Elementwise<SigmoidFn, N>;
/// PyTorch's `nn.Tanh` over `N` features.
pub type Tanh<const N: usize> = Elementwise<TanhFn, N>;
