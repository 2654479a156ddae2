//! Losses with PyTorch's definitions. Each computes its value and, when asked, its
//! gradient with respect to the network's output, averaged over the terms as PyTorch's
//! default `reduction='mean'`; `loss.reduction(Reduction::Sum)` (or `None`) sums them or
//! leaves them apart instead ([`Reduced`]).

mod bce;
mod reduction;

pub use bce::BceLoss;
pub use reduction::{Reduced, Reducible, Reduction};

/// A loss over a network's output `[batch, width]` and targets of type `T`.
pub trait Loss<T: ?Sized> {
    /// The mean loss of `out` against `target`. When `grad` is given, writes the
    /// gradient of that mean with respect to `out` into it (same length as `out`).
    ///
    /// Panics when `target`'s length does not fit `out`: batch sizes are run-time values.
    fn loss(&self, out: &[f32], width: usize, target: &T, grad: Option<&mut [f32]>) -> f32;

    /// [`Loss::loss`] on typed rows, as `predict` returns them: `out` is `[batch, K]`, and
    /// `grad`, when given, receives the gradient in the same rows.
    ///
    /// ```
    /// use nn::loss::{CrossEntropyLoss, Loss};
    /// let out = vec![[0.0f32, 0.0], [1.0, -1.0]];
    /// let mut grad = vec![[0.0f32; 2]; 2];
    /// let l = CrossEntropyLoss::default().loss_rows(&out, &[1usize, 0][..], Some(&mut grad));
    /// assert_eq!(l, CrossEntropyLoss::default().loss(out.as_flattened(), 2, &[1usize, 0][..], None));
    /// assert!(grad[0][1] < 0.0);
    /// ```
    fn loss_rows<const K: usize>(
        &self,
        out: &[[f32; K]],
        target: &T,
        grad: Option<&mut [[f32; K]]>,
    ) -> f32
    where
        Self: Sized,
    {
        self.loss(
            out.as_flattened(),
            K,
            target,
            grad.map(|g| g.as_flattened_mut()),
        )
    }
}

/// A target that fits the output of network `N`: rows as wide as its output
/// (`[[f32; OUT]]`, which `network!` implements for each network), class indices
/// (`[usize]`, `[i64]`), or flat values (`[f32]`, whose length is checked when the loss
/// runs), in a slice, a `Vec` or an array. [`Tape::loss`](crate::Tape::loss) takes only
/// these, so rows of another width are a compile error.
///
/// ```
/// nn::network! { struct Net<Linear<4, 2>> }
/// let mut net = Net::new(0);
/// let mut tape = nn::Tape::new();
/// net.forward_train(&[[0.5; 4]; 3], &mut tape).unwrap();
/// let rows = [[1.0f32, 0.0]; 3]; // as wide as the output: `[[1.0f32; 3]; 3]` would not compile
/// let mse = tape.loss(&nn::loss::MseLoss, &rows);
/// let ce = tape.loss(&nn::loss::CrossEntropyLoss::default(), &[0usize, 1, 1]);
/// assert!(mse > 0.0 && ce > 0.0);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not fit the output of `{N}`",
    label = "a target of rows must be as wide as the network's output",
    note = "a target holds one row per sample, as wide as the network's output (`OUT`), \
            or one class index per sample (`usize` or `i64`)"
)]
pub trait Target<N: ?Sized> {}

impl<N: ?Sized> Target<N> for [f32] {}
impl<N: ?Sized> Target<N> for [usize] {}
impl<N: ?Sized> Target<N> for [i64] {}
impl<N: ?Sized, T> Target<N> for alloc::vec::Vec<T> where [T]: Target<N> {}
impl<N: ?Sized, T, const B: usize> Target<N> for [T; B] where [T]: Target<N> {}

/// Targets in a `Vec` are their slice's: `tape.loss(&loss, &labels)` with a `Vec<usize>`.
impl<T, L: Loss<[T]>> Loss<alloc::vec::Vec<T>> for L {
    fn loss(
        &self,
        out: &[f32],
        width: usize,
        target: &alloc::vec::Vec<T>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        Loss::<[T]>::loss(self, out, width, target.as_slice(), grad)
    }
}

