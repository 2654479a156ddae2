//! `ConvTranspose2d<CIN, COUT, K, S, P, OP, H, W, BIAS>`: PyTorch's
//! `nn.ConvTranspose2d(CIN, COUT, K, stride=S, padding=P, output_padding=OP, bias=BIAS)` on
//! flat NCHW samples. Its loops are in `crate::kernels::conv::transpose`.

use core::fmt;

use crate::kernels::conv::{im2col::Geom, transpose, Shape};
use crate::{Backward, Layer, Rng};

/// A 2-D transposed convolution (a "deconvolution") with a square `K × K` kernel, stride
/// `S`, padding `P` and output padding `OP`, from `CIN` channels of `H × W` to `COUT`
/// channels of [`OH`](Self::OH) × [`OW`](Self::OW), as PyTorch's
/// `nn.ConvTranspose2d(CIN, COUT, K, stride=S, padding=P, output_padding=OP)` (no dilation,
/// one group, with a bias); with `BIAS = false`, as `nn.ConvTranspose2d(..., bias=False)`.
/// In `network!`: `ConvTranspose2d<CIN, COUT, K, stride = S, padding = P, output_padding =
/// OP>`, and `bias = false`.
///
/// Each input pixel `x[c, i, j]` adds `x[c, i, j] · weight[c, o]` into the output window
/// whose corner is `(i·S − P, j·S − P)`; what falls outside the output is cut off. It is the
/// adjoint of `Conv2d<COUT, CIN, K, stride = S, padding = P>` on an `OH × OW` image, which it
/// undoes in shape: `OH = (H − 1)·S − 2P + K + OP`, likewise `OW`. The output padding, which
/// only adds rows and columns at the bottom and right, picks one of the `S` sides that the
/// convolution maps to `H`, so it must be below the stride, as PyTorch requires. An output
/// padding of `S` or more, a side of 0, or padding that cuts the whole output away fails to
/// compile.
///
/// # Shapes
/// - input `[batch, CIN·H·W]`: each sample is PyTorch's `[CIN, H, W]`, flat
/// - output `[batch, COUT·OH·OW]`, each sample `[COUT, OH, OW]`, flat
/// - `weight`: `[CIN, COUT, K, K]`, PyTorch's layout, input channels first; `bias`: `[COUT]`
///
/// Initialised as PyTorch does: weight and bias uniform in `±1/sqrt(COUT·K·K)`. PyTorch
/// computes the fan in from the weight's second dimension, which for a transposed
/// convolution is the output channels.
///
/// A layer with `BIAS = false` has no `bias` tensor: its visitors, its state dict and
/// [`Layer::PARAMS`] hold the weight alone, and its initialisation draws the weight alone.
/// Its `bias` field stays in the struct and holds zeros, which [`Layer::init`] writes and
/// nothing loads, saves or trains: leave it at zero.
///
/// # How it runs
/// One-sample inference ([`Layer::forward`]) and the build without `alloc` scatter each
/// input pixel into the output by direct loops, with no heap. The batched paths
/// ([`Layer::forward_batch`], the training pass, backward) work sample by sample through a
/// block on the stack: the product of the weight and a block of input pixels, added into
/// place (`col2im`), forward; the output gradient's patches (`im2col`) against the input and
/// the weight, backward.
///
/// ```
/// use nn::{ConvTranspose2d, Layer, Zeroable};
/// // One 2×2 channel and a 2×2 kernel of ones, stride 2: each pixel becomes a 2×2 block.
/// type Up = ConvTranspose2d<1, 1, 2, 2, 0, 0, 2, 2>;
/// let mut up = Up::zeroed();
/// up.weight = [[[[1.0; 2]; 2]]];
/// up.bias = [0.5];
/// let mut y = [0.0; 16];
/// up.forward(&[1.0, 2.0, 3.0, 4.0], &mut y);
/// assert_eq!(y[..4], [1.5, 1.5, 2.5, 2.5]);
/// assert_eq!((Up::OH, Up::OW, <Up as Layer>::OUT, <Up as Layer>::PARAMS), (4, 4, 16, 5));
/// // DCGAN's upsampling step: kernel 4, stride 2, padding 1 doubles the sides.
/// assert_eq!(ConvTranspose2d::<64, 32, 4, 2, 1, 0, 8, 8>::OH, 16);
/// // Stride 2, kernel 3, padding 1: 2H − 1, or 2H with an output padding of 1.
/// assert_eq!(ConvTranspose2d::<1, 1, 3, 2, 1, 1, 7, 7>::OH, 14);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct ConvTranspose2d<
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
    const H: usize,
    const W: usize,
    const BIAS: bool = true,
