//! The piecewise-linear activations of mobile networks (MobileNet, MLPerf Tiny's models):
//! `ReLU6`, `Hardsigmoid` and `Hardswish`, written as PyTorch's kernels compute them, their
//! derivatives included at the kinks.

use super::{Activation, Elementwise};

/// `min(max(x, 0), 6)`, PyTorch's `nn.ReLU6()` (a `Hardtanh(0, 6)`): its derivative is 1
/// strictly between 0 and 6, else 0. NaN stays NaN.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu6Fn;
impl Activation for Relu6Fn {
    const NAME: &'static str = "ReLU6";
    #[inline]
    fn f(x: f32) -> f32 {
        // `std::min(std::max(x, 0), 6)` as PyTorch writes it, which keeps NaN.
        let lo = if x < 0.0 { 0.0 } else { x };
        if 6.0 < lo {
            6.0
        } else {
            lo
        }
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        if x <= 0.0 || x >= 6.0 {
            0.0
        } else {
            1.0
        }
    }
}

/// `relu6(x + 3) / 6`, PyTorch's `nn.Hardsigmoid()`: derivative 1/6 strictly between −3
/// and 3, else 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct HardsigmoidFn;
impl Activation for HardsigmoidFn {
    const NAME: &'static str = "Hardsigmoid";
    #[inline]
    fn f(x: f32) -> f32 {
        Relu6Fn::f(x + 3.0) / 6.0
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        if x > -3.0 && x < 3.0 {
            1.0 / 6.0
        } else {
            0.0
        }
    }
}

/// `x · relu6(x + 3) / 6`, PyTorch's `nn.Hardswish()`: derivative 0 up to −3, `x/3 + 1/2`
/// strictly between −3 and 3, 1 from 3 on.
#[derive(Clone, Copy, Debug, Default)]
pub struct HardswishFn;
impl Activation for HardswishFn {
    const NAME: &'static str = "Hardswish";
    #[inline]
    fn f(x: f32) -> f32 {
        x * Relu6Fn::f(x + 3.0) / 6.0
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        // PyTorch's kernel: the kinks themselves take the outer pieces' slopes.
        if x <= -3.0 {
            0.0
        } else if x < 3.0 {
            x / 3.0 + 0.5
        } else {
            1.0
        }
    }
}

/// PyTorch's `nn.ReLU6()` over `N` features. In `network!`: `ReLU6`.
///
/// ```
/// use nn::{Layer, ReLU6};
/// let mut y = [0.0; 3];
/// ReLU6::<3>::default().forward(&[-1.0, 2.0, 7.0], &mut y);
/// assert_eq!(y, [0.0, 2.0, 6.0]);
/// ```
pub type ReLU6<const N: usize> = Elementwise<Relu6Fn, N>;
/// PyTorch's `nn.Hardsigmoid()` over `N` features. In `network!`: `Hardsigmoid`.
///
/// ```
/// use nn::{Hardsigmoid, Layer};
/// let mut y = [0.0; 3];
/// Hardsigmoid::<3>::default().forward(&[-4.0, 0.0, 4.0], &mut y);
/// assert_eq!(y, [0.0, 0.5, 1.0]);
/// ```
pub type Hardsigmoid<const N: usize> = Elementwise<HardsigmoidFn, N>;
/// PyTorch's `nn.Hardswish()` over `N` features. In `network!`: `Hardswish`.
///
/// ```
/// use nn::{Hardswish, Layer};
/// let mut y = [0.0; 3];
/// Hardswish::<3>::default().forward(&[-4.0, 1.0, 4.0], &mut y);
/// assert_eq!(y, [0.0, 1.0 * 4.0 / 6.0, 4.0]);
/// ```
pub type Hardswish<const N: usize> = Elementwise<HardswishFn, N>;
