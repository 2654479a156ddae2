//! The activations with a slope or a curve below zero: `LeakyReLU` and `ELU`, whose constant
//! is part of the type as its bits, the exact and tanh-approximated `GELU`, and `SiLU`, each
//! as PyTorch computes it.

use core::fmt;

use super::{Activation, Elementwise};

/// The bits of PyTorch's default LeakyReLU slope, 0.01: `LeakyReLU<N>`'s default.
pub const LEAKY_RELU_SLOPE: u32 = 0.01f32.to_bits();
/// The bits of PyTorch's default ELU alpha, 1.0: `ELU<N>`'s default.
pub const ELU_ALPHA: u32 = 1.0f32.to_bits();

/// `x` for `x > 0`, else `slope · x`, as PyTorch's `nn.LeakyReLU(negative_slope)`;
/// `SLOPE` holds the slope's bits (`f32::to_bits`). The derivative at 0 is the slope, as in
/// PyTorch.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeakyReluFn<const SLOPE: u32>;
impl<const SLOPE: u32> LeakyReluFn<SLOPE> {
    /// The negative slope.
    pub const SLOPE: f32 = f32::from_bits(SLOPE);
}
impl<const SLOPE: u32> Activation for LeakyReluFn<SLOPE> {
    const NAME: &'static str = "LeakyReLU";
    #[inline]
    fn f(x: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            x * Self::SLOPE
        }
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        if x > 0.0 {
            1.0
        } else {
            Self::SLOPE
        }
    }
    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe_with(f, Self::NAME, SLOPE, LEAKY_RELU_SLOPE)
    }
}

/// `x` for `x > 0`, else `α (eˣ − 1)`, as PyTorch's `nn.ELU(alpha)`; `ALPHA` holds α's bits
/// (`f32::to_bits`). Computed with `expm1`, as PyTorch does, so that it is exact near 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct EluFn<const ALPHA: u32>;
impl<const ALPHA: u32> EluFn<ALPHA> {
    /// The scale α of the negative side.
    pub const ALPHA: f32 = f32::from_bits(ALPHA);
}
impl<const ALPHA: u32> Activation for EluFn<ALPHA> {
    const NAME: &'static str = "ELU";
    #[inline]
    fn f(x: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            Self::ALPHA * libm::expm1f(x)
        }
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        // From `x` rather than `y + α`, which cancels for very negative `x`. Tested as
        // PyTorch tests it (`x <= 0`), so that NaN takes the derivative 1 there too.
        if x <= 0.0 {
            Self::ALPHA * libm::expf(x)
        } else {
            1.0
        }
    }
    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe_with(f, Self::NAME, ALPHA, ELU_ALPHA)
    }
}

/// Writes `name`, followed by `<value>` when `bits` is not the default.
fn describe_with(f: &mut fmt::Formatter<'_>, name: &str, bits: u32, default: u32) -> fmt::Result {
    f.write_str(name)?;
    if bits != default {
        // `{:?}` keeps the decimal point (`1.0`, not `1`), as `network!` wants it.
        write!(f, "<{:?}>", f32::from_bits(bits))?;
    }
    Ok(())
}

/// `1/√2`.
const FRAC_1_SQRT_2: f32 = core::f32::consts::FRAC_1_SQRT_2;
/// `1/√(2π)`, the standard normal density at 0.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// The exact GELU, `x Φ(x) = x/2 (1 + erf(x/√2))`, as PyTorch's `nn.GELU()`
/// (`approximate='none'`).
#[derive(Clone, Copy, Debug, Default)]
pub struct GeluFn;
impl Activation for GeluFn {
    const NAME: &'static str = "GELU";
    #[inline]
    fn f(x: f32) -> f32 {
        0.5 * x * (1.0 + libm::erff(x * FRAC_1_SQRT_2))
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        // Φ(x) + x φ(x).
        let cdf = 0.5 * (1.0 + libm::erff(x * FRAC_1_SQRT_2));
        let pdf = FRAC_1_SQRT_2PI * libm::expf(-0.5 * x * x);
        cdf + x * pdf
    }
}

/// `√(2/π)`.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh approximation.
const GELU_KAPPA: f32 = 0.044_715;

