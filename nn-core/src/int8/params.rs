//! The parameters an int8 layer keeps beside its weights, prepared once from the scales and
//! zero points as TFLite Micro prepares them (`QuantizeMultiplier`, the activation range,
//! ADD's and MEAN's multipliers). Floating point is used here only, at preparation (bake)
//! time; inference uses the integers these produce.

/// A positive real multiplier `m` as TFLite's fixed point: `m ≈ multiplier · 2^(shift − 31)`,
/// `multiplier` in `[2^30, 2^31)` (or 0 for `m = 0` or a multiplier too small to hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Requant {
    /// The significand, a Q0.31 number in `[0.5, 1)`.
    pub multiplier: i32,
    /// The power of two: positive shifts left, negative right.
    pub shift: i32,
}

impl Requant {
    /// TFLite's `QuantizeMultiplier`: the significand of `m` rounded to 31 bits (halves away
    /// from zero), a significand that rounds up to 1 carried into the exponent, and anything
    /// below `2^-32` flushed to zero.
    ///
    /// ```
    /// use nn::int8::Requant;
    /// assert_eq!(Requant::new(0.75), Requant { multiplier: 3 << 29, shift: 0 });
    /// assert_eq!(Requant::new(0.003), Requant { multiplier: 1649267442, shift: -8 });
    /// assert_eq!(Requant::new(0.0), Requant { multiplier: 0, shift: 0 });
    /// ```
    ///
    /// A `const fn`, so that a network baked at compile time (`#[weights(.., dtype = int8)]`)
    /// holds its multipliers ready.
    pub const fn new(m: f64) -> Requant {
        if m == 0.0 || !m.is_finite() {
            return Requant {
                multiplier: 0,
                shift: 0,
            };
        }
        let (q, mut shift) = frexp(m);
        let mut fixed = round_half_away(q * (1u64 << 31) as f64);
        debug_assert!(fixed <= 1 << 31);
        if fixed == 1 << 31 {
            fixed /= 2;
            shift += 1;
        }
        if shift < -31 {
            shift = 0;
            fixed = 0;
        }
        Requant {
            multiplier: fixed as i32,
            shift,
        }
    }

    /// The multiplier of an accumulator of `input · weight` products into the output:
    /// `s_in · s_w / s_out`, in double precision from the single-precision scales as TFLite
    /// Micro computes it (`PopulateConvolutionQuantizationParams`).
    pub const fn product(input_scale: f32, weight_scale: f32, output_scale: f32) -> Requant {
        Requant::new(input_scale as f64 * weight_scale as f64 / output_scale as f64)
    }

    /// MEAN's multiplier over `count` values: `s_in / s_out` quantised, then divided by
    /// `count` in integers as TFLite Micro's `QuantizedMeanOrSum` does (the significand
    /// shifted left by `⌊log₂ count⌋`, at most 32 and at most `31 + shift`, then divided).
    pub fn mean(input_scale: f32, output_scale: f32, count: usize) -> Requant {
        let base = Requant::new(input_scale as f64 / output_scale as f64);
        let count = count.max(1) as i64;
        let log2 = 63 - (count as u64).leading_zeros() as i32;
        let shift = log2.min(32).min(31 + base.shift);
        Requant {
            multiplier: (((base.multiplier as i64) << shift) / count) as i32,
            shift: base.shift - shift,
        }
    }

    /// `x · m`, TFLite's `MultiplyByQuantizedMultiplier`.
    #[inline(always)]
    pub fn apply(self, x: i32) -> i32 {
        crate::kernels::int8::multiply_by_quantized_multiplier(x, self.multiplier, self.shift)
    }
}

/// A layer's int8 weights (`[out, ...]`, symmetric), its int32 biases (at the scale
/// `s_in · s_w`) and its output multipliers: one for the tensor, or one per output channel.
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    /// The weights, in PyTorch's layout of the layer.
    pub weight: &'a [i8],
    /// The biases, one per output channel, if the layer has them.
    pub bias: Option<&'a [i32]>,
    /// The requantisation of each output channel (or of all, if one).
    pub requant: &'a [Requant],
}

