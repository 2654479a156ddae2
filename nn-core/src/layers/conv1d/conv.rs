//! `Conv1d`: PyTorch's `nn.Conv1d`, and Keras's causal padding.

use core::fmt;

use crate::kernels::conv::conv1d::Conv1dGeom;
use crate::kernels::conv::grouped::Grouped;
use crate::{Backward, Layer, Rng};

/// A 1-D convolution in `G` groups, from `CIN` channels of length `L` to `COUT` channels of
/// length [`OL`](Self::OL): a kernel of `K` taps `D` apart (dilation), moved by `S`, with `PL`
/// zeros before the sequence and `PR` after. With `PL = PR = P` it is PyTorch's
/// `nn.Conv1d(CIN, COUT, K, stride=S, padding=P, dilation=D, groups=G, bias=BIAS)`; with
/// `PL = (K − 1)·D` and `PR = 0` it is causal (Keras's `padding="causal"`, PyTorch's
/// `F.pad(x, ((K - 1) * D, 0))` before the layer): output `t` reads inputs up to `t` only,
/// and [`Conv1dCell`](crate::Conv1dCell) computes it one step at a time. `CING` is
/// `CIN / G`, the weight's second dimension. In `network!` it is written
/// `Conv1d<CIN, COUT, K, stride = S, padding = P, dilation = D, groups = G, bias = false>`
/// or with `padding = causal`, after a sequence (`#[input(C, L)]`).
///
/// Output length: `OL = (L + PL + PR − D·(K − 1) − 1) / S + 1`.
///
/// # Shapes
/// - input `[batch, CIN·L]`, each sample `[CIN, L]`, flat (PyTorch's `(N, C, L)`)
/// - output `[batch, COUT·OL]`, each sample `[COUT, OL]`, flat
/// - `weight`: `[COUT, CIN / G, K]`, PyTorch's layout; `bias`: `[COUT]` (zeros and no tensor
///   when `BIAS` is `false`)
///
/// ```
/// use nn::{Conv1d, Layer, Zeroable};
/// // One channel of 5, a kernel of 2 taps: each output the sum of two neighbours.
/// type C = Conv1d<1, 1, 2, 1, 0, 0, 1, 1, 5, 1>;
/// let mut conv = C::zeroed();
/// conv.weight = [[[1.0, 1.0]]];
/// let mut y = [0.0; 4];
/// conv.forward(&[1.0, 2.0, 3.0, 4.0, 5.0], &mut y);
/// assert_eq!(y, [3.0, 5.0, 7.0, 9.0]);
/// assert_eq!((C::OL, <C as Layer>::PARAMS), (4, 3));
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct Conv1d<
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
    const G: usize,
    const L: usize,
    const CING: usize,
    const BIAS: bool = true,
> {
    /// `[COUT, CIN / G, K]`.
    pub weight: [[[f32; K]; CING]; COUT],
    /// `[COUT]`; zeros, and no tensor of the layer's, when `BIAS` is `false`.
    pub bias: [f32; COUT],
}

