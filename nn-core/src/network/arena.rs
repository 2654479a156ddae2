//! The one-sample forward's values laid out in one stack array at compile time, as
//! TensorFlow Lite Micro's arena planner lays out a model's tensors at run time: a value's
//! floats are reused once the last operation that reads it has run. One planner ([`plan`])
//! serves both kinds of network: a forward written as code gives it every value's life, a
//! chain its layers' outputs ([`chain`]), where an elementwise layer (`Layer::IN_PLACE`)
//! writes over its input instead of taking floats of its own.
//!
//! Everything here is `const fn`: the layout is a constant of the network's type, and so is
//! its length, `Layer::ACTIVATIONS`.

/// Lays out the values of a one-sample forward in one stack array, at compile time, as
/// TensorFlow Lite Micro's arena planner does at run time: value `i` is `widths[i]` floats,
/// made by operation `births[i]` and last read by operation `deaths[i]`; two values share
/// floats only when their lives do not meet. Each value goes at the lowest offset that fits
/// beside the values placed before it, in two orders: as the values are made, and widest
/// first (TensorFlow Lite Micro's greedy planner's order); the shorter array is kept, the
/// first order on a tie. Returns each value's offset and the floats of the whole array.
///
/// ```
/// // `a` is read while `b` is made; `c` is made after `a` is dead, in `a`'s place.
/// let (offsets, len) = nn::__private::graph::plan([4, 4, 4], [0, 1, 2], [1, 2, 3]);
/// assert_eq!((offsets, len), ([0, 4, 0], 8));
/// // A narrow value between two wide ones: widest first, the wide ones share floats.
/// let (offsets, len) = nn::__private::graph::plan([2, 4, 4], [0, 1, 2], [1, 2, 3]);
/// assert_eq!((offsets, len), ([4, 0, 4], 8));
/// ```
pub const fn plan<const M: usize>(
    widths: [usize; M],
    births: [usize; M],
    deaths: [usize; M],
) -> ([usize; M], usize) {
    let mut made = [0usize; M];
    let mut i = 0;
    while i < M {
        made[i] = i;
        i += 1;
    }
    let first = place(&widths, &births, &deaths, made);
    let second = place(&widths, &births, &deaths, widest_first(&widths));
    if second.1 < first.1 {
        second
    } else {
        first
    }
}

/// The indices of `widths`, widest first, in order of index among equals.
const fn widest_first<const M: usize>(widths: &[usize; M]) -> [usize; M] {
    let mut order = [0usize; M];
    let mut taken = [false; M];
    let mut k = 0;
    while k < M {
        let mut best = M;
        let mut i = 0;
        while i < M {
            if !taken[i] && (best == M || widths[i] > widths[best]) {
                best = i;
            }
            i += 1;
        }
        taken[best] = true;
        order[k] = best;
        k += 1;
    }
    order
}

/// [`plan`]'s placement, the values taken in `order`.
const fn place<const M: usize>(
    widths: &[usize; M],
    births: &[usize; M],
    deaths: &[usize; M],
    order: [usize; M],
) -> ([usize; M], usize) {
    let mut offsets = [0usize; M];
    let mut total = 0;
    let mut k = 0;
    while k < M {
        let i = order[k];
        // Candidates: the start, and the end of every placed value alive with this one.
        let mut best = usize::MAX;
        let mut c = 0;
        while c <= k {
            let candidate = if c == 0 {
                0
            } else {
                let p = order[c - 1];
                if births[p] <= deaths[i] && births[i] <= deaths[p] {
                    offsets[p] + widths[p]
                } else {
                    usize::MAX
                }
            };
            if candidate < best {
                let mut fits = true;
                let mut q = 0;
                while q < k {
                    let j = order[q];
                    let alive = births[j] <= deaths[i] && births[i] <= deaths[j];
                    let apart =
                        candidate + widths[i] <= offsets[j] || offsets[j] + widths[j] <= candidate;
                    if alive && !apart && widths[i] > 0 && widths[j] > 0 {
                        fits = false;
                    }
                    q += 1;
                }
                if fits {
                    best = candidate;
                }
            }
            c += 1;
        }
        offsets[i] = best;
        if best + widths[i] > total {
            total = best + widths[i];
        }
        k += 1;
    }
    (offsets, total)
}

