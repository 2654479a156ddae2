//! Streaming a causal [`Conv1d`]: one time step per call, the past inputs it reads carried
//! between calls in a value whose size the compiler knows.

use crate::kernels::conv::conv1d;
use crate::layers::Stream;
use crate::Conv1d;

/// The past inputs a causal convolution reads, carried between steps: the last `K · D`
/// inputs of `CIN` channels (the kernel reaches `(K − 1)·D` steps back), and how many have
/// been seen. Starts empty ([`Conv1dContext::default`]), as the sequence starts after the
/// layer's causal padding.
///
/// A ring written twice: each input goes to row `at` and row `at + K · D` of
/// `[2 · K · D, CIN]`, so that rows `at ..` hold the last `K · D` inputs newest first, in
/// one piece, and taking an input moves nothing.
#[derive(Clone, Copy, Debug)]
// Aligned to a cache line, so that a step's vector loads and stores of its rows straddle as few
// lines as the row's width allows, wherever the context lies.
#[repr(C, align(64))]
pub struct Conv1dContext<const CIN: usize, const K: usize, const D: usize> {
    /// `[2, K, D, CIN]`: both copies of the ring.
    hist: [[[[f32; CIN]; D]; K]; 2],
    /// The newest input's row, below `K · D`.
    at: usize,
    /// Inputs seen, at most `K · D`.
    seen: usize,
}

impl<const CIN: usize, const K: usize, const D: usize> Default for Conv1dContext<CIN, K, D> {
    fn default() -> Self {
        Conv1dContext {
            hist: [[[[0.0; CIN]; D]; K]; 2],
            at: 0,
            seen: 0,
        }
    }
}

/// Two contexts are equal when they hold the same inputs, wherever their rings start.
impl<const CIN: usize, const K: usize, const D: usize> PartialEq for Conv1dContext<CIN, K, D> {
    fn eq(&self, other: &Self) -> bool {
        self.seen == other.seen && self.window() == other.window()
    }
}

impl<const CIN: usize, const K: usize, const D: usize> Conv1dContext<CIN, K, D> {
    /// Forgets every input: the next step is the sequence's first.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Takes `x` as the newest input.
    #[inline(always)]
    fn push(&mut self, x: &[f32; CIN]) {
        let n = K * D;
        self.at = if self.at == 0 { n - 1 } else { self.at - 1 };
        let rows = self.hist.as_flattened_mut().as_flattened_mut();
        rows[self.at] = *x;
        rows[self.at + n] = *x;
        self.seen = (self.seen + 1).min(n);
    }

    /// The last `K · D` inputs, newest first: row `j` is the input `j` steps back.
    #[inline(always)]
    fn window(&self) -> &[[f32; CIN]] {
        &self.hist.as_flattened().as_flattened()[self.at..][..K * D]
    }
}

/// A causal [`Conv1d`]'s weights laid out for streaming, one time step per call: each input
/// channel's taps with the outputs side by side (the weight `[COUT, CIN / G, K]` transposed to
/// `[CIN / G, K, COUT]`), so that a step runs down the outputs in vector registers.
///
/// Made from a layer declared with `padding = causal` and stride 1 by [`Conv1dCell::new`] (a
/// `const fn`, so that a cell of baked weights can be a `static` in flash). Step `t` gives the
/// layer's output `t` over the same inputs, bit for bit: the products are added in the same
/// order, and the taps before the first input are left out as the layer leaves out its
/// padding. Nothing touches the heap.
///
/// ```
/// use nn::{Conv1d, Conv1dCell, Conv1dContext, Layer, Rng, Zeroable};
/// // 2 channels to 4, kernel 3, dilation 2, causal: 4 zeros before the sequence.
/// type C = Conv1d<2, 4, 3, 1, 4, 0, 2, 1, 50, 2>;
/// let mut conv = C::zeroed();
/// conv.init(&mut Rng::seed(1));
/// let x: Vec<f32> = (0..100).map(|i| (i as f32 * 0.3).sin()).collect(); // [2, 50]
/// let mut whole = vec![0.0; 200]; // [4, 50]
/// conv.forward(&x, &mut whole);
///
/// let cell = Conv1dCell::new(&conv);
/// let mut ctx = Conv1dContext::default();
/// for t in 0..50 {
///     let y = cell.step(&[x[t], x[50 + t]], &mut ctx);
///     assert_eq!(y, [whole[t], whole[50 + t], whole[100 + t], whole[150 + t]]);
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
// Aligned to a cache line, so that a step's vector loads of the weights never straddle two.
#[repr(C, align(64))]
pub struct Conv1dCell<
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const D: usize,
    const G: usize,
    const CING: usize,
