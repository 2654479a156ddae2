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
/// A value tied to another, `ties[i] == (a, s)` with `a != i`, lies `s` floats before value
/// `a` and is placed with it: a nested network's region (its own values, laid out by its own
/// plan, and its output among them at `s`) around the output it makes for the network that
/// calls it. An untied value is `ties[i] == (i, 0)`.
///
/// ```
/// use nn::__private::graph::plan;
/// let free = [(0, 0), (1, 0), (2, 0)];
/// // `a` is read while `b` is made; `c` is made after `a` is dead, in `a`'s place.
/// let (offsets, len) = plan([4, 4, 4], [0, 1, 2], [1, 2, 3], free);
/// assert_eq!((offsets, len), ([0, 4, 0], 8));
/// // A narrow value between two wide ones: widest first, the wide ones share floats.
/// let (offsets, len) = plan([2, 4, 4], [0, 1, 2], [1, 2, 3], free);
/// assert_eq!((offsets, len), ([4, 0, 4], 8));
/// // `b` made by a nested network that needs 6 floats while it runs, its output 2 floats
/// // into them: the region (value 2) lies around `b`, beside `a`, which it reads.
/// let (offsets, len) = plan([4, 4, 6], [0, 1, 1], [1, 2, 1], [(0, 0), (1, 0), (1, 2)]);
/// assert_eq!((offsets, len), ([0, 6, 4], 10));
/// ```
pub const fn plan<const M: usize>(
    widths: [usize; M],
    births: [usize; M],
    deaths: [usize; M],
    ties: [(usize, usize); M],
) -> ([usize; M], usize) {
    let mut made = [0usize; M];
    let mut i = 0;
    while i < M {
        made[i] = i;
        i += 1;
    }
    let first = place(&widths, &births, &deaths, &ties, made);
    let second = place(
        &widths,
        &births,
        &deaths,
        &ties,
        widest_first(&widths, &ties),
    );
    if second.1 < first.1 {
        second
    } else {
        first
    }
}

