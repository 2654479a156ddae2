//! `Conv2dGeneral`: PyTorch's `nn.Conv2d` where [`Conv2d`](super::Conv2d) does not reach:
//! groups (depthwise), a rectangular kernel or stride, padding that differs per side
//! (TensorFlow's `same`), dilation. `network!` picks it for such a declaration and keeps
//! `Conv2d` for the common case, whose fast paths it does not share.

use core::fmt;

use crate::kernels::conv::grouped::Grouped;
use crate::{Backward, Layer, Rng};

/// A 2-D convolution in `G` groups, from `CIN` channels of `H × W` to `COUT` channels of
/// [`OH`](Self::OH) × [`OW`](Self::OW): a `KH × KW` kernel, stride `(SH, SW)`, dilation
/// `(DH, DW)`, and `PT`, `PB`, `PL`, `PR` rows and columns of zeros above, below, left and
/// right. With `PT = PB` and `PL = PR` it is PyTorch's
/// `nn.Conv2d(CIN, COUT, (KH, KW), stride=(SH, SW), padding=(PT, PL), dilation=(DH, DW),
/// groups=G, bias=BIAS)`; `CING` is `CIN / G`, the weight's second dimension. In `network!`
/// it is written `Conv2d<CIN, COUT, (KH, KW), stride = .., padding = .., dilation = ..,
/// groups = G>` (`padding = same` for TensorFlow's padding, the odd row or column at the
/// end; a pair or one size for both sides, `dilation = (2, 1)`).
///
/// Output size: `OH = (H + PT + PB − DH·(KH − 1) − 1) / SH + 1`, likewise `OW`.
///
/// # Shapes
/// - input `[batch, CIN·H·W]`, each sample `[CIN, H, W]`, flat
/// - output `[batch, COUT·OH·OW]`, each sample `[COUT, OH, OW]`, flat
/// - `weight`: `[COUT, CIN / G, KH, KW]`, PyTorch's layout; `bias`: `[COUT]` (zeros and no
///   tensor when `BIAS` is `false`)
///
/// Every pass runs direct loops over the taps that read inside the input, on the stack:
/// a depthwise layer (`G = CIN`) does its `COUT·OH·OW·KH·KW` multiply-adds and no more.
///
/// ```
/// use nn::{Conv2dGeneral, Layer, Zeroable};
/// // Depthwise 3×3 on two 4×4 channels, padding 1: each channel by its own kernel.
/// type Dw = Conv2dGeneral<2, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 1, false>;
/// let mut dw = Dw::zeroed();
/// dw.weight[0][0][1][1] = 1.0; // channel 0: identity
/// dw.weight[1][0][1][1] = 2.0; // channel 1: doubled
/// let x: Vec<f32> = (0..32).map(|v| v as f32).collect();
/// let mut y = [0.0; 32];
/// dw.forward(&x, &mut y);
/// assert_eq!(y[5], 5.0);
/// assert_eq!(y[16 + 5], 42.0);
/// assert_eq!((Dw::OH, Dw::OW, <Dw as Layer>::PARAMS), (4, 4, 18));
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct Conv2dGeneral<
    const CIN: usize,
    const COUT: usize,
    const G: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
    const DH: usize,
    const DW: usize,
    const H: usize,
    const W: usize,
    const CING: usize,
    const BIAS: bool = true,
> {
    /// `[COUT, CIN / G, KH, KW]`.
    pub weight: [[[[f32; KW]; KH]; CING]; COUT],
    /// `[COUT]`; zeros, and no tensor of the layer's, when `BIAS` is `false`.
    pub bias: [f32; COUT],
}

