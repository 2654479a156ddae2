//! PyTorch's `torch.nn.init`: fill a parameter in place, drawing from the library's seeded
//! [`Rng`].
//!
//! A parameter is a `&mut [f32]` with its shape in PyTorch's layout (`[out, in]` for a
//! `Linear` weight, `[out, in, kh, kw]` for a `Conv2d` one), from which the fans are
//! computed as PyTorch computes them ([`calculate_fan_in_and_fan_out`]). The values differ
//! from PyTorch's, whose generator is another; the distributions, bounds and standard
//! deviations are PyTorch's.
//!
//! ```
//! use nn::init::{self, FanMode, Nonlinearity};
//! let mut rng = nn::Rng::seed(0);
//! let mut w = vec![0.0f32; 128 * 784];
//! // PyTorch: nn.init.kaiming_normal_(w, mode='fan_in', nonlinearity='relu')
//! let std = init::kaiming_normal_(&mut w, &[128, 784], Nonlinearity::ReLU, FanMode::FanIn, &mut rng);
//! assert_eq!(std, (2.0f64 / 784.0).sqrt() as f32);
//! let mut b = [1.0f32; 128];
//! init::zeros_(&mut b);
//! assert!(b.iter().all(|v| *v == 0.0));
//! ```
//!
//! The initialisers that scale by a shape return the bound (uniform) or standard deviation
//! (normal) they drew with, computed in double precision as PyTorch's Python computes it:
//! gains and slopes are Python floats there, so they are `f64` here, and the bounds are
//! PyTorch's to the last bit.

use crate::Rng;

/// The nonlinearity a layer's output goes through next, which sets the gain of
/// [`calculate_gain`]: PyTorch's `nonlinearity` (and, for `LeakyReLU`, `param`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// None, PyTorch's `'linear'`: gain 1.
    Linear,
    /// A convolution, PyTorch's `'conv1d'`, `'conv2d'`, ...: gain 1.
    Conv,
    /// `'sigmoid'`: gain 1.
    Sigmoid,
    /// `'tanh'`: gain 5/3.
    Tanh,
    /// `'relu'`: gain √2.
    ReLU,
    /// `'leaky_relu'` with its negative slope (PyTorch's default is 0.01, as
    /// [`LeakyReLU`](crate::LeakyReLU)'s): gain `√(2 / (1 + slope²))`.
    LeakyReLU(f64),
    /// `'selu'`: gain 3/4.
    Selu,
}

/// Which fan a Kaiming initialiser keeps the variance of: PyTorch's `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FanMode {
    /// `'fan_in'` (the default): the variance of the forward pass.
    #[default]
    FanIn,
    /// `'fan_out'`: the variance of the backward pass.
    FanOut,
}

/// PyTorch's `nn.init.calculate_gain(nonlinearity, param)`.
///
/// ```
/// use nn::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::ReLU), 2f64.sqrt());
/// assert_eq!(calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0);
/// assert_eq!(calculate_gain(Nonlinearity::LeakyReLU(0.0)), 2f64.sqrt());
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Conv | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::ReLU => libm::sqrt(2.0),
        Nonlinearity::LeakyReLU(slope) => libm::sqrt(2.0 / (1.0 + slope * slope)),
        Nonlinearity::Selu => 3.0 / 4.0,
    }
}

/// PyTorch's `nn.init._calculate_fan_in_and_fan_out`: for a weight of shape
/// `[out, in, k...]`, `(in · Πk, out · Πk)`.
///
/// ```
/// use nn::init::calculate_fan_in_and_fan_out;
/// assert_eq!(calculate_fan_in_and_fan_out(&[10, 128]), (128, 10)); // Linear<128, 10>
/// assert_eq!(calculate_fan_in_and_fan_out(&[16, 8, 3, 3]), (72, 144)); // Conv2d 8 → 16, 3 × 3
/// ```
///
/// # Panics
/// If the shape has fewer than 2 dimensions, as PyTorch raises: a bias has no fans.
pub fn calculate_fan_in_and_fan_out(shape: &[usize]) -> (usize, usize) {
    assert!(
        shape.len() >= 2,
        "fan in and fan out cannot be computed for a shape of fewer than 2 dimensions \
         ({shape:?}); a bias is initialised from its weight's fan in"
    );
    let receptive: usize = shape[2..].iter().product();
    (shape[1] * receptive, shape[0] * receptive)
}

