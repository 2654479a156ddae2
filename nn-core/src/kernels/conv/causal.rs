//! One step of a causal 1-D convolution: the output at the newest time step from the inputs
//! kept so far, in the order the general kernel (`grouped`) adds them over a whole sequence,
//! so that both give the same bits.

/// `y ← bias + Σ_{ci, k} w[ci][k][o] · x(t − (K − 1 − k)·D)[channel of o's group, ci]`, the
/// taps in the order of input channel `ci`, then tap `k`, as `Grouped::forward` adds them.
/// `hist[j]` is the input `j` steps back (`hist[0]` the newest); `seen` inputs exist, and a tap
/// reaching before the first is left out, as the whole-sequence pass leaves out its padding.
/// `wt` is `[CING][K][COUT]`: the outputs side by side, so that one tap runs down them in
/// vector registers.
#[inline(always)]
pub(crate) fn step<
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const G: usize,
    const CING: usize,
>(
    wt: &[[[f32; COUT]; K]; CING],
    bias: &[f32; COUT],
    hist: &[[f32; CIN]],
    d: usize,
    seen: usize,
    y: &mut [f32; COUT],
) {
    *y = *bias;
    let coutg = COUT / G;
    for (ci, taps) in wt.iter().enumerate() {
        for (k, w) in taps.iter().enumerate() {
            let back = (K - 1 - k) * d;
            if back >= seen {
                continue;
            }
            let x = &hist[back];
            if G == 1 {
                let v = x[ci];
                for (y, w) in y.iter_mut().zip(w) {
                    *y += w * v;
                }
            } else {
                for g in 0..G {
                    let v = x[g * CING + ci];
                    let outs = g * coutg..(g + 1) * coutg;
                    for (y, w) in y[outs.clone()].iter_mut().zip(&w[outs]) {
                        *y += w * v;
                    }
                }
            }
        }
    }
}