/// Lays out a chain's one-sample values: `widths[i]` floats made by layer `i` and read by
/// layer `i + 1` (the last layer, which writes the network's output, has no entry). Where
/// `in_place[i]` (layer `i` is elementwise, `Layer::IN_PLACE`, and its input is in the array:
/// `i > 0`), its output takes its input's floats. Returns each value's offset and the floats
/// of the whole array.
///
/// A chain's values meet only their neighbours', so the array needs no more than the widest
/// two neighbours, and no layout needs less: the values (a run written in place counted
/// once) go alternately at the array's start and against its end, as two stacks growing
/// toward each other. [`plan`], which knows nothing of chains, can need more (a narrow value
/// between wide ones, an autoencoder's bottleneck, is put beside both).
///
/// ```
/// // Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>: one buffer of 128.
/// let (offsets, len) = nn::__private::chain_plan([128, 128, 128], [false, true, true]);
/// assert_eq!((offsets, len), ([0, 0, 0], 128));
/// // Outputs of 8, 16 and 8 floats: 8 + 16, the third in the first's place.
/// let (offsets, len) = nn::__private::chain_plan([8, 16, 8], [false, false, false]);
/// assert_eq!((offsets, len), ([0, 8, 0], 24));
/// ```
pub const fn chain<const M: usize>(widths: [usize; M], in_place: [bool; M]) -> ([usize; M], usize) {
    // Runs of values that share floats: each value's run, and each run's width.
    let mut run = [0usize; M];
    let mut run_widths = [0usize; M];
    let mut i = 0;
    while i < M {
        run[i] = if i == 0 {
            0
        } else if in_place[i] {
            run[i - 1]
        } else {
            run[i - 1] + 1
        };
        if widths[i] > run_widths[run[i]] {
            run_widths[run[i]] = widths[i];
        }
        i += 1;
    }
    // The array: the widest run, and the widest two neighbouring runs.
    let mut len = 0;
    let mut r = 0;
    while r < M {
        let pair = run_widths[r] + if r + 1 < M { run_widths[r + 1] } else { 0 };
        if pair > len {
            len = pair;
        }
        r += 1;
    }
    let mut offsets = [0usize; M];
    let mut i = 0;
    while i < M {
        let r = run[i];
        offsets[i] = if r % 2 == 0 { 0 } else { len - run_widths[r] };
        i += 1;
    }
    (offsets, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values whose lives meet do not overlap, and every value lies in the array.
    fn check<const M: usize>(
        widths: [usize; M],
        births: [usize; M],
        deaths: [usize; M],
        (offsets, len): ([usize; M], usize),
    ) {
        for i in 0..M {
            for j in 0..i {
                let alive = births[j] <= deaths[i] && births[i] <= deaths[j];
                let apart =
                    offsets[i] + widths[i] <= offsets[j] || offsets[j] + widths[j] <= offsets[i];
                assert!(!alive || apart, "values {i} and {j} overlap: {offsets:?}");
            }
            assert!(offsets[i] + widths[i] <= len);
        }
    }

    #[test]
    fn a_chain_needs_its_widest_two_neighbours() {
        // MobileNet's first outputs: 18,432, 18,432 (depthwise), 36,864 (pointwise), 9,216
        // (stride 2), 18,432: in the order made, the third would go above the first two;
        // widest first, it shares the first one's floats.
        let widths = [18_432, 18_432, 36_864, 9_216, 18_432];
        let (births, deaths) = ([0, 1, 2, 3, 4], [1, 2, 3, 4, 5]);
        assert_eq!(plan(widths, births, deaths).1, 18_432 + 36_864);
        let in_order = place(&widths, &births, &deaths, [0, 1, 2, 3, 4]);
        assert_eq!(in_order.1, 2 * 18_432 + 36_864);
        let planned = chain(widths, [false; 5]);
        check(widths, births, deaths, planned);
        assert_eq!(planned.1, 18_432 + 36_864);
        // An autoencoder's bottleneck: 128, 8, 128 needs 128 + 8, which the general planner
        // misses, putting the 8 beside both its neighbours.
        let widths = [128, 128, 8, 128, 128];
        let planned = chain(widths, [false; 5]);
        check(widths, births, deaths, planned);
        assert_eq!(planned.1, 256);
        assert_eq!(plan(widths, births, deaths).1, 264);
    }

    #[test]
    fn an_elementwise_layer_writes_over_its_input() {
        // Conv, BatchNorm2d, ReLU, conv, BatchNorm2d, ReLU, pool: two runs of three, then
        // the pool's output beside the second run.
        let widths = [100, 100, 100, 100, 100, 100, 10];
        let in_place = [false, true, true, false, true, true, false];
        let (offsets, len) = chain(widths, in_place);
        assert_eq!(offsets[0..3], [offsets[0]; 3]);
        assert_eq!(offsets[3..6], [offsets[3]; 3]);
        assert_ne!(offsets[0], offsets[3]);
        assert_eq!(len, 200);
        // The first layer reads the network's input, which it cannot write: never in place.
        let (offsets, len) = chain([5, 5], [true, true]);
        assert_eq!((offsets, len), ([0, 0], 5));
    }
}