> {
    /// `[CIN, COUT, K, K]`: `weight[c][o]` is the kernel from input channel `c` to output
    /// channel `o`.
    pub weight: [[[[f32; K]; K]; COUT]; CIN],
    /// `[COUT]`; zeros, and no tensor of the layer's, when `BIAS` is `false`.
    pub bias: [f32; COUT],
}

// SAFETY: the fields are `f32` arrays, and all-zero bits are the valid value 0.0.
unsafe impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OP: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > bytemuck::Zeroable for ConvTranspose2d<CIN, COUT, K, S, P, OP, H, W, BIAS>
{
}

clone_in_place!(ConvTranspose2d<const CIN: usize, const COUT: usize, const K: usize, const S: usize, const P: usize, const OP: usize, const H: usize, const W: usize, const BIAS: bool> { weight, bias });

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OP: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > ConvTranspose2d<CIN, COUT, K, S, P, OP, H, W, BIAS>
{
    /// Rejects impossible sizes at compile time; every size constant goes through it.
    const CHECK: () = {
        assert!(
            CIN > 0,
            "`ConvTranspose2d` needs at least 1 input channel (`CIN`)"
        );
        assert!(
            COUT > 0,
            "`ConvTranspose2d` needs at least 1 output channel (`COUT`)"
        );
        assert!(
            K > 0,
            "`ConvTranspose2d` needs a kernel size `K` of at least 1"
        );
        assert!(S > 0, "`ConvTranspose2d` needs a stride `S` of at least 1");
        assert!(
            H > 0 && W > 0,
            "`ConvTranspose2d` needs an input of at least 1×1 (`H`, `W`)"
        );
        assert!(
            OP < S,
            "`ConvTranspose2d` needs an output padding `OP` below its stride `S`, as PyTorch \
             does; use a smaller output padding"
        );
        assert!(
            (H - 1) * S + K + OP > 2 * P && (W - 1) * S + K + OP > 2 * P,
            "`ConvTranspose2d` padding `P` cuts its whole output away: \
             `(H − 1)·S − 2P + K + OP` is below 1; use less padding"
        );
    };

    /// Output height, `(H − 1)·S − 2P + K + OP`.
    pub const OH: usize = {
        let () = Self::CHECK;
        (H - 1) * S + K + OP - 2 * P
    };
    /// Output width, `(W − 1)·S − 2P + K + OP`.
    pub const OW: usize = {
        let () = Self::CHECK;
        (W - 1) * S + K + OP - 2 * P
    };

    /// The weight as a row-major `[CIN, COUT·K·K]` matrix.
    fn weight_matrix(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened().as_flattened()
    }

    /// The backward pass of the samples `x` (with output gradients `dy`), sample by sample:
    /// adds the parameter gradients into `grad` (`PARAMS` long) and, when `dx` is given,
    /// writes the input gradient.
    fn backward_samples(
        &self,
        x: &[f32],
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        grad: &mut [f32],
    ) {
        let (gw, gb) = grad.split_at_mut(CIN * COUT * K * K);
        #[cfg(feature = "alloc")]
        let mut block = [0.0f32; BLOCK];
        let samples = x.chunks_exact(Self::IN).zip(dy.chunks_exact(Self::OUT));
        for (b, (x, dy)) in samples.enumerate() {
            transpose::bias_grad::<Self>(dy, gb);
            let dx = dx
                .as_deref_mut()
                .map(|dx| &mut dx[b * Self::IN..][..Self::IN]);
            #[cfg(feature = "alloc")]
            transpose::backward_blocked::<Self>(self.weight_matrix(), x, dy, dx, gw, &mut block);
            #[cfg(not(feature = "alloc"))]
            transpose::backward_direct::<Self>(self.weight_matrix(), x, dy, dx, gw);
        }
    }
}

/// Floats of the stack block of the batched paths: 64 KB, as `Conv2d`'s.
#[cfg(feature = "alloc")]
const BLOCK: usize = 16384;

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OP: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Shape for ConvTranspose2d<CIN, COUT, K, S, P, OP, H, W, BIAS>
{
    // The convolution this one is the adjoint of: from the output back to the input.
    const GEOM: Geom = Geom {
        cin: COUT,
        h: Self::OH,
        w: Self::OW,
        k: K,
        s: S,
        p: P,
        oh: H,
        ow: W,
    };
}

