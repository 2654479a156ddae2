//! `Conv2d<CIN, COUT, K, S, P, H, W, BIAS>`: PyTorch's `nn.Conv2d(CIN, COUT, K, stride=S,
//! padding=P, bias=BIAS)` on flat NCHW samples, and `ConvTranspose2d`, its adjoint.
//!
//! This file holds the type and its no-heap paths (direct loops); `batched.rs` the batched
//! ones (patch matrices and matrix products); `threads.rs` the split of a batch over
//! threads; `transpose.rs` the transposed convolution. The kernels they call (the tiled
//! one-sample kernel, the geometry of patches, the transposed convolution's loops) are in
//! `crate::kernels::conv`.

#[cfg(feature = "alloc")]
mod batched;
mod general;
#[cfg(feature = "alloc")]
mod pointwise;
#[cfg(feature = "alloc")]
mod threads;
mod transpose;

pub use general::Conv2dGeneral;
pub use transpose::ConvTranspose2d;

use core::fmt;

#[cfg(all(feature = "std", target_arch = "x86_64"))]
use crate::kernels::conv::direct;
#[cfg(feature = "std")]
use crate::kernels::conv::grouped::Grouped;
use crate::kernels::conv::{im2col::Geom, Shape};
use crate::kernels::lane_sum;
use crate::{Backward, Layer, Rng};