/// The fan `mode` picks, of a tensor `w` of shape `shape`.
fn fan(w: &[f32], shape: &[usize], mode: FanMode) -> usize {
    let (fan_in, fan_out) = checked_fans(w, shape);
    match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    }
}

/// The fans of `shape`, after checking that `w` holds as many values as it says.
fn checked_fans(w: &[f32], shape: &[usize]) -> (usize, usize) {
    let numel: usize = shape.iter().product();
    assert!(
        w.len() == numel,
        "the tensor has {} values but its shape {shape:?} has {numel}",
        w.len()
    );
    calculate_fan_in_and_fan_out(shape)
}

/// PyTorch's `nn.init.uniform_(w, a, b)`: each value drawn uniformly from `[a, b)`.
///
/// ```
/// let mut w = [0.0; 100];
/// nn::init::uniform_(&mut w, -0.25, 0.75, &mut nn::Rng::seed(0));
/// assert!(w.iter().all(|v| (-0.25..0.75).contains(v)));
/// ```
pub fn uniform_(w: &mut [f32], a: f32, b: f32, rng: &mut Rng) {
    w.iter_mut().for_each(|v| *v = rng.uniform(a, b));
}

/// PyTorch's `nn.init.normal_(w, mean, std)`: each value drawn from the normal distribution
/// ([`Rng::normal`]).
///
/// ```
/// let mut w = [0.0; 4];
/// nn::init::normal_(&mut w, 0.0, 0.02, &mut nn::Rng::seed(0));
/// assert!(w.iter().all(|v| v.abs() < 0.02 * 6.7)); // Box–Muller's largest magnitude
/// ```
pub fn normal_(w: &mut [f32], mean: f32, std: f32, rng: &mut Rng) {
    w.iter_mut().for_each(|v| *v = rng.normal(mean, std));
}

/// PyTorch's `nn.init.constant_(w, val)`.
///
/// ```
/// let mut w = [0.0; 3];
/// nn::init::constant_(&mut w, 0.1);
/// assert_eq!(w, [0.1; 3]);
/// ```
pub fn constant_(w: &mut [f32], val: f32) {
    w.fill(val);
}

/// PyTorch's `nn.init.zeros_(w)`.
///
/// ```
/// let mut w = [1.0; 3];
/// nn::init::zeros_(&mut w);
/// assert_eq!(w, [0.0; 3]);
/// ```
pub fn zeros_(w: &mut [f32]) {
    w.fill(0.0);
}

/// PyTorch's `nn.init.ones_(w)`.
///
/// ```
/// let mut w = [0.0; 3];
/// nn::init::ones_(&mut w);
/// assert_eq!(w, [1.0; 3]);
/// ```
pub fn ones_(w: &mut [f32]) {
    w.fill(1.0);
}

/// The standard deviation `gain / √fan` of Kaiming (He) initialisation, in double precision.
fn kaiming_std(w: &[f32], shape: &[usize], nonlinearity: Nonlinearity, mode: FanMode) -> f64 {
    calculate_gain(nonlinearity) / libm::sqrt(fan(w, shape, mode) as f64)
}