#[diagnostic::do_not_recommend]
impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OP: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Layer for ConvTranspose2d<CIN, COUT, K, S, P, OP, H, W, BIAS>
{
    const IN: usize = {
        let () = Self::CHECK;
        CIN * H * W
    };
    const OUT: usize = COUT * Self::OH * Self::OW;
    const IN_IMAGE: Option<[usize; 3]> = Some([CIN, H, W]);
    const OUT_IMAGE: Option<[usize; 3]> = Some([COUT, Self::OH, Self::OW]);
    const PARAMS: usize = CIN * COUT * K * K + if BIAS { COUT } else { 0 };
    const MACS: usize = Self::PARAMS * Self::OH * Self::OW;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As `network!` spells it: PyTorch's keywords, each only when not its default.
        write!(f, "ConvTranspose2d<{CIN}, {COUT}, {K}")?;
        if S != 1 {
            write!(f, ", stride = {S}")?;
        }
        if P != 0 {
            write!(f, ", padding = {P}")?;
        }
        if OP != 0 {
            write!(f, ", output_padding = {OP}")?;
        }
        crate::layers::write_bias(f, BIAS)
    }

    fn init(&mut self, rng: &mut Rng) {
        // PyTorch: kaiming_uniform_(a = sqrt(5)) gives bound 1/sqrt(fan_in), with fan_in
        // from the weight's dimension 1 times the kernel: COUT·K·K for a transposed
        // convolution, whose weight is [CIN, COUT, K, K]. The bias uses the same bound; a
        // layer without bias draws the weight alone.
        let bound = 1.0 / libm::sqrtf((COUT * K * K) as f32);
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
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        transpose::forward_direct::<Self>(self.weight_matrix(), &self.bias, x, y);
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        let (x, y) = (&x[..batch * Self::IN], &mut y[..batch * Self::OUT]);
        let mut block = [0.0f32; BLOCK];
        for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
            transpose::forward_blocked::<Self>(self.weight_matrix(), &self.bias, x, y, &mut block);
        }
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let (x, dy) = (&io.x[..io.batch * Self::IN], &io.dy[..io.batch * Self::OUT]);
        self.backward_samples(x, dy, dx, &mut grad[..Self::PARAMS]);
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        f("weight", &[CIN, COUT, K, K], self.weight_matrix());
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

#[cfg(test)]
mod tests {
    //! The loops against the transposed convolution's definition, written out as a scatter
    //! over every input pixel and tap, and (with `alloc`) the blocked paths against it with
    //! blocks small enough to split taps and pixels.

    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;

    /// A layer's sizes: `[CIN, COUT, K, S, P, H, W, OH, OW]`, read back from its geometry.
    fn dims<G: Layer + Shape>() -> [usize; 9] {
        let g = G::GEOM;
        [
            G::IN / (g.oh * g.ow),
            g.cin,
            g.k,
            g.s,
            g.p,
            g.oh,
            g.ow,
            g.h,
            g.w,
        ]
    }

    /// `y[o, i·S − P + ki, j·S − P + kj] += x[c, i, j] · w[c, o, ki, kj]`, after the bias.
    fn definition(w: &[f32], b: &[f32], x: &[f32], d: [usize; 9]) -> Vec<f32> {
        let [cin, cout, k, s, p, h, wd, oh, ow] = d;
        let mut y = vec![0.0f32; cout * oh * ow];
        for (plane, b) in y.chunks_exact_mut(oh * ow).zip(b) {
            plane.fill(*b);
        }
        for (c, i, j, o, ki, kj) in (0..cin).flat_map(|c| {
            (0..h).flat_map(move |i| {
                (0..wd).flat_map(move |j| {
                    (0..cout).flat_map(move |o| {
                        (0..k).flat_map(move |ki| (0..k).map(move |kj| (c, i, j, o, ki, kj)))
                    })
                })
            })
        }) {
            let (r, q) = ((i * s + ki).wrapping_sub(p), (j * s + kj).wrapping_sub(p));
            if r < oh && q < ow {
                y[(o * oh + r) * ow + q] +=
                    x[(c * h + i) * wd + j] * w[((c * cout + o) * k + ki) * k + kj];
            }
        }
        y
    }