impl Weights<'_> {
    /// Output channel `c`'s bias (0 without biases) and multiplier.
    #[inline(always)]
    pub(crate) fn channel(&self, c: usize) -> (i32, Requant) {
        let r = self.requant[if self.requant.len() == 1 { 0 } else { c }];
        (self.bias.map_or(0, |b| b[c]), r)
    }

    /// Panics unless the biases and multipliers fit `channels` outputs.
    pub(crate) fn check(&self, channels: usize) {
        assert!(
            self.bias.is_none_or(|b| b.len() == channels),
            "{} biases for {channels} output channels",
            self.bias.map_or(0, <[i32]>::len)
        );
        assert!(
            self.requant.len() == 1 || self.requant.len() == channels,
            "{} multipliers for {channels} output channels",
            self.requant.len()
        );
    }
}

/// The activation fused into an int8 layer's output (TFLite's fused activation): a clamp of
/// the quantised output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// No clamp beyond int8's range.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

/// What follows an int32 accumulator once it is requantised: the output's zero point added,
/// then a clamp to `[min, max]` (int8's range narrowed by a fused activation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output {
    /// The output tensor's zero point.
    pub zero_point: i32,
    /// The least value written.
    pub min: i32,
    /// The greatest value written.
    pub max: i32,
}

impl Output {
    /// TFLite's `CalculateActivationRangeQuantized` for int8: ReLU's floor is the zero
    /// point, ReLU6's ceiling `zero_point + round(6 / scale)` (single precision, as TFLite),
    /// both within `[-128, 127]`.
    ///
    /// ```
    /// use nn::int8::{Activation, Output};
    /// let out = Output::new(0.05, -10, Activation::Relu6);
    /// assert_eq!((out.min, out.max), (-10, 110));
    /// ```
    pub const fn new(scale: f32, zero_point: i32, activation: Activation) -> Output {
        // `zero_point + roundf(x / scale) as i32` for 0 and 6, as TFLite, in a `const fn`.
        let zero = zero_point;
        let six = zero_point.saturating_add(round_to_i32(6.0 / scale));
        let (min, max) = match activation {
            Activation::None => (-128, 127),
            Activation::Relu => (max_i32(zero, -128), 127),
            Activation::Relu6 => (max_i32(zero, -128), min_i32(six, 127)),
        };
        Output {
            zero_point,
            min,
            max,
        }
    }

    /// The requantised accumulator `acc` plus the zero point, clamped, as int8.
    #[inline(always)]
    pub fn write(self, scaled: i32) -> i8 {
        (scaled + self.zero_point).clamp(self.min, self.max) as i8
    }
}

/// TFLite's ADD of two int8 tensors, prepared: both inputs shifted left by 20 bits and
/// rescaled to twice the larger input scale, summed, then rescaled to the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddParams {
    /// Minus the first input's zero point.
    pub input1_offset: i32,
    /// Minus the second input's zero point.
    pub input2_offset: i32,
    /// The bits both inputs are shifted left by before rescaling (20 for int8).
    pub left_shift: i32,
    /// The first input's rescale.
    pub input1: Requant,
    /// The second input's rescale.
    pub input2: Requant,
    /// The sum's rescale into the output.
    pub output: Requant,
    /// The output's zero point and clamp.
    pub out: Output,
}

impl AddParams {
    /// Prepared from the three tensors' scales and zero points and the fused activation, as
    /// TFLite Micro's `PrepareGeneralSubOrAdd` for int8.
    pub const fn new(
        input1: (f32, i32),
        input2: (f32, i32),
        output: (f32, i32),
        activation: Activation,
    ) -> AddParams {
        const LEFT_SHIFT: i32 = 20;
        let twice_max = 2.0 * (input1.0.max(input2.0) as f64);
        AddParams {
            input1_offset: -input1.1,
            input2_offset: -input2.1,
            left_shift: LEFT_SHIFT,
            input1: Requant::new(input1.0 as f64 / twice_max),
            input2: Requant::new(input2.0 as f64 / twice_max),
            output: Requant::new(twice_max / ((1i64 << LEFT_SHIFT) as f64 * output.0 as f64)),
            out: Output::new(output.0, output.1, activation),
        }
    }
}