/// Declares an impl over every parameter of [`Conv2dGeneral`].
macro_rules! general {
    ($(#[$m:meta])* [$($unsafe:ident)?] impl $($tr:ident)? { $($body:tt)* }) => {
        $(#[$m])*
        $($unsafe)? impl<
                const CIN: usize,
                const COUT: usize,
                const G: usize,
                const KH: usize,
                const KW: usize,
                const SH: usize,
                const SW: usize,
                const PT: usize,
                const PB: usize,
                const PL: usize,
                const PR: usize,
                const DH: usize,
                const DW: usize,
                const H: usize,
                const W: usize,
                const CING: usize,
                const BIAS: bool,
            > $($tr for)? Conv2dGeneral<CIN, COUT, G, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, H, W, CING, BIAS>
        {
            $($body)*
        }
    };
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
general!([unsafe] impl Zeroable {});

clone_in_place!(Conv2dGeneral<const CIN: usize, const COUT: usize, const G: usize, const KH: usize, const KW: usize, const SH: usize, const SW: usize, const PT: usize, const PB: usize, const PL: usize, const PR: usize, const DH: usize, const DW: usize, const H: usize, const W: usize, const CING: usize, const BIAS: bool> { weight, bias });

use bytemuck::Zeroable;

general!([] impl {
    /// Rejects impossible sizes at compile time; every size constant goes through it.
    const CHECK: () = {
        assert!(CIN > 0 && COUT > 0, "`Conv2d` needs at least 1 channel in and out");
        assert!(G > 0, "`Conv2d` needs at least 1 group");
        assert!(
            CIN.is_multiple_of(G) && COUT.is_multiple_of(G),
            "`Conv2d`'s channels in and out must both be multiples of its groups `G`"
        );
        assert!(CING * G == CIN, "`CING` must be `CIN / G`");
        assert!(KH > 0 && KW > 0 && SH > 0 && SW > 0 && DH > 0 && DW > 0, "`Conv2d` has a size of 0");
        assert!(H > 0 && W > 0, "`Conv2d` needs an input of at least 1×1");
        assert!(
            DH * (KH - 1) < H + PT + PB && DW * (KW - 1) < W + PL + PR,
            "`Conv2d`'s kernel is larger than the padded input"
        );
    };

    /// Output height, `(H + PT + PB − DH·(KH − 1) − 1) / SH + 1`.
    pub const OH: usize = {
        let () = Self::CHECK;
        (H + PT + PB - DH * (KH - 1) - 1) / SH + 1
    };
    /// Output width, `(W + PL + PR − DW·(KW − 1) − 1) / SW + 1`.
    pub const OW: usize = {
        let () = Self::CHECK;
        (W + PL + PR - DW * (KW - 1) - 1) / SW + 1
    };

    const GEOM: Grouped = Grouped {
        cin: CIN,
        cout: COUT,
        groups: G,
        h: H,
        w: W,
        kh: KH,
        kw: KW,
        sh: SH,
        sw: SW,
        pt: PT,
        pl: PL,
        dh: DH,
        dw: DW,
        oh: Self::OH,
        ow: Self::OW,
    };

    /// The weight, flat in PyTorch's order.
    fn weight_flat(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened().as_flattened()
    }
});

general!(
    #[diagnostic::do_not_recommend]
    [] impl Layer {
        const IN: usize = {
            let () = Self::CHECK;
            CIN * H * W
        };
        const OUT: usize = COUT * Self::OH * Self::OW;
        const IN_IMAGE: Option<[usize; 3]> = Some([CIN, H, W]);
        const OUT_IMAGE: Option<[usize; 3]> = Some([COUT, Self::OH, Self::OW]);
        const PARAMS: usize = COUT * CING * KH * KW + if BIAS { COUT } else { 0 };
        const MACS: usize = Self::PARAMS * Self::OH * Self::OW;

        fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // As `network!` spells it, each keyword only when not its default.
            let pair = |f: &mut fmt::Formatter<'_>, a: usize, b: usize| {
                if a == b {
                    write!(f, "{a}")
                } else {
                    write!(f, "({a}, {b})")
                }
            };
            write!(f, "Conv2d<{CIN}, {COUT}, ")?;
            pair(f, KH, KW)?;
            if SH != 1 || SW != 1 {
                f.write_str(", stride = ")?;
                pair(f, SH, SW)?;
            }
            if PT != PB || PL != PR {
                f.write_str(", padding = same")?;
            } else if PT != 0 || PL != 0 {
                f.write_str(", padding = ")?;
                pair(f, PT, PL)?;
            }
            if DH != 1 || DW != 1 {
                f.write_str(", dilation = ")?;
                pair(f, DH, DW)?;
            }
            if G != 1 {
                write!(f, ", groups = {G}")?;
            }
            crate::layers::write_bias(f, BIAS)
        }

        fn init(&mut self, rng: &mut Rng) {
            // PyTorch: bound 1/sqrt(fan_in), fan_in = (CIN / G)·KH·KW, for weight and bias.
            let bound = 1.0 / libm::sqrtf((CING * KH * KW) as f32);
            for w in self
                .weight
                .as_flattened_mut()
                .as_flattened_mut()
                .as_flattened_mut()
            {
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
            // Tiles over the spread input on the stack where a channel fits it, the direct
            // loops otherwise and on builds without `std` (the embedded path).
            #[cfg(feature = "std")]
            if Self::GEOM.forward_shifted(
                self.weight_flat(),
                &self.bias,
                &x[..Self::IN],
                &mut y[..Self::OUT],
            ) {
                return;
            }
            Self::GEOM.forward(
                self.weight_flat(),
                &self.bias,
                &x[..Self::IN],
                &mut y[..Self::OUT],
            );
        }

        #[cfg(feature = "alloc")]
        fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
            let (x, y) = (&x[..batch * Self::IN], &mut y[..batch * Self::OUT]);
            // A depthwise layer channel by channel over the batch, with `std`.
            #[cfg(feature = "std")]
            if Self::GEOM.forward_depthwise(self.weight_flat(), &self.bias, x, y) {
                return;
            }
            for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
                self.forward(x, y);
            }
        }

        fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
            let (gw, gb) = grad[..Self::PARAMS].split_at_mut(COUT * CING * KH * KW);
            // Matrix products over the spread batch (`shifted.rs`) with `std`, the direct
            // loops sample by sample without.
            #[cfg(feature = "std")]
            {
                let (x, dy) = (&io.x[..io.batch * Self::IN], &io.dy[..io.batch * Self::OUT]);
                let mut dx = dx.map(|d| &mut d[..io.batch * Self::IN]);
                // Stride-1 depthwise layers by direct kernels, no patch matrix.
                let w = self.weight_flat();
                if !Self::GEOM.backward_direct(w, x, dy, dx.as_deref_mut(), gw, gb) {
                    Self::GEOM.backward_shifted(w, x, dy, dx, gw, gb);
                }
            }
            #[cfg(not(feature = "std"))]
            {
                let mut dx = dx;
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
        }

        fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
            f("weight", &[COUT, CING, KH, KW], self.weight_flat());
            if BIAS {
                f("bias", &[COUT], &self.bias);
            }
        }

        fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
            f(
                "weight",
                self.weight
                    .as_flattened_mut()
                    .as_flattened_mut()
                    .as_flattened_mut(),
            );
            if BIAS {
                f("bias", &mut self.bias);
            }
        }
    }
);
