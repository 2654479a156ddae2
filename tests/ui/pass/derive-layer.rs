// A layer of the user's with `#[derive(nn::Parameters)]`: no visitors and no `unsafe`
// written by hand. Const generics, nested arrays, both kinds of buffer, a plain field.
use nn::{Backward, Buffer, Layer, Parameters, Rng};

#[derive(Clone, Copy, Parameters)]
struct Affine<const I: usize, const O: usize> {
    #[param]
    weight: [[f32; I]; O],
    #[param]
    bias: [f32; O],
    #[buffer]
    running: [f32; O],
    #[buffer]
    calls: u64,
    gain: f32,
}

impl<const I: usize, const O: usize> Layer for Affine<I, O> {
    const IN: usize = I;
    const OUT: usize = O;
    nn::parameters!();
    fn describe(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Affine<{I}, {O}>")
    }
    fn init(&mut self, _: &mut Rng) {
        self.weight = [[1.0; I]; O];
        self.gain = 1.0;
    }
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (o, y) in y.iter_mut().enumerate() {
            *y = self.gain * (self.bias[o] + (0..I).map(|i| self.weight[o][i] * x[i]).sum::<f32>());
        }
    }
    fn backward(&self, _: Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}

// A raw identifier is named without its `r#`; bounds of the struct carry over.
#[derive(Parameters)]
struct Tagged<const N: usize>
where
    [f32; N]: Copy,
{
    #[param]
    r#type: [f32; N],
}

nn::network! { struct Net { fc: Linear<4, 3>, affine: Affine<3, 2> } }

fn main() {
    assert_eq!(<Affine<3, 2> as Layer>::PARAMS, 3 * 2 + 2);
    let net = Net::new(0);
    let mut names = Vec::new();
    net.affine.visit_params(&mut |name, shape, values| {
        names.push((name, shape.to_vec(), values.len()));
    });
    net.affine.visit_buffers(&mut |name, shape, value| {
        let len = match value {
            Buffer::F32(v) => v.len(),
            Buffer::Count(_) => 1,
        };
        names.push((name, shape.to_vec(), len));
    });
    let expected = [
        ("weight", vec![2, 3], 6),
        ("bias", vec![2], 2),
        ("running", vec![2], 2),
        ("calls", vec![], 1),
    ];
    assert_eq!(names, expected);

    let tagged = Tagged::<2> { r#type: [0.5; 2] };
    tagged.param_fields(&mut |name, shape, _| assert_eq!((name, shape), ("type", &[2][..])));
}
