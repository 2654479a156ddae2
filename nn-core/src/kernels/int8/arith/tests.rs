//! The fixed-point arithmetic against exact wide-integer products, and against gemmlowp's
//! and TFLite's rounding.

use super::*;

/// `⌊a · b / 2^31 + 1/2⌋` in i128 (nearest, halves up), saturated.
fn high_mul_exact(a: i32, b: i32) -> i32 {
    let p = a as i128 * b as i128 * 2;
    let r = (p + (1i128 << 31)) >> 32;
    r.clamp(i32::MIN as i128, i32::MAX as i128) as i32
}

#[test]
fn high_mul_matches_exact_rounding_at_the_edges() {
    let edges = [
        i32::MIN,
        i32::MIN + 1,
        -(1 << 30) - 1,
        -(1 << 30),
        -3,
        -2,
        -1,
        0,
        1,
        2,
        3,
        1 << 30,
        (1 << 30) + 1,
        i32::MAX - 1,
        i32::MAX,
    ];
    for &a in &edges {
        for &b in &edges {
            assert_eq!(
                saturating_rounding_doubling_high_mul(a, b),
                high_mul_exact(a, b),
                "{a} · {b}"
            );
        }
    }
    // Exact halves: 2ab = (2k + 1) · 2^31.
    assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1); // 0.5 → 1
    assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0); // -0.5 → 0
    assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1); // -1.5 → -1
    assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2); // 1.5 → 2
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul` as written there: the nudge chosen by
/// the product's sign, then a division that truncates toward zero.
fn high_mul_gemmlowp(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

#[test]
fn high_mul_is_gemmlowps_on_a_sweep() {
    // Products of every sign and size, halves and their neighbours included.
    let mut s = 0x9E37_79B9u32;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s as i32
    };
    for k in 0..200_000 {
        let (a, b) = (next(), next());
        let a = if k % 3 == 0 { a >> (k % 31) } else { a };
        assert_eq!(
            saturating_rounding_doubling_high_mul(a, b),
            high_mul_gemmlowp(a, b),
            "{a} · {b}"
        );
    }
    for a in -70..=70 {
        for b in [
            1 << 30,
            -(1 << 30),
            (1 << 30) + 1,
            (1 << 29) + 3,
            i32::MIN,
            i32::MAX,
        ] {
            assert_eq!(
                saturating_rounding_doubling_high_mul(a, b),
                high_mul_gemmlowp(a, b),
                "{a} · {b}"
            );
        }
    }
}

#[test]
fn high_mul_from_halves_is_the_64_bit_product() {
    let mut s = 0xDEAD_BEEFu32;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s as i32
    };
    let edges = [
        i32::MIN + 1,
        -(1 << 30) - 1,
        -65537,
        -65536,
        -1,
        0,
        1,
        65535,
        65536,
        i32::MAX,
    ];
    let pairs = edges
        .iter()
        .flat_map(|&a| edges.iter().map(move |&b| (a, b)))
        .chain((0..200_000).map(|k| (next() >> (k % 29), next())));
    for (a, b) in pairs {
        let want = ((a as i64 * b as i64 + (1 << 30)) >> 31) as i32;
        assert_eq!(high_mul_halves(a, b), want, "{a} · {b}");
    }
    assert_eq!(
        high_mul_halves(i32::MIN, i32::MAX),
        high_mul_gemmlowp(i32::MIN, i32::MAX)
    );
}

#[test]
fn prepared_multiplier_is_the_same_function() {
    let mut s = 0x1234_5678u32;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s as i32
    };
    for shift in -31..=8 {
        for multiplier in [
            0,
            1 << 30,
            (1 << 30) + 12345,
            i32::MAX,
            i32::MIN,
            1_649_267_442,
        ] {
            let p = Prepared::new(multiplier, shift);
            let edges = [
                i32::MIN,
                i32::MIN + 1,
                -1,
                0,
                1,
                i32::MAX,
                1 << 20,
                -(1 << 20),
            ];
            for x in edges
                .into_iter()
                .chain((0..200).map(|k| next() >> (k % 31)))
            {
                assert_eq!(
                    p.apply(x),
                    multiply_by_quantized_multiplier(x, multiplier, shift),
                    "{x} · {multiplier} · 2^{shift}"
                );
            }
        }
    }
}

#[test]
fn fused_rounding_is_tflites_two() {
    let mut s = 0x2545_F491u32;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s as i32
    };
    // Where it applies and where it does not.
    assert!(Fused::new(1 << 30, -5).is_none());
    assert!(Fused::new((1 << 30) + 1, -1).is_none());
    assert!(Fused::new((1 << 30) + 1, -2).is_some());
    for shift in -31..=-2 {
        for k in 0..40 {
            let multiplier = match k {
                0 => (1 << 30) + 1,
                1 => i32::MAX,
                _ => (1 << 30) | (next() as u32 >> 2) as i32,
            };
            let f = Fused::new(multiplier, shift).expect("a multiplier above 2^30");
            // Every sign and size, and the values around each rounding's halves.
            let half = 1i32 << (-shift - 1);
            let edges = [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX, half, -half];
            for x in edges
                .into_iter()
                .chain((0..300).map(|j| next() >> (j % 32)))
                .chain((-3..=3).flat_map(|d| [half.wrapping_add(d), d - half]))
            {
                assert_eq!(
                    f.apply(x),
                    multiply_by_quantized_multiplier(x, multiplier, shift),
                    "{x} · {multiplier} · 2^{shift}"
                );
            }
        }
    }
    // Exact halves of both roundings: y = 2^30 · x / 2^31 with m = 2^30 + 1 near them.
    let f = Fused::new((1 << 30) + 1, -2).unwrap();
    for x in -4000..4000 {
        assert_eq!(
            f.apply(x),
            multiply_by_quantized_multiplier(x, (1 << 30) + 1, -2),
            "{x}"
        );
    }
}

#[test]
fn high_mul_saturates_only_at_min_times_min() {
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
        i32::MAX
    );
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
        -i32::MAX
    );
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
        i32::MAX - 1
    );
}

#[test]
fn divide_by_pot_rounds_halves_away_from_zero() {
    for exponent in 0..=31 {
        for x in [
            i32::MIN,
            i32::MIN + 1,
            -1_000_001,
            -7,
            -4,
            -3,
            -2,
            -1,
            0,
            1,
            2,
            3,
            4,
            7,
        ]
        .into_iter()
        .chain([1_000_001, i32::MAX - 1, i32::MAX])
        {
            let d = 1i128 << exponent;
            let xi = x as i128;
            let q = (xi.abs() * 2 + d) / (2 * d);
            let want = if xi < 0 { -q } else { q } as i32;
            assert_eq!(
                rounding_divide_by_pot(x, exponent),
                want,
                "{x} / 2^{exponent}"
            );
        }
    }
}

#[test]
fn multiply_rounds_twice_as_tflite_does() {
    // 2^30 is 0.5: x · 0.5 rounded (halves up), then / 2 rounded (halves away from
    // zero). 5 · 0.25 = 1.25 rounds to 1 at once, but 2.5 → 3, 1.5 → 2 in two steps.
    assert_eq!(multiply_by_quantized_multiplier(5, 1 << 30, -1), 2);
    assert_eq!(multiply_by_quantized_multiplier(4, 1 << 30, -1), 1);
    // -7 · 0.5 = -3.5 → -3, then -1.5 → -2.
    assert_eq!(multiply_by_quantized_multiplier(-7, 1 << 30, -1), -2);
    assert_eq!(multiply_by_quantized_multiplier(-5, 1 << 30, -1), -1);
    // A left shift: 0.5 · 2^3 = 4.
    assert_eq!(multiply_by_quantized_multiplier(25, 1 << 30, 3), 100);
    // The largest multiplier, the largest right shift.
    assert_eq!(multiply_by_quantized_multiplier(i32::MAX, i32::MAX, -31), 1);
    assert_eq!(
        multiply_by_quantized_multiplier(i32::MIN, i32::MAX, -31),
        -1
    );
    assert_eq!(multiply_by_quantized_multiplier(0, i32::MAX, 5), 0);
}

#[test]
fn rescales_chosen_when_baked_are_tflites() {
    use crate::int8::Requant;
    // Every kind of channel: fused (a multiplier above 2^30, a right shift of 2 or more),
    // a multiplier of exactly 2^30, right shifts of 1 and 0, left shifts.
    let channels = [
        ((1 << 30) + 12_345, -7),
        (1 << 30, -5),
        ((1 << 30) + 1, -1),
        (i32::MAX, 0),
        ((3 << 29) + 7, 2),
    ];
    let requant = channels.map(|(multiplier, shift)| Requant { multiplier, shift });
    let Rescales::Mixed(mixed) = Rescales::new(&requant) else {
        panic!("a layer whose channels do not all fuse held as fused");
    };
    let fused = [requant[0]; 3];
    let Rescales::Fused(all) = Rescales::new(&fused) else {
        panic!("a layer whose channels all fuse not held as fused");
    };
    let xs = [
        i32::MIN,
        i32::MIN + 1,
        -65_537,
        -129,
        -64,
        -1,
        0,
        1,
        63,
        64,
        65,
        1 << 20,
        i32::MAX,
    ];
    for x in xs.into_iter().chain(-300..300) {
        for (c, r) in mixed.iter().enumerate() {
            let (m, shift) = channels[c];
            assert_eq!(
                r.apply(x),
                multiply_by_quantized_multiplier(x, m, shift),
                "{x} · {m} · 2^{shift}"
            );
        }
        let (m, shift) = channels[0];
        assert_eq!(
            all[1].apply(x),
            multiply_by_quantized_multiplier(x, m, shift),
            "{x}"
        );
    }
}