    fn close(got: &[f32], want: &[f32], what: &str) {
        let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * scale,
                "{what}: element {i}: {g} against {w}"
            );
        }
    }

    /// Checks layer `G`'s forward pass and the direct and blocked loops of its backward pass
    /// against the definition, on a batch of 3.
    fn check<G: Layer + Shape>() {
        let d = dims::<G>();
        let (n_in, n_out) = (G::IN, G::OUT);
        let mut rng = Rng::seed(5);
        let mut layer = G::zeroed();
        layer.init(&mut rng);
        let (mut w, mut bias) = (Vec::new(), vec![0.0; d[1]]);
        layer.visit_params(&mut |name, _, v| match name {
            "weight" => w = v.to_vec(),
            _ => bias = v.to_vec(),
        });
        let batch = 3;
        let x: Vec<f32> = (0..batch * n_in).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let dy: Vec<f32> = (0..batch * n_out).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let want: Vec<f32> = x
            .chunks(n_in)
            .flat_map(|x| definition(&w, &bias, x, d))
            .collect();
        let mut y = vec![f32::NAN; batch * n_out];
        for (x, y) in x.chunks(n_in).zip(y.chunks_mut(n_out)) {
            layer.forward(x, y);
        }
        close(&y, &want, "one-sample output");
        // The gradients by the definition, which is linear in `x` and in `w`: each input's
        // and each weight's gradient is the output it alone makes, against `dy`.
        let (mut want_dx, mut want_gw) = (vec![0.0f32; batch * n_in], vec![0.0f32; w.len()]);
        let no_bias = vec![0.0; d[1]];
        let unit = |n: usize, i: usize| {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            e
        };
        for (b, (x, dy)) in x.chunks(n_in).zip(dy.chunks(n_out)).enumerate() {
            let against = |y: Vec<f32>| y.iter().zip(dy).map(|(y, d)| y * d).sum::<f32>();
            for (i, dx) in want_dx[b * n_in..][..n_in].iter_mut().enumerate() {
                *dx = against(definition(&w, &no_bias, &unit(n_in, i), d));
            }
            for (i, g) in want_gw.iter_mut().enumerate() {
                *g += against(definition(&unit(w.len(), i), &no_bias, x, d));
            }
        }
        let mut dx = vec![f32::NAN; batch * n_in];
        let mut g = vec![0.0; w.len()];
        for (b, (x, dy)) in x.chunks(n_in).zip(dy.chunks(n_out)).enumerate() {
            let dx = &mut dx[b * n_in..][..n_in];
            transpose::backward_direct::<G>(&w, x, dy, Some(dx), &mut g);
        }
        close(&dx, &want_dx, "direct input gradient");
        close(&g, &want_gw, "direct weight gradient");
        #[cfg(feature = "alloc")]
        for room in [1, 7, 40, 300, BLOCK] {
            let mut block = vec![f32::NAN; room];
            let mut y = vec![f32::NAN; batch * n_out];
            for (x, y) in x.chunks(n_in).zip(y.chunks_mut(n_out)) {
                transpose::forward_blocked::<G>(&w, &bias, x, y, &mut block);
            }
            close(&y, &want, &std::format!("blocked output, block of {room}"));
            let mut dx = vec![f32::NAN; batch * n_in];
            let mut g = vec![0.0; w.len()];
            for (b, (x, dy)) in x.chunks(n_in).zip(dy.chunks(n_out)).enumerate() {
                let dx = &mut dx[b * n_in..][..n_in];
                transpose::backward_blocked::<G>(&w, x, dy, Some(dx), &mut g, &mut block);
            }
            let what = std::format!("block of {room}");
            close(
                &dx,
                &want_dx,
                &std::format!("blocked input gradient, {what}"),
            );
            close(
                &g,
                &want_gw,
                &std::format!("blocked weight gradient, {what}"),
            );
        }
    }

    #[test]
    fn stride_1() {
        check::<ConvTranspose2d<2, 3, 3, 1, 0, 0, 4, 5>>();
    }

    #[test]
    fn stride_2_padding_1_output_padding_1() {
        check::<ConvTranspose2d<2, 3, 3, 2, 1, 1, 3, 4>>();
    }

    #[test]
    fn stride_3_wide_padding_output_padding_2() {
        check::<ConvTranspose2d<3, 2, 4, 3, 2, 2, 3, 2>>();
    }

    #[test]
    fn one_by_one_without_bias() {
        check::<ConvTranspose2d<3, 4, 1, 1, 0, 0, 3, 3, false>>();
    }
}