/// Targets in an array are their slice's: `tape.loss(&loss, &[3usize, 1])`.
impl<T, L: Loss<[T]>, const B: usize> Loss<[T; B]> for L {
    fn loss(&self, out: &[f32], width: usize, target: &[T; B], grad: Option<&mut [f32]>) -> f32 {
        Loss::<[T]>::loss(self, out, width, target.as_slice(), grad)
    }
}

fn check_len(loss: &str, out: usize, target: usize) {
    assert!(
        out == target,
        "{loss}: the output has {out} values but the target has {target}"
    );
}

/// Implements `Loss` (the mean) for the given target types from the type's
/// [`Reducible`] implementation.
macro_rules! mean_loss {
    (rows $ty:ty) => {
        impl<const K: usize> Loss<[[f32; K]]> for $ty {
            fn loss(&self, out: &[f32], width: usize, target: &[[f32; K]], grad: Option<&mut [f32]>) -> f32 {
                self.reduce(out, width, target, Reduction::Mean, None, grad)
            }
        }
    };
    ($ty:ty: $($target:ty),+) => {
        $(impl Loss<$target> for $ty {
            fn loss(&self, out: &[f32], width: usize, target: &$target, grad: Option<&mut [f32]>) -> f32 {
                self.reduce(out, width, target, Reduction::Mean, None, grad)
            }
        })+
    };
}
pub(crate) use mean_loss;

/// Implements `Reducible` and `Loss` for flat and row targets from a per-element function
/// that returns `(loss, d loss / d out)`.
macro_rules! elementwise_loss {
    ($ty:ty, $name:literal, |$s:ident, $o:ident, $t:ident| $body:expr) => {
        impl Reducible<[f32]> for $ty {
            fn terms(&self, out: usize, _width: usize) -> usize {
                out
            }

            fn reduce(
                &self,
                out: &[f32],
                _width: usize,
                target: &[f32],
                reduction: Reduction,
                mut each: Option<&mut [f32]>,
                grad: Option<&mut [f32]>,
            ) -> f32 {
                $crate::train::loss::check_len($name, out.len(), target.len());
                $crate::train::loss::check_terms($name, &each, out.len());
                let $s = self;
                let scale = reduction.scale(out.len());
                let mut sum = 0.0f32;
                match grad {
                    Some(grad) => {
                        for (i, ((g, $o), $t)) in grad.iter_mut().zip(out).zip(target).enumerate() {
                            let ($o, $t) = (*$o, *$t);
                            let (l, d) = $body;
                            sum += l;
                            *g = d * scale;
                            if let Some(e) = each.as_deref_mut() {
                                e[i] = l;
                            }
                        }
                    }
                    None => {
                        for (i, ($o, $t)) in out.iter().zip(target).enumerate() {
                            let ($o, $t) = (*$o, *$t);
                            let l = $body.0;
                            sum += l;
                            if let Some(e) = each.as_deref_mut() {
                                e[i] = l;
                            }
                        }
                    }
                }
                sum * scale
            }
        }
        impl<const K: usize> Reducible<[[f32; K]]> for $ty {
            fn terms(&self, out: usize, width: usize) -> usize {
                Reducible::<[f32]>::terms(self, out, width)
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
                let flat = target.as_flattened();
                Reducible::<[f32]>::reduce(self, out, width, flat, reduction, each, grad)
            }
        }
        $crate::train::loss::mean_loss!($ty: [f32]);
        $crate::train::loss::mean_loss!(rows $ty);
    };
}
pub(crate) use elementwise_loss;

/// Panics unless `each`, when given, holds `terms` values.
pub(crate) fn check_terms(loss: &str, each: &Option<&mut [f32]>, terms: usize) {
    if let Some(e) = each {
        assert!(
            e.len() == terms,
            "{loss}: {terms} unreduced losses, but room for {}",
            e.len()
        );
    }
}

