//! TFLite's fixed-point requantisation, integer only: gemmlowp's
//! `SaturatingRoundingDoublingHighMul` and `RoundingDivideByPOT`, and TFLite's
//! `MultiplyByQuantizedMultiplier` with its double rounding (TFLite Micro's default build,
//! which CMSIS-NN matches bit for bit).
//!
//! A real multiplier `m > 0` is held as `q · 2^(shift − 31)` with `q` in `[2^30, 2^31)`
//! (see [`Requant`](crate::int8::Requant), prepared once from the scales).

/// `a · b / 2^31` rounded to nearest, saturated: the high 32 bits of the doubled 64-bit
/// product `2 · a · b`. gemmlowp's nudge of `2^30` (or `1 − 2^30` below zero) before a
/// division that truncates toward zero rounds every half upward, toward +∞. The one product
/// that overflows, `i32::MIN · i32::MIN`, gives `i32::MAX`.
///
/// ```
/// use nn::int8::saturating_rounding_doubling_high_mul as mul;
/// assert_eq!(mul(1 << 30, 1 << 30), 1 << 29); // 0.5 · 0.5 = 0.25
/// assert_eq!(mul(i32::MIN, i32::MIN), i32::MAX);
/// assert_eq!(mul(3, 1 << 30), 2); // 1.5 rounds up
/// assert_eq!(mul(-3, 1 << 30), -1); // and so does -1.5
/// ```
#[inline(always)]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // gemmlowp's `(ab + nudge) / 2^31`, the nudge `2^30` for `ab >= 0` and `1 − 2^30` below,
    // the division truncating toward zero, is `(ab + 2^30) >> 31` in both cases: below zero,
    // truncating adds `2^31 − 1` before the shift, and `1 − 2^30 + 2^31 − 1 = 2^30`.
    #[cfg(nn_arm_thumb)]
    return high_mul_halves(a, b);
    #[cfg(not(nn_arm_thumb))]
    {
        let ab = a as i64 * b as i64;
        ((ab + (1 << 30)) >> 31) as i32
    }
}

/// `(a · b + 2^30) >> 31` from 16-bit halves with 32-bit multiplies only, for a Cortex-M0,
/// which has no 64-bit product: `a · b = ah·bh·2^32 + (ah·bl + al·bh)·2^16 + al·bl`, each
/// partial product exact in 32 bits (`al`, `bl` unsigned halves, `ah`, `bh` signed).
#[cfg(any(test, nn_arm_thumb))]
#[inline(always)]
fn high_mul_halves(a: i32, b: i32) -> i32 {
    let (al, ah) = (a & 0xFFFF, a >> 16);
    let (bl, bh) = (b & 0xFFFF, b >> 16);
    let lo = (al as u32).wrapping_mul(bl as u32);
    let (m1, m2) = (ah * bl, al * bh);
    let hi = ah * bh;
    // The low word of the sum with its carries, then the high word.
    let low = lo as u64 + ((m1 as u32) << 16) as u64 + ((m2 as u32) << 16) as u64 + (1 << 30);
    let high = hi
        .wrapping_add(m1 >> 16)
        .wrapping_add(m2 >> 16)
        .wrapping_add((low >> 32) as i32);
    ((high as u32) << 1 | (low as u32) >> 31) as i32
}

/// `x / 2^exponent`, rounded to nearest with halves away from zero; `exponent` in `0..=31`.
///
/// ```
/// use nn::int8::rounding_divide_by_pot as div;
/// assert_eq!(div(5, 1), 3); // 2.5 → 3
/// assert_eq!(div(-5, 1), -3); // -2.5 → -3
/// assert_eq!(div(-6, 2), -2); // -1.5 → -2
/// ```
#[inline(always)]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    debug_assert!((0..=31).contains(&exponent), "exponent {exponent}");
    // `2^exponent − 1` in 32 bits (for 31, `2^31` wraps to `i32::MIN`, less one is `i32::MAX`).
    let mask = ((1u32 << exponent) as i32).wrapping_sub(1);
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `x · multiplier · 2^(shift − 31)` as TFLite computes it: a left shift for `shift > 0`,
/// then [`saturating_rounding_doubling_high_mul`], then [`rounding_divide_by_pot`] by
/// `−shift` for `shift < 0` (two roundings, as TFLite Micro's reference kernels).
///
/// ```
/// use nn::int8::multiply_by_quantized_multiplier as mbqm;
/// // 0.75 is (3 · 2^29) · 2^(0 − 31); 0.75 · 2^-3 takes a shift of -3.
/// assert_eq!(mbqm(1000, 3 << 29, 0), 750);
/// assert_eq!(mbqm(1000, 3 << 29, -3), 94); // 93.75
/// ```
#[inline(always)]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = if shift > 0 { shift } else { 0 };
    let right = if shift > 0 { 0 } else { -shift };
    // TFLite's `x * (1 << left_shift)` wraps in two's complement on every target it runs on.
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), multiplier),
        right,
    )
}