/// A 2-D convolution with a square `K × K` kernel, stride `S` and zero padding `P`, from
/// `CIN` channels of `H × W` to `COUT` channels of [`OH`](Self::OH) ×
/// [`OW`](Self::OW), as PyTorch's `nn.Conv2d(CIN, COUT, K, stride=S, padding=P)` (no
/// dilation, one group, with a bias); with `BIAS = false`, as `nn.Conv2d(..., bias=False)`
/// (in `network!`, `Conv2d<CIN, COUT, K, bias = false>`).
///
/// The rest of `nn.Conv2d` (groups and depthwise layers, a rectangular kernel or stride,
/// `padding = same` where it pads unevenly, dilation) is [`Conv2dGeneral`](crate::Conv2dGeneral),
/// which `network!` declares for `Conv2d<...>` written with them: a type of its own, so that
/// this one's weight keeps its `[COUT, CIN, K, K]` array type and its fast paths stay as
/// they are.
///
/// Every size is part of the type, and the output size is computed from them:
/// `OH = (H + 2P − K) / S + 1`, likewise `OW`. A kernel larger than the padded input, or a
/// size of 0, fails to compile.
///
/// # Shapes
/// - input `[batch, CIN·H·W]`: each sample is PyTorch's `[CIN, H, W]`, flat (channel by
///   channel, each row-major)
/// - output `[batch, COUT·OH·OW]`, each sample `[COUT, OH, OW]`, flat
/// - `weight`: `[COUT, CIN, K, K]`, PyTorch's layout; `bias`: `[COUT]`
///
/// Initialised as PyTorch does: weight and bias uniform in `±1/sqrt(CIN·K·K)`.
///
/// A layer with `BIAS = false` has no `bias` tensor: its visitors, its state dict and
/// [`Layer::PARAMS`] hold the weight alone, and its initialisation draws the weight alone,
/// as PyTorch's. Its `bias` field stays in the struct, so that both kinds share one type and
/// the same kernels, and holds zeros, which [`Layer::init`] writes and nothing loads, saves or
/// trains: leave it at zero.
///
/// # How it runs
/// The batched paths ([`Layer::forward_batch`], the training pass, backward) turn each sample
/// into its patch matrix (`im2col`: one row per kernel tap `(ci, ki, kj)`, one column per
/// output position) and multiply on `matrixmultiply`, with the bias as one more row of the
/// patch matrix (all ones) against one more column of the weight. Layers with fewer than 16
/// output channels, less than one row of `matrixmultiply`'s 16 × 16 tile, put the patch
/// matrices of `⌈16 / COUT⌉` samples side by side against a block-diagonal weight, so that
/// the product fills whole tiles. Backward builds the patch matrices again rather than
/// keeping them from the training pass: a block that stays in the processor's cache is
/// cheaper to fill twice than a whole batch's patch matrices (8 and 6 times the input for
/// the layers of the example CNN, 1.5 MB and 2.2 MB at batch 64) to write out to memory and
/// read back. The weight and bias gradients come from one product per group of samples, the
/// input gradient from `Wᵀ · dy` per sample, added back into place (`col2im`).
///
/// All of it works in one 64 KB block on the stack, so that these paths allocate nothing of
/// their own (`matrixmultiply` allocates its packing buffers inside each product) and the
/// training pass needs no cache. One-sample inference ([`Layer::forward`]) uses no heap at
/// all: with stride 1, no padding and output rows of at least 8, on a CPU with AVX2 and
/// FMA, a register-tiled kernel that reads the input in place (`direct.rs`); otherwise
/// direct loops. Batched inference and the training pass take that kernel too, sample by
/// sample, for layers of at least 16 output channels whose output rows are whole tiles (a
/// multiple of 8); the patch matrices do better on the others.
///
/// The backward pass of a batch of more than 16 samples works in chunks of 16 (`threads.rs`):
/// it sums each chunk's parameter gradient apart and adds them in order. With the
/// `threading` feature, inside [`gemm::parallel`](crate::gemm::parallel), the chunks go to
/// the pool's threads (and so do batched inference's); the sums are the same either way,
/// so the default build and the `threading` build, on any number of threads, give the same
/// bits.
///
/// ```
/// use nn::{Conv2d, Layer, Zeroable};
/// // One 3×3 channel and a 2×2 kernel of ones: each output sums a 2×2 patch.
/// type C = Conv2d<1, 1, 2, 1, 0, 3, 3>;
/// let mut conv = C::zeroed();
/// conv.weight = [[[[1.0; 2]; 2]]];
/// conv.bias = [0.5];
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let mut y = [0.0; 4];
/// conv.forward(&x, &mut y);
/// assert_eq!(y, [12.5, 16.5, 24.5, 28.5]);
/// assert_eq!((C::OH, C::OW, <C as Layer>::OUT, <C as Layer>::PARAMS), (2, 2, 4, 5));
/// // Stride 2 and padding 1 on 28×28: 14×14.
/// assert_eq!(Conv2d::<1, 8, 3, 2, 1, 28, 28>::OH, 14);
/// // Without bias: the weight alone.
/// assert_eq!(<Conv2d<1, 1, 2, 1, 0, 3, 3, false> as Layer>::PARAMS, 4);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct Conv2d<
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const BIAS: bool = true,
> {
    /// `[COUT, CIN, K, K]`: `weight[o][c]` is the kernel from input channel `c` to output
    /// channel `o`.
    pub weight: [[[[f32; K]; K]; CIN]; COUT],
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
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > bytemuck::Zeroable for Conv2d<CIN, COUT, K, S, P, H, W, BIAS>
{
}

clone_in_place!(Conv2d<const CIN: usize, const COUT: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const BIAS: bool> { weight, bias });

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Conv2d<CIN, COUT, K, S, P, H, W, BIAS>
{
    /// Rejects impossible sizes at compile time; every size constant goes through it.
    const CHECK: () = {
        assert!(CIN > 0, "`Conv2d` needs at least 1 input channel (`CIN`)");
        assert!(
            COUT > 0,
            "`Conv2d` needs at least 1 output channel (`COUT`)"
        );
        assert!(K > 0, "`Conv2d` needs a kernel size `K` of at least 1");
        assert!(S > 0, "`Conv2d` needs a stride `S` of at least 1");
        assert!(
            H > 0 && W > 0,
            "`Conv2d` needs an input of at least 1×1 (`H`, `W`)"
        );
        assert!(
            K <= H + 2 * P,
            "`Conv2d` kernel `K` is taller than the padded input `H + 2 * P`; \
             use a smaller kernel or more padding"
        );
        assert!(
            K <= W + 2 * P,
            "`Conv2d` kernel `K` is wider than the padded input `W + 2 * P`; \
             use a smaller kernel or more padding"
        );
    };

    /// Output height, `(H + 2P − K) / S + 1`.
    pub const OH: usize = {
        let () = Self::CHECK;
        (H + 2 * P - K) / S + 1
    };
    /// Output width, `(W + 2P − K) / S + 1`.
    pub const OW: usize = {
        let () = Self::CHECK;
        (W + 2 * P - K) / S + 1
    };

    /// Rows of a sample's patch matrix: one per kernel tap, `CIN·K·K`.
    const TAPS: usize = CIN * K * K;
    /// Columns of a sample's patch matrix: one per output position, `OH·OW`.
    const POSITIONS: usize = Self::OH * Self::OW;

    /// The weight as a row-major `[COUT, CIN·K·K]` matrix.
    pub(crate) fn weight_matrix(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened().as_flattened()
    }

    /// This layer's geometry as the general convolution's kernels take it: one group, a
    /// square kernel, stride and padding.
    #[cfg(feature = "std")]
    const GROUPED: Grouped = Grouped {
        cin: CIN,
        cout: COUT,
        groups: 1,
        h: H,
        w: W,
        kh: K,
        kw: K,
        sh: S,
        sw: S,
        pt: P,
        pl: P,
        dh: 1,
        dw: 1,
        oh: Self::OH,
        ow: Self::OW,
    };

    /// Fills each output channel of one sample with its bias.
    fn fill_bias(&self, y: &mut [f32]) {
        for (plane, b) in y.chunks_exact_mut(Self::POSITIONS).zip(&self.bias) {
            plane.fill(*b);
        }
    }

    /// One-sample inference by direct loops: `y ← conv(x)`, with no heap.
    pub(crate) fn forward_direct(&self, x: &[f32], y: &mut [f32]) {
        self.fill_bias(y);
        let w = self.weight_matrix();
        // Tap by tap, each valid run of an output row gains `w · x`, for every channel.
        for (r, out, src, n) in <Self as Shape>::GEOM.runs() {
            let x = &x[src..][..(n - 1) * S + 1];
            let planes = y.chunks_exact_mut(Self::POSITIONS);
            for (plane, w) in planes.zip(w[r..].iter().step_by(Self::TAPS)) {
                let y = &mut plane[out..][..n];
                if S == 1 {
                    // A plain zip, which vectorises where `step_by` would not.
                    for (y, x) in y.iter_mut().zip(x) {
                        *y += w * x;
                    }
                } else {
                    for (y, x) in y.iter_mut().zip(x.iter().step_by(S)) {
                        *y += w * x;
                    }
                }
            }
        }
    }

    /// Batched inference on the calling thread: the tiled kernel sample by sample for
    /// layers of at least 16 output channels whose output rows are whole tiles (where the
    /// CPU has it), else patch matrices and products.
    #[cfg(feature = "alloc")]
    fn forward_samples(&self, x: &[f32], y: &mut [f32]) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if S == 1 && P == 0 && Self::OW.is_multiple_of(8) && COUT >= 16 && direct::available() {
            for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
                direct::forward::<Self>(self.weight_matrix(), &self.bias, x, y);
            }
            return;
        }
        if Self::POINTWISE {
            return self.forward_pointwise(x, y);
        }
        // Padded layers: the one-sample tiles over each sample spread with its zeros, where
        // a sample fits them; they beat the patch matrices' products there.
        #[cfg(feature = "std")]
        if P > 0 {
            let w = self.weight_matrix();
            for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
                if !Self::GROUPED.forward_shifted(w, &self.bias, x, y) {
                    return self.forward_blocks(x, y, 1, &mut [0.0f32; batched::BLOCK]);
                }
            }
            return;
        }
        let mut block = [0.0f32; batched::BLOCK];
        self.forward_blocks(x, y, x.len() / Self::IN, &mut block);
    }

    /// The backward pass by direct loops over the input, without a heap: what the no-heap
    /// build runs, and what the tests hold the batched paths to.
    #[cfg_attr(all(feature = "alloc", not(test)), allow(dead_code))]
    fn backward_direct(&self, x: &[f32], dy: &[f32], dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let (taps, q) = (Self::TAPS, Self::POSITIONS);
        let (gw, gb) = grad.split_at_mut(COUT * taps);
        for sample in dy.chunks_exact(Self::OUT) {
            for (g, plane) in gb.iter_mut().zip(sample.chunks_exact(q)) {
                *g += lane_sum(plane);
            }
        }
        let samples = x.chunks_exact(Self::IN).zip(dy.chunks_exact(Self::OUT));
        for (x, dy) in samples {
            for (r, out, src, n) in <Self as Shape>::GEOM.runs() {
                let x = &x[src..][..(n - 1) * S + 1];
                for (g, plane) in gw[r..].iter_mut().step_by(taps).zip(dy.chunks_exact(q)) {
                    for (d, x) in plane[out..][..n].iter().zip(x.iter().step_by(S)) {
                        *g += d * x;
                    }
                }
            }
        }
        let Some(dx) = dx else { return };
        let w = self.weight_matrix();
        let samples = dx
            .chunks_exact_mut(Self::IN)
            .zip(dy.chunks_exact(Self::OUT));
        for (dx, dy) in samples {
            dx.fill(0.0);
            for (r, out, src, n) in <Self as Shape>::GEOM.runs() {
                let dx = &mut dx[src..][..(n - 1) * S + 1];
                for (w, plane) in w[r..].iter().step_by(taps).zip(dy.chunks_exact(q)) {
                    for (dx, d) in dx.iter_mut().step_by(S).zip(&plane[out..][..n]) {
                        *dx += w * d;
                    }
                }
            }
        }
    }
}

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Shape for Conv2d<CIN, COUT, K, S, P, H, W, BIAS>
{
    const GEOM: Geom = Geom {
        cin: CIN,
        h: H,
        w: W,
        k: K,
        s: S,
        p: P,
        oh: Self::OH,
        ow: Self::OW,
    };
}