/// PyTorch's `nn.MSELoss()`: the mean of `(out - target)²`.
///
/// ```
/// use nn::loss::{Loss, MseLoss};
/// let mut g = [0.0; 2];
/// let l = MseLoss.loss(&[1.0, 3.0], 2, &[0.0, 1.0][..], Some(&mut g));
/// assert_eq!(l, 2.5);
/// assert_eq!(g, [1.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MseLoss;
elementwise_loss!(MseLoss, "MSELoss", |_s, o, t| {
    let d = o - t;
    (d * d, 2.0 * d)
});

/// PyTorch's `nn.L1Loss()`: the mean of `|out - target|`.
///
/// ```
/// use nn::loss::{L1Loss, Loss};
/// assert_eq!(L1Loss.loss(&[1.0, 3.0], 2, &[0.0, 1.0][..], None), 1.5);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct L1Loss;
elementwise_loss!(L1Loss, "L1Loss", |_s, o, t| l1(o - t));

/// `|d|` and PyTorch's gradient of it: the sign of `d`, 0 at 0 and at NaN.
#[inline]
fn l1(d: f32) -> (f32, f32) {
    let sign = if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    };
    (d.abs(), sign)
}

/// PyTorch's `nn.SmoothL1Loss(beta)`: quadratic below `beta`, linear above.
///
/// ```
/// use nn::loss::{Loss, SmoothL1Loss};
/// let l = SmoothL1Loss::default().loss(&[0.5, 3.0], 2, &[0.0, 0.0][..], None);
/// assert_eq!(l, (0.125 + 2.5) / 2.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SmoothL1Loss {
    /// Where the loss turns from quadratic to linear; PyTorch's default is 1.
    pub beta: f32,
}
impl Default for SmoothL1Loss {
    fn default() -> Self {
        SmoothL1Loss { beta: 1.0 }
    }
}
elementwise_loss!(SmoothL1Loss, "SmoothL1Loss", |s, o, t| {
    let (d, beta) = (o - t, s.beta);
    if beta == 0.0 {
        // PyTorch's L1 loss, which it runs for beta 0 (0 / 0 would make NaN at d = 0).
        l1(d)
    } else {
        let z = d.abs();
        let l = if z < beta {
            0.5 * d * d / beta
        } else {
            z - 0.5 * beta
        };
        // PyTorch's branches, in its order: a NaN `d` falls through to `d / beta`, NaN.
        let g = if d < -beta {
            -1.0
        } else if d > beta {
            1.0
        } else {
            d / beta
        };
        (l, g)
    }
});