/// A multiplier and shift prepared for many [`multiply_by_quantized_multiplier`] calls (a
/// convolution's channel, applied at every position): the left shift's factor, the right
/// shift and its rounding mask computed once. The same bits.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Prepared {
    multiplier: i32,
    /// `2^left`, which multiplies (wrapping) as TFLite's left shift.
    left: i32,
    right: i32,
    /// `2^right − 1`, and half of it (rounded down).
    mask: i32,
    half: i32,
}

impl Prepared {
    /// `multiply_by_quantized_multiplier(·, multiplier, shift)`, prepared.
    pub(crate) fn new(multiplier: i32, shift: i32) -> Prepared {
        Prepared::baked(multiplier, shift)
    }

    /// [`Prepared::new`] as a `const fn`, for layers baked at compile time.
    pub(crate) const fn baked(multiplier: i32, shift: i32) -> Prepared {
        let left = if shift > 0 { shift } else { 0 };
        let right = if shift > 0 { 0 } else { -shift };
        let mask = ((1u32 << right) as i32).wrapping_sub(1);
        Prepared {
            multiplier,
            left: 1 << left,
            right,
            mask,
            half: mask >> 1,
        }
    }

    /// `multiply_by_quantized_multiplier(x, multiplier, shift)`.
    #[inline(always)]
    pub(crate) fn apply(self, x: i32) -> i32 {
        let y = saturating_rounding_doubling_high_mul(x.wrapping_mul(self.left), self.multiplier);
        // `rounding_divide_by_pot(y, right)` with its mask prepared.
        let remainder = y & self.mask;
        let threshold = self.half + i32::from(y < 0);
        (y >> self.right) + i32::from(remainder > threshold)
    }
}

/// [`multiply_by_quantized_multiplier`] for a multiplier above `2^30` and a right shift of
/// at least 2 (a real multiplier below 1/2, as a layer's usually is), in one 64-bit
/// multiply-add and one shift: the same bits.
///
/// TFLite rounds twice: `y = ⌊(x·m + 2^30) / 2^31⌋`, then `⌊(y + h + s) / 2^r⌋` with
/// `h = 2^(r−1)` and `s = −1` for `y < 0` (halves away from zero). Floors of integer sums
/// nest, so this is `⌊(x·m + 2^30 + (h + s)·2^31) / 2^(31 + r)⌋`, the high word of a 64-bit
/// sum shifted by `r − 1`; and with `m > 2^30`, `y < 0` exactly when `x < 0`. The constant's
/// low word is `2^30`, or `2^30 + 2^31` for `x < 0`, and its high word `2^(r−2)`, one less
/// for `x < 0`: a Cortex-M4's `SMLAL` and four more instructions.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fused {
    multiplier: i32,
    /// `2^(r − 2)`: the high word of `h · 2^31`.
    high: i32,
    /// `r − 1`.
    shift: u32,
}

impl Fused {
    /// `multiply_by_quantized_multiplier(·, multiplier, shift)` in one rounding, where it
    /// applies: `multiplier > 2^30` and `shift <= −2`.
    /// Never on Armv6-M and the like (`nn_arm_thumb`), where a 64-bit product is a library
    /// call and [`Prepared`]'s 16-bit halves are quicker.
    pub(crate) fn new(multiplier: i32, shift: i32) -> Option<Fused> {
        if cfg!(nn_arm_thumb) {
            return None;
        }
        (multiplier > 1 << 30 && (-31..=-2).contains(&shift)).then(|| Fused {
            multiplier,
            high: 1 << (-shift - 2),
            shift: (-shift - 1) as u32,
        })
    }

    /// [`Fused::new`] as a `const fn`, for layers baked at compile time.
    pub(crate) const fn baked(multiplier: i32, shift: i32) -> Option<Fused> {
        if !cfg!(nn_arm_thumb) && multiplier > 1 << 30 && -31 <= shift && shift <= -2 {
            Some(Fused {
                multiplier,
                high: 1 << (-shift - 2),
                shift: (-shift - 1) as u32,
            })
        } else {
            None
        }
    }