/// GELU with the tanh approximation, `x/2 (1 + tanh(√(2/π) (x + 0.044715 x³)))`, as
/// PyTorch's `nn.GELU(approximate='tanh')`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeluTanhFn;
impl Activation for GeluTanhFn {
    const NAME: &'static str = "GELU";
    #[inline]
    fn f(x: f32) -> f32 {
        let inner = SQRT_2_OVER_PI * (x + GELU_KAPPA * x * x * x);
        0.5 * x * (1.0 + libm::tanhf(inner))
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        let x2 = x * x;
        let t = libm::tanhf(SQRT_2_OVER_PI * (x + GELU_KAPPA * x2 * x));
        let d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_KAPPA * x2);
        0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner
    }
    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GELU<tanh>")
    }
}

/// `x σ(x) = x / (1 + e⁻ˣ)`, as PyTorch's `nn.SiLU()` (also called swish).
#[derive(Clone, Copy, Debug, Default)]
pub struct SiluFn;
impl Activation for SiluFn {
    const NAME: &'static str = "SiLU";
    #[inline]
    fn f(x: f32) -> f32 {
        x / (1.0 + libm::expf(-x))
    }
    #[inline]
    fn df(x: f32, _y: f32) -> f32 {
        let s = 1.0 / (1.0 + libm::expf(-x));
        s * (1.0 + x * (1.0 - s))
    }
}

/// PyTorch's `nn.LeakyReLU(negative_slope)` over `N` features; `SLOPE` is the slope's bits,
/// by default PyTorch's 0.01. In `network!`: `LeakyReLU` or `LeakyReLU<0.2>`; in Rust,
/// `LeakyReLU<N, { 0.2f32.to_bits() }>`.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{Layer, LeakyReLU};
/// let mut y = [0.0; 2];
/// LeakyReLU::<2>::default().forward(&[-1.0, 3.0], &mut y);
/// assert_eq!(y, [-0.01, 3.0]);
/// LeakyReLU::<2, { 0.5f32.to_bits() }>::default().forward(&[-1.0, 3.0], &mut y);
/// assert_eq!(y, [-0.5, 3.0]);
/// ```
pub type LeakyReLU<const N: usize, const SLOPE: u32 = LEAKY_RELU_SLOPE> =
    Elementwise<LeakyReluFn<SLOPE>, N>;
/// PyTorch's `nn.ELU(alpha)` over `N` features; `ALPHA` is α's bits, by default PyTorch's
/// 1.0. In `network!`: `ELU` or `ELU<0.5>`; in Rust, `ELU<N, { 0.5f32.to_bits() }>`.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{Layer, ELU};
/// let mut y = [0.0; 2];
/// ELU::<2, { 2.0f32.to_bits() }>::default().forward(&[-1.0, 3.0], &mut y);
/// assert!((y[0] - 2.0 * (libm::expf(-1.0) - 1.0)).abs() < 1e-6 && y[1] == 3.0);
/// ```
pub type ELU<const N: usize, const ALPHA: u32 = ELU_ALPHA> = Elementwise<EluFn<ALPHA>, N>;
/// PyTorch's `nn.GELU()` over `N` features: the exact GELU, through `erf`. In `network!`:
/// `GELU`; the tanh approximation is `GELU<tanh>` ([`GeluTanh`]).
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{Layer, GELU};
/// let mut y = [0.0; 3];
/// GELU::<3>::default().forward(&[-1.0, 0.0, 1.0], &mut y);
/// // x Φ(x): Φ(1) = 0.8413447
/// assert!((y[2] - 0.841_344_7).abs() < 1e-6 && y[1] == 0.0);
/// assert!((y[0] + 0.158_655_3).abs() < 1e-6);
/// ```
pub type GELU<const N: usize> = Elementwise<GeluFn, N>;
/// PyTorch's `nn.GELU(approximate='tanh')` over `N` features. In `network!`: `GELU<tanh>`.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{GeluTanh, Layer};
/// let mut y = [0.0; 1];
/// GeluTanh::<1>::default().forward(&[1.0], &mut y);
/// assert!((y[0] - 0.841_192).abs() < 1e-6);
/// ```
pub type GeluTanh<const N: usize> = Elementwise<GeluTanhFn, N>;
/// PyTorch's `nn.SiLU()` over `N` features. In `network!`: `SiLU`.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{Layer, SiLU};
/// let mut y = [0.0; 2];
/// SiLU::<2>::default().forward(&[0.0, 2.0], &mut y);
/// assert!(y[0] == 0.0 && (y[1] - 2.0 / (1.0 + libm::expf(-2.0))).abs() < 1e-6);
/// ```
pub type SiLU<const N: usize> = Elementwise<SiluFn, N>;