/// A tensor's quantisation: `real = scale · (q − zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quant {
    /// The real value of one step.
    pub scale: f32,
    /// The int8 value of real 0.
    pub zero_point: i32,
}

impl Quant {
    /// The asymmetric int8 quantisation of the range `[lo, hi]`, widened to include 0.
    pub fn of_range(lo: f32, hi: f32) -> Quant {
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
        let zero_point = (-128.0 - libm::roundf(lo / scale)).clamp(-128.0, 127.0) as i32;
        Quant { scale, zero_point }
    }

    /// `x` quantised: `clamp(round(x / scale) + zero_point)`. A `const fn`, so that a
    /// table of quantised inputs can be made when the program compiles (a microcontroller
    /// without an FPU then runs no floating point).
    #[inline(always)]
    pub const fn quantize(self, x: f32) -> i8 {
        // `roundf` (halves away from zero) in operations that vectorise, with no float to
        // integer cast (whose saturation does not): adding 1.5 · 2^23 rounds `v` to the
        // nearest even integer, which the sum's low bits hold; a tie rounded towards zero is
        // moved away from it. Exact for |v| <= 512; beyond, the result saturates either way
        // (a NaN gives 0, as `roundf(NaN) as i32` does).
        const MAGIC: f32 = 12_582_912.0;
        let v = (x / self.scale).clamp(-512.0, 512.0);
        let m = v + MAGIC;
        let even = if v.is_nan() {
            0
        } else {
            m.to_bits() as i32 - MAGIC.to_bits() as i32
        };
        let f = v - (m - MAGIC);
        let r =
            even + (f == 0.5 && v > 0.0) as i32 - (f == -0.5 && v < 0.0) as i32 + self.zero_point;
        (if r < -128 {
            -128
        } else if r > 127 {
            127
        } else {
            r
        }) as i8
    }

    /// `q` as a real value.
    pub fn dequantize(self, q: i8) -> f32 {
        self.scale * (q as i32 - self.zero_point) as f32
    }
}

/// `libm::frexp` for a finite, nonzero `m`: `m = q · 2^e`, `|q|` in `[0.5, 1)`, in a
/// `const fn` (a subnormal `m` is scaled into the normal range first).
const fn frexp(m: f64) -> (f64, i32) {
    let (m, bias) = if m.abs() < f64::MIN_POSITIVE {
        (m * (1u64 << 54) as f64, -54)
    } else {
        (m, 0)
    };
    let bits = m.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    let q = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (q, exponent - 1022 + bias)
}

/// `libm::round(x) as i64`: the nearest integer, halves away from zero (exact for `|x|`
/// below `2^52`, where `x + 0.5` loses nothing; beyond, `x` is an integer already).
const fn round_half_away(x: f64) -> i64 {
    if x.is_nan() || x.abs() >= (1u64 << 52) as f64 {
        // An integer already, an infinity (saturated by the cast) or NaN (0).
        return x as i64;
    }
    let t = x as i64;
    let f = x - t as f64;
    t + (f >= 0.5) as i64 - (f <= -0.5) as i64
}

/// `libm::roundf(x) as i32`: saturating, as the cast is.
const fn round_to_i32(x: f32) -> i32 {
    let r = round_half_away(x as f64);
    if r > i32::MAX as i64 {
        i32::MAX
    } else if r < i32::MIN as i64 {
        i32::MIN
    } else {
        r as i32
    }
}

const fn max_i32(a: i32, b: i32) -> i32 {
    if a > b {
        a
    } else {
        b
    }
}

