//! Losses of a row of class scores against a class: cross-entropy on logits and negative
//! log-likelihood on log-probabilities.

use super::*;
use crate::kernels::parts::{tree_sum_by, Rows, Split, BLOCK};

/// PyTorch's `nn.CrossEntropyLoss(label_smoothing=ε)` on logits `[batch, classes]`, with
/// mean reduction (`.reduction(..)` for the others, one term per row). Uses a stable log-sum-exp, so logits of ±1e4 give finite values.
///
/// The targets are either class indices, `[usize]` or `[i64]` (PyTorch's `int64`), or
/// class probabilities (soft targets, as PyTorch accepts a float target of the logits'
/// shape), `[[f32; K]]` or flat `[f32]` of `[batch, classes]`. With probabilities `t`
/// the loss of a row is PyTorch's
///
/// ```text
/// −Σ_c t'_c · log_softmax(x)_c,   t' = (1 − ε) t + ε / classes
/// ```
///
/// which for a one-hot `t` is the class-index loss. Probabilities are not checked to sum
/// to 1, as in PyTorch.
///
/// ```
/// use nn::loss::{CrossEntropyLoss, Loss};
/// let ce = CrossEntropyLoss::default();
/// let l = ce.loss(&[0.0, 0.0], 2, &[1usize][..], None);
/// assert!((l - 2f32.ln()).abs() < 1e-6);
/// // The same with PyTorch's int64 indices, and with a one-hot probability target.
/// assert_eq!(ce.loss(&[0.0, 0.0], 2, &[1i64][..], None), l);
/// assert_eq!(ce.loss(&[0.0, 0.0], 2, &[[0.0, 1.0]][..], None), l);
/// ```
///
/// # Panics
/// If the label smoothing is not in `[0, 1]` ([`CrossEntropyLoss::check`]), or a class
/// index is negative or not below the number of classes (the message names the row).
/// PyTorch skips rows whose target is its `ignore_index`, -100 by default; here every
/// target must be a class, so a -100 panics too, saying so.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrossEntropyLoss {
    /// ε in `[0, 1]`: the target becomes `(1 - ε) one_hot + ε / classes`. Checked by
    /// [`CrossEntropyLoss::check`], which [`Loss::loss`] calls first.
    pub label_smoothing: f32,
}

impl CrossEntropyLoss {
    /// Checks the label smoothing: in `[0, 1]` and not NaN. PyTorch raises for values
    /// above 1 and silently smooths nothing for negative or NaN ones; both are refused
    /// here, as a setting nobody means.
    ///
    /// ```
    /// use nn::loss::CrossEntropyLoss;
    /// assert!(CrossEntropyLoss { label_smoothing: 0.1 }.check().is_ok());
    /// assert!(CrossEntropyLoss { label_smoothing: f32::NAN }.check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), crate::SettingError> {
        crate::SettingError::check_all(
            "CrossEntropyLoss",
            &[(
                "label_smoothing",
                self.label_smoothing,
                crate::error::Range::Closed01,
            )],
        )
    }
}

/// A class index as a target holds it: `usize`, or PyTorch's `int64`.
trait ClassIndex: Copy + Sync {
    /// The index, wide enough for a negative `i64` and any `usize`.
    fn index(self) -> i128;
}

impl ClassIndex for usize {
    fn index(self) -> i128 {
        self as i128
    }
}

impl ClassIndex for i64 {
    fn index(self) -> i128 {
        self as i128
    }
}

/// The class of row `row`'s target `t`, or a panic that names the row.
fn class_index(loss: &str, t: i128, row: usize, width: usize) -> usize {
    match usize::try_from(t) {
        Ok(c) if c < width => c,
        _ => {
            let hint = if t == -100 {
                "; PyTorch's ignore_index (-100) is not supported: leave the row out of the batch"
            } else {
                ""
            };
            panic!("{loss}: target {t} at row {row} is not a class index below {width}{hint}")
        }
    }
}

/// Softmax statistics of one row of logits: `max`, and `log Σ e^(v − max)`. When `probs`
/// is given, it receives `e^(v − max) / Σ`, so that each exponential is computed once.
fn log_sum_exp(row: &[f32], probs: Option<&mut [f32]>) -> (f32, f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum_exp = match probs {
        Some(p) => {
            let mut sum = 0.0f32;
            for (p, v) in p.iter_mut().zip(row) {
                *p = libm::expf(v - max);
                sum += *p;
            }
            let inv = 1.0 / sum;
            p.iter_mut().for_each(|p| *p *= inv);
            sum
        }
        None => row.iter().map(|v| libm::expf(v - max)).sum(),
    };
    // Log-probabilities are then formed as PyTorch's log_softmax does, `(v - max) - log_sum`:
    // adding `max` back first (`max + log_sum - v`) would round `log_sum` to the spacing of
    // floats near `max` (about 1e-3 for logits near 1e4).
    (max, libm::logf(sum_exp))
}