> {
    /// `[CIN / G, K, COUT]`.
    wt: [[[f32; COUT]; K]; CING],
    bias: [f32; COUT],
}

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const D: usize,
        const G: usize,
        const CING: usize,
    > Conv1dCell<CIN, COUT, K, D, G, CING>
{
    /// The cell of `conv`'s weights. The layer must be causal, `padding = causal` (`PL =
    /// (K − 1)·D`, `PR = 0`) with stride 1: the compiler refuses another.
    pub const fn new<const PL: usize, const PR: usize, const L: usize, const BIAS: bool>(
        conv: &Conv1d<CIN, COUT, K, 1, PL, PR, D, G, L, CING, BIAS>,
    ) -> Self {
        const {
            assert!(
                PL == (K - 1) * D && PR == 0,
                "a `Conv1dCell` streams a causal `Conv1d`: declare it with `padding = causal`"
            );
        }
        let mut cell = Conv1dCell {
            wt: [[[0.0; COUT]; K]; CING],
            bias: conv.bias,
        };
        let mut o = 0;
        while o < COUT {
            let mut ci = 0;
            while ci < CING {
                let mut k = 0;
                while k < K {
                    cell.wt[ci][k][o] = conv.weight[o][ci][k];
                    k += 1;
                }
                ci += 1;
            }
            o += 1;
        }
        cell
    }

    /// One time step: takes input `x` (one value per input channel), keeps it in `ctx`, and
    /// returns the output at this step (one value per output channel).
    #[inline]
    pub fn step(&self, x: &[f32; CIN], ctx: &mut Conv1dContext<CIN, K, D>) -> [f32; COUT] {
        Stream::step(self, x, ctx)
    }
}

impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const D: usize,
        const G: usize,
        const CING: usize,
    > crate::layers::stream::sealed::Sealed for Conv1dCell<CIN, COUT, K, D, G, CING>
{
}

/// [`Conv1dCell::step`], within a stack's step.
impl<
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const D: usize,
        const G: usize,
        const CING: usize,
    > Stream for Conv1dCell<CIN, COUT, K, D, G, CING>
{
    type In = [f32; CIN];
    type Out = [f32; COUT];
    type State = Conv1dContext<CIN, K, D>;

    #[inline(always)]
    fn step_with<const FMA: bool, const WIDE: bool>(
        &self,
        x: &[f32; CIN],
        ctx: &mut Conv1dContext<CIN, K, D>,
        y: &mut [f32; COUT],
    ) {
        ctx.push(x);
        conv1d::step::<FMA, CIN, COUT, K, D, G, CING>(
            &self.wt,
            &self.bias,
            ctx.window(),
            ctx.seen,
            y,
        );
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::Conv1dContext;

    /// The ring keeps the last `K · D` inputs newest first wherever it starts, and contexts
    /// holding the same inputs compare equal.
    #[test]
    fn the_ring_holds_the_last_inputs_newest_first() {
        let (mut a, mut b) = (
            Conv1dContext::<2, 3, 2>::default(),
            Conv1dContext::default(),
        );
        b.push(&[-1.0, -2.0]);
        for t in 0..20 {
            let x = [t as f32, 100.0 + t as f32];
            a.push(&x);
            b.push(&x);
            let seen = (t + 1).min(6);
            let want: Vec<[f32; 2]> = (0..seen)
                .map(|j| [(t - j) as f32, 100.0 + (t - j) as f32])
                .collect();
            assert_eq!(&a.window()[..seen], &want[..], "step {t}");
            assert_eq!(a.seen, seen);
            if t >= 5 {
                assert_ne!(a.at, b.at);
                assert_eq!(a, b, "step {t}");
            } else {
                assert_ne!(a, b, "step {t}");
            }
        }
    }
}
