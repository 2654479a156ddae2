//! Classification metrics over a batch of scores `[batch, classes]` (logits,
//! probabilities or log-probabilities: only their order matters).
//!
//! Each takes the scores as a flat slice and its width (`accuracy(&flat, 10, &targets)`) or,
//! with a `_rows` name, as the typed rows `predict` returns (`accuracy_rows(&rows,
//! &targets)`, for `&[[f32; K]]`, `&Vec<[f32; K]>` or `&[[f32; K]; B]`); the two agree.
//!
//! ```
//! nn::network! { struct Net<Linear<4, 3>> }
//! let net = Net::new(0);
//! let x = [[0.5f32; 4], [-1.0; 4]];
//! let rows: Vec<[f32; 3]> = net.predict(&x);
//! let targets = [0, 2];
//! assert_eq!(
//!     nn::metrics::accuracy_rows(&rows, &targets),
//!     nn::metrics::accuracy(rows.as_flattened(), 3, &targets),
//! );
//! ```

use core::cmp::Ordering;

/// Whether score `a` of class `i` ranks above score `b` of class `j`: higher first, NaN
/// highest (as `torch.argmax` and `torch.topk` treat it), ties to the lower class index (as
/// `torch.argmax` breaks them).
fn ranks_above((i, a): (usize, f32), (j, b): (usize, f32)) -> bool {
    let order = match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    };
    order == Ordering::Greater || (order == Ordering::Equal && i < j)
}

/// How many rows of `scores` (`[batch, width]`) have their target among their `k` highest
/// scores. Ties rank the lower class index first, as `torch.argmax` does, so with `k = 1`
/// a row counts exactly when `scores.argmax(1) == target`.
///
/// ```
/// use nn::metrics::top_k_correct;
/// let scores = [0.1, 0.7, 0.2, /* row 2 */ 0.5, 0.1, 0.4];
/// assert_eq!(top_k_correct(&scores, 3, &[1, 2], 1), 1);
/// assert_eq!(top_k_correct(&scores, 3, &[1, 2], 2), 2);
/// ```
///
/// # Panics
/// When `scores` is not `targets.len()` rows of `width`, or a target is not a class index
/// below `width` (naming the row).
pub fn top_k_correct(scores: &[f32], width: usize, targets: &[usize], k: usize) -> usize {
    assert!(
        scores.len() == targets.len() * width,
        "top_k_correct: {} scores are not {} rows of {width}",
        scores.len(),
        targets.len()
    );
    let mut correct = 0;
    for (row, (s, &t)) in scores.chunks_exact(width.max(1)).zip(targets).enumerate() {
        assert!(
            t < width,
            "top_k_correct: target {t} at row {row} is not a class index below {width}"
        );
        let target = (t, s[t]);
        let above = s
            .iter()
            .enumerate()
            .filter(|&(j, &v)| ranks_above((j, v), target))
            .count();
        correct += usize::from(above < k);
    }
    correct
}

/// The share of rows whose target is among their `k` highest scores: top-k accuracy, in
/// `[0, 1]`. See [`top_k_correct`] for ties and panics.
///
/// ```
/// let scores = [0.1, 0.7, 0.2, 0.5, 0.1, 0.4];
/// assert_eq!(nn::metrics::top_k_accuracy(&scores, 3, &[1, 2], 1), 0.5);
/// ```
pub fn top_k_accuracy(scores: &[f32], width: usize, targets: &[usize], k: usize) -> f32 {
    top_k_correct(scores, width, targets, k) as f32 / targets.len().max(1) as f32
}

/// The share of rows whose highest score is at their target: `(scores.argmax(1) ==
/// target).float().mean()`.
///
/// ```
/// let logits = [2.0, -1.0, 0.5, 3.0];
/// assert_eq!(nn::metrics::accuracy(&logits, 2, &[0, 0]), 0.5);
/// ```
pub fn accuracy(scores: &[f32], width: usize, targets: &[usize]) -> f32 {
    top_k_accuracy(scores, width, targets, 1)
}

/// [`top_k_correct`] on typed rows, as a network's `predict` returns them: `K` is the
/// width.
///
/// ```
/// let rows = [[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]];
/// assert_eq!(nn::metrics::top_k_correct_rows(&rows, &[1, 2], 2), 2);
/// ```
///
/// # Panics
/// As [`top_k_correct`]: when there are not `targets.len()` rows, or a target is not below `K`.
pub fn top_k_correct_rows<const K: usize>(
    scores: &[[f32; K]],
    targets: &[usize],
    k: usize,
) -> usize {
    top_k_correct(scores.as_flattened(), K, targets, k)
}

/// [`top_k_accuracy`] on typed rows.
///
/// ```
/// let rows = vec![[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]];
/// assert_eq!(nn::metrics::top_k_accuracy_rows(&rows, &[1, 2], 1), 0.5);
/// ```
pub fn top_k_accuracy_rows<const K: usize>(
    scores: &[[f32; K]],
    targets: &[usize],
    k: usize,
) -> f32 {
    top_k_accuracy(scores.as_flattened(), K, targets, k)
}

/// [`accuracy`] on typed rows: `(scores.argmax(1) == target).float().mean()`.
///
/// ```
/// let logits = vec![[2.0, -1.0], [0.5, 3.0]];
/// assert_eq!(nn::metrics::accuracy_rows(&logits, &[0, 0]), 0.5);
/// ```
pub fn accuracy_rows<const K: usize>(scores: &[[f32; K]], targets: &[usize]) -> f32 {
    accuracy(scores.as_flattened(), K, targets)
}
