//! `exp` and `log` as elementwise functions, for a forward written as code
//! (`torch.exp(0.5 * logvar)`); PyTorch has no module for either.

use super::{Activation, Elementwise};

/// `eˣ`, whose derivative is its output.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExpFn;
impl Activation for ExpFn {
    const NAME: &'static str = "exp";
    #[inline]
    fn f(x: f32) -> f32 {
        libm::expf(x)
    }
    #[inline]
    fn df(_x: f32, y: f32) -> f32 {
        y
    }
}

/// The natural logarithm, `−inf` at 0 and NaN below as in PyTorch; its derivative `1/x`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogFn;
impl Activation for LogFn {
    const NAME: &'static str = "log";
    #[inline]
    fn f(x: f32) -> f32 {
        libm::logf(x)
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        1.0 / x
    }
}

/// `torch.exp` over `N` features: `exp(x)` in a forward written as code.
///
/// ```
/// use nn::{Exp, Layer};
/// let mut y = [0.0; 2];
/// Exp::<2>::default().forward(&[0.0, 1.0], &mut y);
/// assert_eq!(y, [1.0, libm::expf(1.0)]);
/// ```
pub type Exp<const N: usize> = Elementwise<ExpFn, N>;
/// `torch.log` over `N` features: `log(x)` in a forward written as code.
///
/// ```
/// use nn::{Layer, Log};
/// let mut y = [0.0; 2];
/// Log::<2>::default().forward(&[1.0, 4.0], &mut y);
/// assert_eq!(y, [0.0, libm::logf(4.0)]);
/// ```
pub type Log<const N: usize> = Elementwise<LogFn, N>;
