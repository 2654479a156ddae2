//! Elementwise activations: one driver ([`Elementwise`]); each activation states only
//! its function and derivative.
//!
//! An activation's own constant (LeakyReLU's slope, ELU's alpha) is part of its type, as
//! the bits of an `f32` (`f32::to_bits`): stable const generics take no floats, and a
//! constant in the type leaves the layer zero-sized, with no run-time state, so that a
//! network can be a `static` built from zeroed or constant values.
//!
//! `smooth` holds the activations with a slope or a curve below zero (LeakyReLU, ELU, GELU,
//! SiLU), `hard` the piecewise-linear ones of mobile networks, `math` `exp` and `log`, and
//! `softmax` [`Softmax`] and [`LogSoftmax`], which act on a whole row.

mod hard;
mod math;
mod smooth;
mod softmax;

pub use hard::{Hardsigmoid, HardsigmoidFn, Hardswish, HardswishFn, ReLU6, Relu6Fn};
pub use math::{Exp, ExpFn, Log, LogFn};
pub use smooth::{
    EluFn, GeluFn, GeluTanh, GeluTanhFn, LeakyReLU, LeakyReluFn, SiLU, SiluFn, ELU, ELU_ALPHA,
    GELU, LEAKY_RELU_SLOPE,
};
pub use softmax::{LogSoftmax, Softmax};

use core::fmt;
use core::marker::PhantomData;

#[cfg(feature = "alloc")]
use crate::kernels::parts::for_parts;
#[cfg(feature = "alloc")]
use crate::kernels::simd::{vectorized, Kernel};
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
    /// Writes the activation as it is declared in `network!` (`LeakyReLU<0.2>`); by
    /// default its [`Activation::NAME`].
    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::NAME)
    }
}

/// An activation `A` applied to each of `N` features. Declared in `network!` by the
/// activation's name alone (`ReLU`); the macro fills in `N` from the layer before.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{Layer, ReLU};
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
        A::describe(f)?;
        write!(f, " over {N} features")
    }
}

// SAFETY: a zero-sized type has exactly one value, which all-zero (no) bytes represent.
unsafe impl<A, const N: usize> bytemuck::Zeroable for Elementwise<A, N> {}

#[diagnostic::do_not_recommend]
impl<A: Activation, const N: usize> Layer for Elementwise<A, N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;
    const IN_PLACE: bool = true;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        A::describe(f)
    }

    fn init(&mut self, _rng: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        // On the widest vector unit, as a batch runs: one sample's features are a step of a
        // streamed network, where a tanh at the baseline's width costs more than the products.
        #[cfg(feature = "alloc")]
        vectorized(Forward::<A> {
            x: &x[..N],
            y: &mut y[..N],
            f: PhantomData,
        });
        #[cfg(not(feature = "alloc"))]
        for (y, x) in y.iter_mut().zip(x) {
            *y = A::f(*x);
        }
    }

    fn forward_in_place(&self, xy: &mut [f32]) {
        for v in &mut xy[..N] {
            *v = A::f(*v);
        }
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        let n = batch * N;
        for_parts((&x[..n], &mut y[..n]), PART_MIN, 16, &|(x, y)| {
            vectorized(Forward::<A> {
                x,
                y,
                f: PhantomData,
            })
        });
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, _grad: &mut [f32]) {
        let Some(dx) = dx else { return };
        let n = io.batch * N;
        let (x, y, dy, dx) = (&io.x[..n], &io.y[..n], &io.dy[..n], &mut dx[..n]);
        #[cfg(feature = "alloc")]
        for_parts((dx, x, y, dy), PART_MIN, 16, &|(dx, x, y, dy)| {
            vectorized(Derivative::<A> {
                dx,
                x,
                y,
                dy,
                f: PhantomData,
            })
        });
        #[cfg(not(feature = "alloc"))]
        Derivative::<A> {
            dx,
            x,
            y,
            dy,
            f: PhantomData,
        }
        .run_here();
    }
}

/// Elements per thread, at least, of an activation's pass split over the pool.
#[cfg(feature = "alloc")]
const PART_MIN: usize = 1 << 15;

/// `y = f(x)` over a part of a batch.
#[cfg(feature = "alloc")]
struct Forward<'a, A> {
    x: &'a [f32],
    y: &'a mut [f32],
    f: PhantomData<A>,
}

#[cfg(feature = "alloc")]
impl<A: Activation> Kernel for Forward<'_, A> {
    #[inline(always)]
    fn run(self) {
        let x = &self.x[..self.y.len()];
        for (y, x) in self.y.iter_mut().zip(x) {
            *y = A::f(*x);
        }
    }
}

/// `dx = dy · f'(x)` over a part of a batch.
struct Derivative<'a, A> {
    dx: &'a mut [f32],
    x: &'a [f32],
    y: &'a [f32],
    dy: &'a [f32],
    f: PhantomData<A>,
}

impl<A: Activation> Derivative<'_, A> {
    #[inline(always)]
    fn run_here(self) {
        let n = self.dx.len();
        let (x, y, dy) = (&self.x[..n], &self.y[..n], &self.dy[..n]);
        for i in 0..n {
            self.dx[i] = dy[i] * A::df(x[i], y[i]);
        }
    }
}

#[cfg(feature = "alloc")]
impl<A: Activation> Kernel for Derivative<'_, A> {
    #[inline(always)]
    fn run(self) {
        self.run_here()
    }
}

/// `max(0, x)`, the derivative taken as 0 at 0 as PyTorch does. NaN stays NaN, with
/// derivative 1, as in PyTorch.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReluFn;
impl Activation for ReluFn {
    const NAME: &'static str = "ReLU";
    #[inline]
    fn f(x: f32) -> f32 {
        // Not `x.max(0.0)`, which turns NaN into 0: PyTorch keeps NaN (and -0.0).
        if x < 0.0 {
            0.0
        } else {
            x
        }
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        // PyTorch's `threshold_backward`: 0 where `x <= 0`, else 1, NaN included.
        if x <= 0.0 {
            0.0
        } else {
            1.0
        }
    }
}

/// `1 / (1 + e^-x)`, through the branch-free `e^x` of the recurrent layers' gates (unfused,
/// the same bits on every CPU), so that a batch's pass runs in vector registers.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigmoidFn;
impl Activation for SigmoidFn {
    const NAME: &'static str = "Sigmoid";
    #[inline]
    fn f(x: f32) -> f32 {
        use crate::kernels::recurrent::math::{exp, sigmoid};
        // Below −87 the sigmoid is `e^x` to within rounding, a subnormal that the kernel's
        // `e^x` does not reach: there, the square of `e^{x/2}`. Both computed and one kept
        // by a comparison, without a branch.
        let half = exp::<false>(0.5 * x);
        let far = half * half;
        let near = sigmoid::<false>(x);
        if x < -87.0 {
            far
        } else {
            near
        }
    }
    #[inline]
    fn df(_x: f32, y: f32) -> f32 {
        y * (1.0 - y)
    }
}

/// `tanh(x)`, within 2 ulp of the correctly rounded value: Cephes' `tanhf`, written without
/// branches so that a layer's loop runs in vector registers (a step of a causal convolution
/// stack spends most of its time here otherwise), and without fused multiply-adds, so that it
/// gives the same bits on every machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct TanhFn;
impl Activation for TanhFn {
    const NAME: &'static str = "Tanh";
    #[inline]
    fn f(x: f32) -> f32 {
        crate::kernels::recurrent::math::tanh::<false>(x)
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

#[cfg(test)]
mod tests;