/// The indices of `widths`, widest first, in order of index among equals; a value tied to
/// another counts as the widest of the values tied to the same one.
const fn widest_first<const M: usize>(
    widths: &[usize; M],
    ties: &[(usize, usize); M],
) -> [usize; M] {
    let mut group = [0usize; M];
    let mut i = 0;
    while i < M {
        let a = ties[i].0;
        if widths[i] > group[a] {
            group[a] = widths[i];
        }
        i += 1;
    }
    let mut order = [0usize; M];
    let mut taken = [false; M];
    let mut k = 0;
    while k < M {
        let mut best = M;
        let mut i = 0;
        while i < M {
            let wider = best == M || group[ties[i].0] > group[ties[best].0];
            if !taken[i] && wider {
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

/// Whether values `i` and `j` are alive together.
const fn meet(births: &[usize], deaths: &[usize], i: usize, j: usize) -> bool {
    births[j] <= deaths[i] && births[i] <= deaths[j]
}

/// [`plan`]'s placement, the values taken in `order`, each with the values tied to it.
const fn place<const M: usize>(
    widths: &[usize; M],
    births: &[usize; M],
    deaths: &[usize; M],
    ties: &[(usize, usize); M],
    order: [usize; M],
) -> ([usize; M], usize) {
    let mut offsets = [0usize; M];
    let mut placed = [false; M];
    let mut total = 0;
    let mut k = 0;
    while k < M {
        let a = order[k];
        k += 1;
        if ties[a].0 != a {
            // Placed with the value it is tied to.
            continue;
        }
        // The lowest offset of `a` that keeps every value tied to it in the array.
        let mut low = 0;
        let mut m = 0;
        while m < M {
            if ties[m].0 == a && ties[m].1 > low {
                low = ties[m].1;
            }
            m += 1;
        }
        // Candidates: the lowest, and every offset that puts a value of the group just past
        // a placed value alive with it.
        let mut best = usize::MAX;
        let mut m = 0;
        while m < M {
            if ties[m].0 == a {
                let mut c = 0;
                while c <= M {
                    let candidate = if c == M {
                        low
                    } else if placed[c] && meet(births, deaths, m, c) {
                        offsets[c] + widths[c] + ties[m].1
                    } else {
                        usize::MAX
                    };
                    if candidate < best
                        && candidate >= low
                        && fits(
                            widths, births, deaths, ties, &offsets, &placed, a, candidate,
                        )
                    {
                        best = candidate;
                    }
                    c += 1;
                }
            }
            m += 1;
        }
        let mut m = 0;
        while m < M {
            if ties[m].0 == a {
                offsets[m] = best - ties[m].1;
                placed[m] = true;
                if offsets[m] + widths[m] > total {
                    total = offsets[m] + widths[m];
                }
            }
            m += 1;
        }
    }
    (offsets, total)
}

/// Whether the values tied to `a` fit with `a` at `at`, apart from every placed value alive
/// with them.
#[allow(clippy::too_many_arguments)]
const fn fits<const M: usize>(
    widths: &[usize; M],
    births: &[usize; M],
    deaths: &[usize; M],
    ties: &[(usize, usize); M],
    offsets: &[usize; M],
    placed: &[bool; M],
    a: usize,
    at: usize,
) -> bool {
    let mut m = 0;
    while m < M {
        if ties[m].0 == a && widths[m] > 0 {
            let start = at - ties[m].1;
            let mut q = 0;
            while q < M {
                let apart = start + widths[m] <= offsets[q] || offsets[q] + widths[q] <= start;
                if placed[q] && widths[q] > 0 && meet(births, deaths, m, q) && !apart {
                    return false;
                }
                q += 1;
            }
        }
        m += 1;
    }
    true
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
        let free = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)];
        assert_eq!(plan(widths, births, deaths, free).1, 18_432 + 36_864);
        let in_order = place(&widths, &births, &deaths, &free, [0, 1, 2, 3, 4]);
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
        assert_eq!(plan(widths, births, deaths, free).1, 264);
    }

    #[test]
    fn a_nested_network_runs_in_the_floats_left_free() {
        // ResNet-8's first values, `U` floats each: the first convolution's output (0), its
        // batch norm's (1), the ReLU's (2), the first stack's output (3), made in a region
        // of 2U (5) with the output at U, read by the second stack, which makes 4 in a region
        // of 3U / 2 (6), its output at U; the second stack's input is alive while it runs.
        const U: usize = 16 * 32 * 32;
        let widths = [U, U, U, U, U / 2, 2 * U, 3 * U / 2];
        let births = [1, 2, 3, 4, 5, 4, 5];
        let deaths = [2, 3, 4, 5, 6, 4, 5];
        let ties = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (3, U), (4, U)];
        let (offsets, len) = plan(widths, births, deaths, ties);
        // The widest moment: the stack's input and its region, its output inside.
        assert_eq!(len, 3 * U);
        assert_eq!(offsets[5] + U, offsets[3]);
        assert_eq!(offsets[6] + U, offsets[4]);
        for i in 0..7 {
            for j in 0..i {
                let alive = births[j] <= deaths[i] && births[i] <= deaths[j];
                let tied = ties[i].0 == ties[j].0;
                let apart =
                    offsets[i] + widths[i] <= offsets[j] || offsets[j] + widths[j] <= offsets[i];
                assert!(
                    !alive || tied || apart,
                    "values {i} and {j} overlap: {offsets:?}"
                );
            }
            assert!(offsets[i] + widths[i] <= len);
        }
        // Without the regions, each stack's values in an array of its own: 2U here, and 2U
        // in the stack.
        let free = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)];
        let alone = plan([U, U, U, U, U / 2], [1, 2, 3, 4, 5], [2, 3, 4, 5, 6], free);
        assert_eq!(alone.1 + 2 * U, 4 * U);
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