/// PyTorch's `nn.BCEWithLogitsLoss()`: binary cross-entropy on logits, computed in
/// PyTorch's stable form `(1 − t) x − log σ(x)`, with `log σ(x) = min(x, 0) −
/// log(1 + e^−|x|)`, so that infinite logits give what PyTorch gives (`∞` for `x = ∞`,
/// `t = 0`; NaN for `x = −∞`, `t = 1`, where `0 · ∞` is NaN).
///
/// ```
/// use nn::loss::{BceWithLogitsLoss, Loss};
/// let l = BceWithLogitsLoss.loss(&[0.0], 1, &[1.0][..], None);
/// assert!((l - 2f32.ln()).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BceWithLogitsLoss;
elementwise_loss!(BceWithLogitsLoss, "BCEWithLogitsLoss", |_s, x, t| {
    let log_sigmoid = x.min(0.0) - libm::log1pf(libm::expf(-x.abs()));
    let l = (1.0 - t) * x - log_sigmoid;
    let sigmoid = if x >= 0.0 {
        1.0 / (1.0 + libm::expf(-x))
    } else {
        let e = libm::expf(x);
        e / (1.0 + e)
    };
    (l, sigmoid - t)
});

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
trait ClassIndex: Copy {
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
        mut each: Option<&mut [f32]>,
        mut grad: Option<&mut [f32]>,
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
        let mut total = 0.0f32;
        for (i, row) in out.chunks_exact(width).enumerate() {
            let class = class_index("CrossEntropyLoss", target[i].index(), i, width);
            let g = grad
                .as_deref_mut()
                .map(|g| &mut g[i * width..(i + 1) * width]);
            let has_grad = g.is_some();
            let (max, log_sum) = log_sum_exp(row, g);
            let nll = log_sum - (row[class] - max);
            let loss = if eps == 0.0 {
                nll
            } else {
                let mean_nll = row.iter().map(|v| log_sum - (v - max)).sum::<f32>() / width as f32;
                (1.0 - eps) * nll + eps * mean_nll
            };
            total += loss;
            if let Some(e) = each.as_deref_mut() {
                e[i] = loss;
            }
            if let (true, Some(g)) = (has_grad, grad.as_deref_mut()) {
                for (k, g) in g[i * width..(i + 1) * width].iter_mut().enumerate() {
                    let t = if k == class { 1.0 - eps + off } else { off };
                    *g = (*g - t) * inv_b;
                }
            }
        }
        total * inv_b
    }

    /// The loss over class probabilities `[batch, width]`.
    fn soft(
        &self,
        out: &[f32],
        width: usize,
        target: &[f32],
        reduction: Reduction,
        mut each: Option<&mut [f32]>,
        mut grad: Option<&mut [f32]>,
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
        let mut total = 0.0f32;
        let rows = out.chunks_exact(width).zip(target.chunks_exact(width));
        for (i, (row, t)) in rows.enumerate() {
            let g = grad
                .as_deref_mut()
                .map(|g| &mut g[i * width..(i + 1) * width]);
            let has_grad = g.is_some();
            let (max, log_sum) = log_sum_exp(row, g);
            // PyTorch: −Σ t' · logp with the smoothed target t' = (1 − ε) t + ε / C, formed
            // first, so that a class of zero probability and −∞ logit is 0 · ∞ (NaN) only
            // where PyTorch's is: without smoothing.
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
        total * inv_b
    }
}

/// The number of rows of `out`, each `width` wide.
fn rows(out: usize, width: usize) -> usize {
    out / width.max(1)
}

impl Reducible<[usize]> for CrossEntropyLoss {
    fn terms(&self, out: usize, width: usize) -> usize {
        rows(out, width)
    }

    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &[usize],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        self.hard(out, width, target, reduction, each, grad)
    }
}

impl Reducible<[i64]> for CrossEntropyLoss {
    fn terms(&self, out: usize, width: usize) -> usize {
        rows(out, width)
    }

    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &[i64],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        self.hard(out, width, target, reduction, each, grad)
    }
}

impl Reducible<[f32]> for CrossEntropyLoss {
    fn terms(&self, out: usize, width: usize) -> usize {
        rows(out, width)
    }

    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &[f32],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        self.soft(out, width, target, reduction, each, grad)
    }
}

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
        mut each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        let batch = target.len();
        check_len("NLLLoss", out.len(), batch * width);
        check_terms("NLLLoss", &each, batch);
        let inv_b = reduction.scale(batch);
        let mut grad = grad;
        if let Some(g) = grad.as_deref_mut() {
            g.fill(0.0);
        }
        let mut total = 0.0f32;
        for (i, row) in out.chunks_exact(width).enumerate() {
            let c = class_index("NLLLoss", target[i].index(), i, width);
            total -= row[c];
            if let Some(e) = each.as_deref_mut() {
                e[i] = -row[c];
            }
            if let Some(g) = grad.as_deref_mut() {
                g[i * width + c] = -inv_b;
            }
        }
        total * inv_b
    }
}

impl Reducible<[usize]> for NllLoss {
    fn terms(&self, out: usize, width: usize) -> usize {
        rows(out, width)
    }

    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &[usize],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        self.nll(out, width, target, reduction, each, grad)
    }
}

impl Reducible<[i64]> for NllLoss {
    fn terms(&self, out: usize, width: usize) -> usize {
        rows(out, width)
    }

    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &[i64],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        self.nll(out, width, target, reduction, each, grad)
    }
}

mean_loss!(NllLoss: [usize], [i64]);