#[diagnostic::do_not_recommend]
impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Layer for Conv2d<CIN, COUT, K, S, P, H, W, BIAS>
{
    const IN: usize = {
        let () = Self::CHECK;
        CIN * H * W
    };
    const OUT: usize = COUT * Self::OH * Self::OW;
    const IN_IMAGE: Option<[usize; 3]> = Some([CIN, H, W]);
    const OUT_IMAGE: Option<[usize; 3]> = Some([COUT, Self::OH, Self::OW]);
    const PARAMS: usize = COUT * CIN * K * K + if BIAS { COUT } else { 0 };
    const MACS: usize = Self::PARAMS * Self::OH * Self::OW;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As `network!` spells it: PyTorch's keywords, each only when not its default.
        write!(f, "Conv2d<{CIN}, {COUT}, {K}")?;
        if S != 1 {
            write!(f, ", stride = {S}")?;
        }
        if P != 0 {
            write!(f, ", padding = {P}")?;
        }
        crate::layers::write_bias(f, BIAS)
    }

    fn init(&mut self, rng: &mut Rng) {
        // PyTorch: kaiming_uniform_(a = sqrt(5)) gives bound 1/sqrt(fan_in), with
        // fan_in = CIN·K·K, and the bias uses the same bound; a layer without bias draws
        // the weight alone.
        let bound = 1.0 / libm::sqrtf((CIN * K * K) as f32);
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
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if S == 1 && P == 0 && Self::OW >= 8 && direct::available() {
            return direct::forward::<Self>(self.weight_matrix(), &self.bias, x, y);
        }
        // Padded, strided or narrow layers: tiles over the input spread on the stack
        // (`shifted.rs`) where a channel fits it.
        #[cfg(feature = "std")]
        if Self::GROUPED.forward_shifted(self.weight_matrix(), &self.bias, x, y) {
            return;
        }
        // The baseline build of this loop: its runs are short (an output row), and an
        // AVX-512 build of it measured slower on the example CNN.
        self.forward_direct(x, y);
    }

    #[cfg(feature = "alloc")]
    fn forward_batch(&self, x: &[f32], y: &mut [f32], batch: usize, _cache: &mut [f32]) {
        let (x, y) = (&x[..batch * Self::IN], &mut y[..batch * Self::OUT]);
        #[cfg(feature = "threading")]
        if batch > threads::CHUNK && threads::in_pool() {
            return self.forward_chunks(x, y);
        }
        self.forward_samples(x, y);
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let (x, dy) = (&io.x[..io.batch * Self::IN], &io.dy[..io.batch * Self::OUT]);
        // `PARAMS` floats: without a bias, the weight's gradient alone, and no bias gradient.
        let grad = &mut grad[..Self::PARAMS];
        #[cfg(feature = "alloc")]
        if io.batch > threads::CHUNK {
            return self.backward_chunks(x, dy, dx, grad, io.cache);
        }
        #[cfg(feature = "alloc")]
        {
            let mut block = [0.0f32; batched::BLOCK];
            self.backward_blocks(x, dy, dx, grad, &mut block);
        }
        #[cfg(not(feature = "alloc"))]
        self.backward_direct(x, dy, dx, grad);
    }

    /// A batch of more than one chunk keeps here during the backward pass (`threads.rs`)
    /// one chunk's parameter gradient without the `threading` feature, and with it each
    /// chunk's but the first (the chunks run at once on a pool's threads).
    fn cache_len(batch: usize) -> usize {
        #[cfg(all(feature = "alloc", not(feature = "threading")))]
        if batch > threads::CHUNK {
            return Self::PARAMS;
        }
        #[cfg(feature = "threading")]
        if batch > threads::CHUNK {
            return (batch.div_ceil(threads::CHUNK) - 1) * Self::PARAMS;
        }
        let _ = batch;
        0
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        f("weight", &[COUT, CIN, K, K], self.weight_matrix());
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