/// PyTorch's `nn.init.kaiming_uniform_(w, a, mode, nonlinearity)`: uniform on
/// `[−bound, bound)` with `bound = √3 · gain / √fan`. Returns the bound.
///
/// PyTorch's `a` is `LeakyReLU`'s slope here: its `Linear` and `Conv2d` initialise their
/// weights with `kaiming_uniform_(w, a=√5)`, which is
/// `Nonlinearity::LeakyReLU(5f64.sqrt())`, a bound of `1 / √fan_in`.
///
/// ```
/// use nn::init::{kaiming_uniform_, FanMode, Nonlinearity};
/// let mut w = vec![0.0; 10 * 128];
/// let a = Nonlinearity::LeakyReLU(5f64.sqrt());
/// let bound = kaiming_uniform_(&mut w, &[10, 128], a, FanMode::FanIn, &mut nn::Rng::seed(0));
/// assert!((bound - 1.0 / 128f32.sqrt()).abs() < 1e-7);
/// assert!(w.iter().all(|v| v.abs() <= bound));
/// ```
///
/// # Panics
/// If `w` does not hold as many values as `shape` says, or `shape` has fewer than 2
/// dimensions.
pub fn kaiming_uniform_(
    w: &mut [f32],
    shape: &[usize],
    nonlinearity: Nonlinearity,
    mode: FanMode,
    rng: &mut Rng,
) -> f32 {
    let bound = (libm::sqrt(3.0) * kaiming_std(w, shape, nonlinearity, mode)) as f32;
    uniform_(w, -bound, bound, rng);
    bound
}

/// PyTorch's `nn.init.kaiming_normal_(w, a, mode, nonlinearity)`: normal with mean 0 and
/// standard deviation `gain / √fan`. Returns the standard deviation.
///
/// ```
/// use nn::init::{kaiming_normal_, FanMode, Nonlinearity};
/// let mut w = vec![0.0; 16 * 8 * 3 * 3];
/// let std = kaiming_normal_(&mut w, &[16, 8, 3, 3], Nonlinearity::ReLU, FanMode::FanOut, &mut nn::Rng::seed(0));
/// assert_eq!(std, (2.0f64 / 144.0).sqrt() as f32);
/// ```
///
/// # Panics
/// As [`kaiming_uniform_`].
pub fn kaiming_normal_(
    w: &mut [f32],
    shape: &[usize],
    nonlinearity: Nonlinearity,
    mode: FanMode,
    rng: &mut Rng,
) -> f32 {
    let std = kaiming_std(w, shape, nonlinearity, mode) as f32;
    normal_(w, 0.0, std, rng);
    std
}

/// The standard deviation `gain · √(2 / (fan_in + fan_out))` of Xavier (Glorot)
/// initialisation, in double precision.
fn xavier_std(w: &[f32], shape: &[usize], gain: f64) -> f64 {
    let (fan_in, fan_out) = checked_fans(w, shape);
    gain * libm::sqrt(2.0 / (fan_in + fan_out) as f64)
}

/// PyTorch's `nn.init.xavier_uniform_(w, gain)`: uniform on `[−bound, bound)` with
/// `bound = gain · √(6 / (fan_in + fan_out))`. Returns the bound.
///
/// ```
/// let mut w = vec![0.0; 16 * 8];
/// let bound = nn::init::xavier_uniform_(&mut w, &[16, 8], 1.0, &mut nn::Rng::seed(0));
/// assert_eq!(bound, 0.5); // √(6 / 24)
/// ```
///
/// # Panics
/// As [`kaiming_uniform_`].
pub fn xavier_uniform_(w: &mut [f32], shape: &[usize], gain: f64, rng: &mut Rng) -> f32 {
    let bound = (libm::sqrt(3.0) * xavier_std(w, shape, gain)) as f32;
    uniform_(w, -bound, bound, rng);
    bound
}

/// PyTorch's `nn.init.xavier_normal_(w, gain)`: normal with mean 0 and standard deviation
/// `gain · √(2 / (fan_in + fan_out))`. Returns the standard deviation.
///
/// ```
/// use nn::init::{calculate_gain, xavier_normal_, Nonlinearity};
/// let mut w = vec![0.0; 6 * 2];
/// let std = xavier_normal_(&mut w, &[6, 2], calculate_gain(Nonlinearity::Linear), &mut nn::Rng::seed(0));
/// assert_eq!(std, 0.5); // √(2 / 8)
/// ```
///
/// # Panics
/// As [`kaiming_uniform_`].
pub fn xavier_normal_(w: &mut [f32], shape: &[usize], gain: f64, rng: &mut Rng) -> f32 {
    let std = xavier_std(w, shape, gain) as f32;
    normal_(w, 0.0, std, rng);
    std
}