    /// The multiplier, the high word `2^(r − 2)` and the shift `r − 1`, for assembly.
    #[cfg_attr(not(nn_arm_dsp), allow(dead_code))]
    pub(crate) fn parts(self) -> [i32; 3] {
        [self.multiplier, self.high, self.shift as i32]
    }

    /// `multiply_by_quantized_multiplier(x, multiplier, shift)`.
    #[inline(always)]
    pub(crate) fn apply(self, x: i32) -> i32 {
        let low = 1u32 << 30 | (x as u32 & 1 << 31);
        let high = self.high.wrapping_add(x >> 31);
        #[cfg(nn_arm_dsp)]
        return super::dot_arm::smlal_high(low, high, x, self.multiplier) >> self.shift;
        #[cfg(not(nn_arm_dsp))]
        let sum = ((high as i64) << 32 | low as i64) + x as i64 * self.multiplier as i64;
        #[cfg(not(nn_arm_dsp))]
        return ((sum >> 32) as i32) >> self.shift;
    }
}

/// A channel's requantisation prepared when a layer is baked (a `const fn`): [`Fused`] where
/// it applies, else [`Prepared`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rescale {
    Fused(Fused),
    Prepared(Prepared),
}

impl Rescale {
    /// `multiply_by_quantized_multiplier(·, multiplier, shift)`, prepared.
    pub(crate) const fn new(multiplier: i32, shift: i32) -> Rescale {
        match Fused::baked(multiplier, shift) {
            Some(f) => Rescale::Fused(f),
            None => Rescale::Prepared(Prepared::baked(multiplier, shift)),
        }
    }

    /// `multiply_by_quantized_multiplier(x, multiplier, shift)`.
    #[inline(always)]
    pub(crate) fn apply(self, x: i32) -> i32 {
        match self {
            Rescale::Fused(f) => f.apply(x),
            Rescale::Prepared(p) => p.apply(x),
        }
    }
}

/// A channel's requantisation, prepared: [`Fused`] where it applies, else [`Prepared`].
pub(crate) trait Scale: Copy {
    /// `multiply_by_quantized_multiplier(x, multiplier, shift)`.
    fn apply(self, x: i32) -> i32;

    /// The [`Fused`] parts and the output's zero point and range, for assembly, if fused.
    #[cfg_attr(not(nn_arm_dsp), allow(dead_code))]
    fn fused(self, out: crate::int8::Output) -> Option<[i32; 6]>;
}

impl Scale for Fused {
    #[inline(always)]
    fn apply(self, x: i32) -> i32 {
        Fused::apply(self, x)
    }

    fn fused(self, out: crate::int8::Output) -> Option<[i32; 6]> {
        let [m, high, shift] = self.parts();
        Some([m, high, shift, out.zero_point, out.min, out.max])
    }
}

impl Scale for Rescale {
    #[inline(always)]
    fn apply(self, x: i32) -> i32 {
        Rescale::apply(self, x)
    }

    fn fused(self, out: crate::int8::Output) -> Option<[i32; 6]> {
        match self {
            Rescale::Fused(f) => f.fused(out),
            Rescale::Prepared(_) => None,
        }
    }
}

/// Every channel's [`Rescale`] of a layer, held as [`Fused`] alone where every channel
/// fuses (the usual case), so that the kernel need not ask at each channel.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(nn_arm_dsp), allow(dead_code))]
pub(crate) enum Rescales<const C: usize> {
    Fused([Fused; C]),
    Mixed([Rescale; C]),
}

#[cfg_attr(not(nn_arm_dsp), allow(dead_code))]
impl<const C: usize> Rescales<C> {
    /// Each channel's `(multiplier, shift)`, prepared.
    pub(crate) const fn new(requant: &[crate::int8::Requant; C]) -> Rescales<C> {
        let mut fused = [Fused {
            multiplier: 0,
            high: 0,
            shift: 0,
        }; C];
        let mut mixed = [Rescale::Prepared(Prepared::baked(0, 0)); C];
        let mut all = true;
        let mut c = 0;
        while c < C {
            let (m, shift) = (requant[c].multiplier, requant[c].shift);
            mixed[c] = Rescale::new(m, shift);
            match Fused::baked(m, shift) {
                Some(f) => fused[c] = f,
                None => all = false,
            }
            c += 1;
        }
        if all {
            Rescales::Fused(fused)
        } else {
            Rescales::Mixed(mixed)
        }
    }
}

impl Scale for Prepared {
    #[inline(always)]
    fn apply(self, x: i32) -> i32 {
        Prepared::apply(self, x)
    }

    fn fused(self, _: crate::int8::Output) -> Option<[i32; 6]> {
        None
    }
}

#[cfg(test)]
mod tests;
