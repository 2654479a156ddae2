//! PyTorch's `reduction='mean' | 'sum' | 'none'`, for every loss of this module.
//!
//! A loss computes its terms (one per element, or one per row for [`CrossEntropyLoss`] and
//! [`NllLoss`]) and their gradients once, in [`Reducible::reduce`]; the reduction only
//! scales them. `Mean` is what [`Loss::loss`] has always computed, with the same bits.

use alloc::vec;
use alloc::vec::Vec;

use super::{
    BceLoss, BceWithLogitsLoss, CrossEntropyLoss, L1Loss, Loss, MseLoss, NllLoss, SmoothL1Loss,
};

/// How a loss combines its terms, as PyTorch's `reduction` argument.
///
/// - `Mean` (the default): their mean, as every loss computes when used directly.
/// - `Sum`: their sum.
/// - `None`: each term apart, PyTorch's `reduction='none'`: [`Reduced::losses`] returns
///   them. Training on them is PyTorch's `loss.backward(torch.ones_like(loss))`, which is
///   the gradient of their sum, so [`Loss::loss`] (and [`Tape::loss`](crate::Tape::loss))
///   returns their sum and its gradient.
///
/// ```
/// use nn::loss::{Loss, MseLoss, Reduction};
/// let (out, target) = ([1.0, 3.0], [0.0, 1.0]);
/// assert_eq!(MseLoss.reduction(Reduction::Mean).loss(&out, 2, &target[..], None), 2.5);
/// assert_eq!(MseLoss.reduction(Reduction::Sum).loss(&out, 2, &target[..], None), 5.0);
/// assert_eq!(MseLoss.reduction(Reduction::None).losses(&out, 2, &target[..], None), [1.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// The mean of the terms: PyTorch's default, `reduction='mean'`.
    #[default]
    Mean,
    /// The sum of the terms: `reduction='sum'`.
    Sum,
    /// The terms apart: `reduction='none'`.
    None,
}

impl Reduction {
    /// What each term and its gradient are multiplied by, over `terms` terms: for `Mean`
    /// the same `1 / n` the losses always used, so that the mean keeps its bits.
    pub(crate) fn scale(self, terms: usize) -> f32 {
        match self {
            Reduction::Mean => 1.0 / terms.max(1) as f32,
            Reduction::Sum | Reduction::None => 1.0,
        }
    }
}

/// A loss whose terms can be averaged, summed or kept apart: every loss of this module,
/// for each target type it takes. [`Reduced`] uses it; [`Loss::loss`] is its `Mean`.
///
/// ```
/// use nn::loss::{L1Loss, Reducible, Reduction};
/// let mut each = [0.0; 2];
/// let mut grad = [0.0; 2];
/// let sum = L1Loss.reduce(&[1.0, -3.0], 2, &[0.0, 0.0][..], Reduction::Sum, Some(&mut each), Some(&mut grad));
/// assert_eq!((sum, each, grad), (4.0, [1.0, 3.0], [1.0, -1.0]));
/// assert_eq!(Reducible::<[f32]>::terms(&L1Loss, 2, 2), 2);
/// ```
pub trait Reducible<T: ?Sized> {
    /// How many terms an output of `out` values in rows of `width` has: `out` for a loss
    /// of each element, `out / width` for a loss of each row.
    fn terms(&self, out: usize, width: usize) -> usize;

    /// The loss of `out` against `target` under `reduction` (for `None`, the sum of the
    /// terms). When `each` is given (of [`Reducible::terms`] values), it receives the
    /// terms; when `grad` is given (as long as `out`), the gradient of the returned value
    /// with respect to `out`.
    ///
    /// Panics when `target` does not fit `out`, or `each` has room for another number of
    /// terms.
    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &T,
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32;
}

/// Targets in a `Vec` are their slice's.
impl<T, L: Reducible<[T]>> Reducible<Vec<T>> for L {
    fn terms(&self, out: usize, width: usize) -> usize {
        Reducible::<[T]>::terms(self, out, width)
    }

    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &Vec<T>,
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        Reducible::<[T]>::reduce(self, out, width, target, reduction, each, grad)
    }
}

/// Targets in an array are their slice's.
impl<T, L: Reducible<[T]>, const B: usize> Reducible<[T; B]> for L {
    fn terms(&self, out: usize, width: usize) -> usize {
        Reducible::<[T]>::terms(self, out, width)
    }

    fn reduce(
        &self,
        out: &[f32],
        width: usize,
        target: &[T; B],
        reduction: Reduction,
        each: Option<&mut [f32]>,
        grad: Option<&mut [f32]>,
    ) -> f32 {
        Reducible::<[T]>::reduce(self, out, width, target, reduction, each, grad)
    }
}