const fn min_i32(a: i32, b: i32) -> i32 {
    if a < b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_multiplier_edges() {
        // Exact powers of two: significand 0.5.
        assert_eq!(
            Requant::new(1.0),
            Requant {
                multiplier: 1 << 30,
                shift: 1
            }
        );
        assert_eq!(
            Requant::new(0.5),
            Requant {
                multiplier: 1 << 30,
                shift: 0
            }
        );
        assert_eq!(
            Requant::new(0.25),
            Requant {
                multiplier: 1 << 30,
                shift: -1
            }
        );
        // A significand that rounds up to 1 carries into the exponent.
        let just_below_one = 1.0 - 1e-12;
        assert_eq!(
            Requant::new(just_below_one),
            Requant {
                multiplier: 1 << 30,
                shift: 1
            }
        );
        // The largest significand that stays below 1.
        let m = ((1u64 << 31) - 1) as f64 / (1u64 << 31) as f64;
        assert_eq!(
            Requant::new(m),
            Requant {
                multiplier: i32::MAX,
                shift: 0
            }
        );
        // Below 2^-32 the multiplier is flushed to zero, at 2^-32 it is kept.
        assert_eq!(Requant::new(libm::ldexp(1.0, -33)), Requant::default());
        assert_eq!(
            Requant::new(libm::ldexp(1.0, -32)),
            Requant {
                multiplier: 1 << 30,
                shift: -31
            }
        );
        // Large multipliers shift left.
        assert_eq!(
            Requant::new(3.0),
            Requant {
                multiplier: 3 << 29,
                shift: 2
            }
        );
    }

    #[test]
    fn const_preparation_matches_libm() {
        // The `const fn` frexp and rounding against libm's, on multipliers over the range
        // scales give, halves included.
        let mut m = 1.0e-12f64;
        while m < 1.0e6 {
            for x in [m, m * 1.000_000_1, m * 0.999_999_9] {
                let (q, e) = frexp(x);
                assert_eq!((q, e), libm::frexp(x), "{x}");
                let y = x * 3.0;
                assert_eq!(round_half_away(y), libm::round(y) as i64, "{y}");
            }
            m *= 1.37;
        }
        for v in [
            0.5f32,
            1.5,
            2.5,
            -0.5,
            -2.5,
            1e10,
            -1e10,
            f32::INFINITY,
            f32::NAN,
        ] {
            assert_eq!(round_to_i32(v), libm::roundf(v) as i32, "{v}");
        }
        assert_eq!(frexp(1e-310), libm::frexp(1e-310));
    }

    #[test]
    fn quantize_rounds_as_roundf() {
        // Every quarter and the values beside it over the range and past it, ties included.
        let q = Quant {
            scale: 1.0,
            zero_point: 3,
        };
        let want = |v: f32| (libm::roundf(v) as i32).saturating_add(3).clamp(-128, 127) as i8;
        for i in -4000..=4000 {
            let v = i as f32 / 4.0;
            for v in [v, v.next_up(), v.next_down()] {
                assert_eq!(q.quantize(v), want(v), "{v}");
            }
        }
        for v in [
            1e10f32,
            -1e10,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -0.0,
        ] {
            assert_eq!(q.quantize(v), want(v), "{v}");
        }
    }

    #[test]
    fn requant_applies_the_real_multiplier() {
        for &m in &[0.0001234, 0.003, 0.0173, 0.49, 0.75, 0.999, 1.5, 7.25] {
            let r = Requant::new(m);
            for x in [-100_000, -777, -1, 0, 1, 12_345, 1_000_000] {
                let want = x as f64 * m;
                let got = r.apply(x) as f64;
                assert!((got - want).abs() <= 1.0, "{x} · {m}: {got} against {want}");
            }
        }
    }

    #[test]
    fn mean_multiplier_divides_by_the_count() {
        // 1/3 of 0.5 · 2^1: the count's power (1) moves into the shift.
        let r = Requant::mean(1.0, 1.0, 3);
        assert_eq!(r.shift, 1 - 1);
        assert_eq!(r.multiplier, ((1i64 << 30 << 1) / 3) as i32);
        assert_eq!(r.apply(300), 100);
    }

    #[test]
    fn activation_ranges() {
        assert_eq!(
            Output::new(0.1, 5, Activation::None),
            Output {
                zero_point: 5,
                min: -128,
                max: 127
            }
        );
        assert_eq!(
            Output::new(0.1, 5, Activation::Relu),
            Output {
                zero_point: 5,
                min: 5,
                max: 127
            }
        );
        assert_eq!(Output::new(0.1, -128, Activation::Relu6).max, -68);
        // A range wider than int8 is clipped.
        assert_eq!(Output::new(0.01, 0, Activation::Relu6).max, 127);
    }
}
