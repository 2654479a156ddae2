use super::Quant;
use alloc::vec;

#[test]
fn quantize_rounds_as_roundf() {
    // `roundf`, then the zero point, saturated (an infinity stays at its end).
    let reference = |q: Quant, x: f32| {
        (libm::roundf(x / q.scale) as i64)
            .saturating_add(q.zero_point as i64)
            .clamp(-128, 127) as i8
    };
    let mut xs = vec![
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
        0.0,
        -0.0,
    ];
    for k in -600..=600 {
        // Halves, and the floats either side of them.
        let h = k as f32 + 0.5;
        xs.extend([
            h,
            h.next_up(),
            h.next_down(),
            k as f32,
            (k as f32).next_down(),
        ]);
    }
    for q in [
        Quant {
            scale: 1.0,
            zero_point: 0,
        },
        Quant {
            scale: 1.0,
            zero_point: -128,
        },
        Quant {
            scale: 1.0,
            zero_point: 127,
        },
        Quant {
            scale: 1.0 / 255.0,
            zero_point: -128,
        },
        Quant {
            scale: 0.37,
            zero_point: 5,
        },
    ] {
        for &x in &xs {
            assert_eq!(q.quantize(x), reference(q, x), "{x} at {q:?}");
            assert_eq!(
                q.quantize(x * q.scale),
                reference(q, x * q.scale),
                "{x}·s at {q:?}"
            );
        }
    }
}