/// Declares an impl over every parameter of [`Conv1d`].
macro_rules! conv1d {
    ($(#[$m:meta])* [$($unsafe:ident)?] impl $($tr:ident)? { $($body:tt)* }) => {
        $(#[$m])*
        $($unsafe)? impl<
                const CIN: usize,
                const COUT: usize,
                const K: usize,
                const S: usize,
                const PL: usize,
                const PR: usize,
                const D: usize,
                const G: usize,
                const L: usize,
                const CING: usize,
                const BIAS: bool,
            > $($tr for)? Conv1d<CIN, COUT, K, S, PL, PR, D, G, L, CING, BIAS>
        {
            $($body)*
        }
    };
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
conv1d!([unsafe] impl Zeroable {});

clone_in_place!(Conv1d<const CIN: usize, const COUT: usize, const K: usize, const S: usize, const PL: usize, const PR: usize, const D: usize, const G: usize, const L: usize, const CING: usize, const BIAS: bool> { weight, bias });

use bytemuck::Zeroable;

conv1d!([] impl {
    /// Rejects impossible sizes at compile time; every size constant goes through it.
    const CHECK: () = {
        assert!(CIN > 0 && COUT > 0, "`Conv1d` needs at least 1 channel in and out");
        assert!(G > 0, "`Conv1d` needs at least 1 group");
        assert!(
            CIN.is_multiple_of(G) && COUT.is_multiple_of(G),
            "`Conv1d`'s channels in and out must both be multiples of its groups `G`"
        );
        assert!(CING * G == CIN, "`CING` must be `CIN / G`");
        assert!(K > 0 && S > 0 && D > 0, "`Conv1d` has a size of 0");
        assert!(L > 0, "`Conv1d` needs a sequence of at least 1");
        assert!(
            D * (K - 1) < L + PL + PR,
            "`Conv1d`'s kernel is longer than the padded sequence"
        );
    };

    /// Output length, `(L + PL + PR − D·(K − 1) − 1) / S + 1`.
    pub const OL: usize = {
        let () = Self::CHECK;
        (L + PL + PR - D * (K - 1) - 1) / S + 1
    };

    /// The geometry of the general convolution's backward pass: a sequence is an image of one
    /// row.
    const GEOM: Grouped = Grouped {
        cin: CIN,
        cout: COUT,
        groups: G,
        h: 1,
        w: L,
        kh: 1,
        kw: K,
        sh: 1,
        sw: S,
        pt: 0,
        pl: PL,
        dh: 1,
        dw: D,
        oh: 1,
        ow: Self::OL,
    };

    /// The forward pass's geometry.
    const GEOM_1D: Conv1dGeom = Conv1dGeom {
        cin: CIN,
        cout: COUT,
        groups: G,
        k: K,
        s: S,
        pl: PL,
        d: D,
        l: L,
        ol: Self::OL,
    };

    /// The weight, flat in PyTorch's order.
    pub(crate) fn weight_flat(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened()
    }
});

conv1d!(
    #[diagnostic::do_not_recommend]
    [] impl Layer {
        const IN: usize = {
            let () = Self::CHECK;
            CIN * L
        };
        const OUT: usize = COUT * Self::OL;
        // A sequence is an image of one row where networks meet.
        const IN_IMAGE: Option<[usize; 3]> = Some([CIN, 1, L]);
        const OUT_IMAGE: Option<[usize; 3]> = Some([COUT, 1, Self::OL]);
        const PARAMS: usize = COUT * CING * K + if BIAS { COUT } else { 0 };
        const MACS: usize = Self::PARAMS * Self::OL;

        fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // As `network!` spells it, each keyword only when not its default.
            write!(f, "Conv1d<{CIN}, {COUT}, {K}")?;
            if S != 1 {
                write!(f, ", stride = {S}")?;
            }
            if PL != PR && PL == D * (K - 1) && PR == 0 {
                f.write_str(", padding = causal")?;
            } else if PL != 0 || PR != 0 {
                write!(f, ", padding = {PL}")?;
            }
            if D != 1 {
                write!(f, ", dilation = {D}")?;
            }
            if G != 1 {
                write!(f, ", groups = {G}")?;
            }
            crate::layers::write_bias(f, BIAS)
        }

        fn init(&mut self, rng: &mut Rng) {
            // PyTorch: bound 1/sqrt(fan_in), fan_in = (CIN / G)·K, for weight and bias.
            let bound = 1.0 / libm::sqrtf((CING * K) as f32);
            for w in self.weight.as_flattened_mut().as_flattened_mut() {
                *w = rng.uniform(-bound, bound);
            }
            for b in &mut self.bias {
                *b = if BIAS {
                    rng.uniform(-bound, bound)
                } else {
                    0.0
                };
            }
        }

        fn forward(&self, x: &[f32], y: &mut [f32]) {
            Self::GEOM_1D.forward(
                self.weight_flat(),
                &self.bias,
                &x[..Self::IN],
                &mut y[..Self::OUT],
            );
        }

        fn backward(&self, io: Backward<'_>, mut dx: Option<&mut [f32]>, grad: &mut [f32]) {
            let (gw, gb) = grad[..Self::PARAMS].split_at_mut(COUT * CING * K);
            let samples =
                io.x.chunks_exact(Self::IN)
                    .zip(io.dy.chunks_exact(Self::OUT));
            for (n, (x, dy)) in samples.take(io.batch).enumerate() {
                let dx = dx
                    .as_deref_mut()
                    .map(|d| &mut d[n * Self::IN..][..Self::IN]);
                Self::GEOM.backward(self.weight_flat(), x, dy, dx, gw, gb);
            }
        }

        fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
            f("weight", &[COUT, CING, K], self.weight_flat());
            if BIAS {
                f("bias", &[COUT], &self.bias);
            }
        }

        fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
            f("weight", self.weight.as_flattened_mut().as_flattened_mut());
            if BIAS {
                f("bias", &mut self.bias);
            }
        }
    }
);