impl CrossEntropyLoss {
    /// The loss over class indices, one per row.
    fn hard(
        &self,
        out: &[f32],
        width: usize,
        target: &[impl ClassIndex],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        if let Err(e) = self.check() {
            panic!("{e}");
        }
        let batch = target.len();
        check_len("CrossEntropyLoss", out.len(), batch * width);
        check_terms("CrossEntropyLoss", &each, batch);
        let eps = self.label_smoothing;
        let inv_b = reduction.scale(batch);
        let off = eps / width as f32;
        let rows = (0..batch, Rows(out, width), target, Rows(grad, width), each);
        let total = row_blocks(rows, width, &|(
            is,
            Rows(out, _),
            target,
            Rows(mut grad, _),
            mut each,
        )| {
            let mut total = 0.0f32;
            for ((j, i), row) in is.enumerate().zip(out.chunks_exact(width)) {
                let class = class_index("CrossEntropyLoss", target[j].index(), i, width);
                let g = grad
                    .as_deref_mut()
                    .map(|g| &mut g[j * width..(j + 1) * width]);
                let has_grad = g.is_some();
                let (max, log_sum) = log_sum_exp(row, g);
                let nll = log_sum - (row[class] - max);
                let loss = if eps == 0.0 {
                    nll
                } else {
                    let mean_nll =
                        row.iter().map(|v| log_sum - (v - max)).sum::<f32>() / width as f32;
                    (1.0 - eps) * nll + eps * mean_nll
                };
                total += loss;
                if let Some(e) = each.as_deref_mut() {
                    e[j] = loss;
                }
                if let (true, Some(g)) = (has_grad, grad.as_deref_mut()) {
                    for (k, g) in g[j * width..(j + 1) * width].iter_mut().enumerate() {
                        let t = if k == class { 1.0 - eps + off } else { off };
                        *g = (*g - t) * inv_b;
                    }
                }
            }
            total
        });
        total * inv_b
    }

    /// The loss over class probabilities `[batch, width]`.
    fn soft(
        &self,
        out: &[f32],
        width: usize,
        target: &[f32],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        if let Err(e) = self.check() {
            panic!("{e}");
        }
        check_len("CrossEntropyLoss", out.len(), target.len());
        let batch = out.len() / width.max(1);
        check_terms("CrossEntropyLoss", &each, batch);
        let eps = self.label_smoothing;
        let inv_b = reduction.scale(batch);
        let off = eps / width as f32;
        let rows = (
            Rows(out, width),
            Rows(target, width),
            Rows(grad, width),
            each,
        );
        let total = row_blocks(rows, width, &|(
            Rows(out, _),
            Rows(target, _),
            Rows(mut grad, _),
            mut each,
        )| {
            let mut total = 0.0f32;
            let rows = out.chunks_exact(width).zip(target.chunks_exact(width));
            for (i, (row, t)) in rows.enumerate() {
                let g = grad
                    .as_deref_mut()
                    .map(|g| &mut g[i * width..(i + 1) * width]);
                let has_grad = g.is_some();
                let (max, log_sum) = log_sum_exp(row, g);
                // PyTorch: −Σ t' · logp with the smoothed target t' = (1 − ε) t + ε / C,
                // formed first, so that a class of zero probability and −∞ logit is 0 · ∞
                // (NaN) only where PyTorch's is: without smoothing.
                let mut loss = 0.0f32;
                let mut mass = 0.0f32;
                for (v, t) in row.iter().zip(t) {
                    let t_smooth = if eps == 0.0 {
                        *t
                    } else {
                        (1.0 - eps) * t + off
                    };
                    loss += t_smooth * (log_sum - (v - max));
                    mass += t;
                }
                total += loss;
                if let Some(e) = each.as_deref_mut() {
                    e[i] = loss;
                }
                if let (true, Some(g)) = (has_grad, grad.as_deref_mut()) {
                    // d/dx_k = (1 − ε)(p_k Σt − t_k) + ε (p_k − 1/C)
                    for (g, t) in g[i * width..(i + 1) * width].iter_mut().zip(t) {
                        let p = *g;
                        *g = ((1.0 - eps) * (p * mass - t) + (eps * p - off)) * inv_b;
                    }
                }
            }
            total
        });
        total * inv_b
    }
}