/// A loss with a reduction other than its default mean: what `loss.reduction(..)` returns,
/// as PyTorch's `nn.MSELoss(reduction='sum')`. It is a [`Loss`] for the same targets as
/// the loss it wraps, so [`Tape::loss`](crate::Tape::loss) trains on it.
///
/// ```
/// use nn::loss::{CrossEntropyLoss, Loss, Reduction};
/// let ce = CrossEntropyLoss::default().reduction(Reduction::None);
/// let logits = [0.0, 0.0, 2.0, 0.0];
/// let per_row = ce.losses(&logits, 2, &[1usize, 0][..], None);
/// assert_eq!(per_row.len(), 2);
/// assert!((per_row[0] - 2f32.ln()).abs() < 1e-6);
/// // Training on 'none' is `loss.backward(ones)`: the sum and its gradient.
/// assert_eq!(ce.loss(&logits, 2, &[1usize, 0][..], None), per_row[0] + per_row[1]);
/// assert_eq!(ce.reduction(), Reduction::None);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Reduced<L> {
    loss: L,
    reduction: Reduction,
}

impl<L> Reduced<L> {
    /// `loss` under `reduction`; `loss.reduction(reduction)` says the same.
    ///
    /// ```
    /// use nn::loss::{Loss, MseLoss, Reduced, Reduction};
    /// let sum = Reduced::new(MseLoss, Reduction::Sum);
    /// assert_eq!(sum.loss(&[1.0, 3.0], 2, &[0.0, 1.0][..], None), 5.0);
    /// ```
    pub const fn new(loss: L, reduction: Reduction) -> Self {
        Reduced { loss, reduction }
    }

    /// The reduction.
    ///
    /// ```
    /// use nn::loss::{L1Loss, Reduction};
    /// assert_eq!(L1Loss.reduction(Reduction::Sum).reduction(), Reduction::Sum);
    /// ```
    pub const fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// The loss it reduces.
    ///
    /// ```
    /// use nn::loss::{Reduction, SmoothL1Loss};
    /// let l = SmoothL1Loss { beta: 0.5 }.reduction(Reduction::Sum);
    /// assert_eq!(l.inner().beta, 0.5);
    /// ```
    pub const fn inner(&self) -> &L {
        &self.loss
    }

    /// Each term of the loss apart, PyTorch's output under `reduction='none'`: one per
    /// element of `out`, or one per row for [`CrossEntropyLoss`] and [`NllLoss`]. When
    /// `grad` is given, it receives the gradient of this loss's reduction (for `None`,
    /// that of `loss.backward(ones)`, the sum's).
    ///
    /// ```
    /// use nn::loss::{BceLoss, Reduction};
    /// let terms = BceLoss.reduction(Reduction::None).losses(&[0.5, 0.0], 1, &[1.0, 1.0][..], None);
    /// assert!((terms[0] - 2f32.ln()).abs() < 1e-6);
    /// assert_eq!(terms[1], 100.0); // log 0 is clamped to -100, as in PyTorch
    /// ```
    pub fn losses<T: ?Sized>(
        &self,
        out: &[f32],
        width: usize,
        target: &T,
        grad: Option<&mut [f32]>,
    ) -> Vec<f32>
    where
        L: Reducible<T>,
    {
        let mut each = vec![0.0; self.loss.terms(out.len(), width)];
        self.loss
            .reduce(out, width, target, self.reduction, Some(&mut each), grad);
        each
    }
}

macro_rules! reduced_loss {
    ($($target:ty),+) => {
        $(impl<L: Reducible<$target>> Loss<$target> for Reduced<L> {
            fn loss(&self, out: &[f32], width: usize, target: &$target, grad: Option<&mut [f32]>) -> f32 {
                self.loss.reduce(out, width, target, self.reduction, None, grad)
            }
        })+
    };
}
reduced_loss!([f32], [usize], [i64]);

impl<L: Reducible<[[f32; K]]>, const K: usize> Loss<[[f32; K]]> for Reduced<L> {
    fn loss(
        &self,
        out: &[f32],
        width: usize,
        target: &[[f32; K]],
        grad: Option<&mut [f32]>,
    ) -> f32 {
        self.loss
            .reduce(out, width, target, self.reduction, None, grad)
    }
}

/// `loss.reduction(r)` on each loss, as PyTorch's `reduction=` argument.
macro_rules! with_reduction {
    ($($ty:ident),+) => {
        $(impl $ty {
            /// This loss under `reduction`: PyTorch's `reduction='sum'` or `'none'`
            /// (`Reduction::Mean` is the loss itself). See [`Reduction`].
            ///
            /// ```
            /// use nn::loss::{Loss, MseLoss, Reduction};
            /// let sum = MseLoss.reduction(Reduction::Sum);
            /// assert_eq!(sum.loss(&[1.0, 3.0], 2, &[0.0, 1.0][..], None), 5.0);
            /// ```
            pub const fn reduction(self, reduction: Reduction) -> Reduced<Self> {
                Reduced::new(self, reduction)
            }
        })+
    };
}
with_reduction!(
    MseLoss,
    L1Loss,
    SmoothL1Loss,
    BceWithLogitsLoss,
    BceLoss,
    CrossEntropyLoss,
    NllLoss
);