/// Elements (rows × classes) per thread, at least, of a loss over rows split over the pool.
const PART_MIN: usize = 1 << 14;

/// `leaf` on blocks of about [`BLOCK`] elements of whole rows of `rows` (at least one row
/// each), its sums added over a tree fixed by the number of rows and `width`: the rows over
/// the pool's threads when there are many, with the same bits on any number of threads. A
/// batch of up to `BLOCK / width` rows is one block, summed in row order.
fn row_blocks<S: Split>(rows: S, width: usize, leaf: &(impl Fn(S) -> f32 + Sync)) -> f32 {
    let width = width.max(1);
    tree_sum_by(rows, BLOCK / width, PART_MIN.div_ceil(width), leaf)
}

/// The number of rows of `out`, each `width` wide.
fn rows(out: usize, width: usize) -> usize {
    out / width.max(1)
}

/// Implements `Reducible` for flat targets of the given types through the loss's method
/// over a row of scores each: one term per row.
macro_rules! per_row {
    ($ty:ty: $($target:ty => $method:ident),* $(,)?) => {$(
        impl Reducible<[$target]> for $ty {
            fn terms(&self, out: usize, width: usize) -> usize {
                rows(out, width)
            }

            fn reduce(
                &self,
                out: &[f32],
                width: usize,
                target: &[$target],
                reduction: Reduction,
                each: Option<&mut [f32]>,
                grad: Option<&mut [f32]>,
            ) -> f32 {
                self.$method(out, width, target, reduction, each, grad)
            }
        }
    )*};
}

per_row!(CrossEntropyLoss: usize => hard, i64 => hard, f32 => soft);

impl<const K: usize> Reducible<[[f32; K]]> for CrossEntropyLoss {
    fn terms(&self, out: usize, width: usize) -> usize {
        rows(out, width)
    }

    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &[[f32; K]],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        self.soft(out, width, target.as_flattened(), reduction, each, grad)
    }
}

mean_loss!(CrossEntropyLoss: [usize], [i64], [f32]);
mean_loss!(rows CrossEntropyLoss);

/// PyTorch's `nn.NLLLoss()` on log-probabilities `[batch, classes]` (the output of a
/// network ending in `LogSoftmax`, as PyTorch's MNIST example trains) and class indices,
/// with mean reduction: the mean of `−out[i, target[i]]` (`.reduction(..)` for the others,
/// one term per row).
///
/// ```
/// use nn::loss::{Loss, NllLoss};
/// let log_probs = [-0.1, -2.3, -1.6, -0.2];
/// let mut g = [0.0; 4];
/// let l = NllLoss.loss(&log_probs, 2, &[0i64, 1][..], Some(&mut g));
/// assert!((l - 0.15).abs() < 1e-6);
/// assert_eq!(g, [-0.5, 0.0, 0.0, -0.5]);
/// ```
///
/// # Panics
/// If a class index is negative or not below the number of classes (the message names
/// the row; PyTorch's `ignore_index` is not supported, as for [`CrossEntropyLoss`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct NllLoss;

impl NllLoss {
    fn nll(
        &self,
        out: &[f32],
        width: usize,
        target: &[impl ClassIndex],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        let batch = target.len();
        check_len("NLLLoss", out.len(), batch * width);
        check_terms("NLLLoss", &each, batch);
        let inv_b = reduction.scale(batch);
        let rows = (0..batch, Rows(out, width), target, Rows(grad, width), each);
        let total = row_blocks(rows, width, &|(
            is,
            Rows(out, _),
            target,
            Rows(mut grad, _),
            mut each,
        )| {
            if let Some(g) = grad.as_deref_mut() {
                g.fill(0.0);
            }
            let mut total = 0.0f32;
            for ((j, i), row) in is.enumerate().zip(out.chunks_exact(width)) {
                let c = class_index("NLLLoss", target[j].index(), i, width);
                total -= row[c];
                if let Some(e) = each.as_deref_mut() {
                    e[j] = -row[c];
                }
                if let Some(g) = grad.as_deref_mut() {
                    g[j * width + c] = -inv_b;
                }
            }
            total
        });
        total * inv_b
    }
}

per_row!(NllLoss: usize => nll, i64 => nll);
mean_loss!(NllLoss: [usize], [i64]);
