//! Losses with PyTorch's definitions. Each computes its value and, when asked, its
//! gradient with respect to the network's output, averaged over the terms as PyTorch's
//! default `reduction='mean'`; `loss.reduction(Reduction::Sum)` (or `None`) sums them or
//! leaves them apart instead ([`Reduced`]).

mod bce;
mod class;
mod elementwise;
mod reduction;
mod terms;

pub use bce::BceLoss;
pub use class::{CrossEntropyLoss, NllLoss};
pub use elementwise::{BceWithLogitsLoss, L1Loss, MseLoss, SmoothL1Loss};
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
        impl $crate::train::loss::terms::ElementLoss for $ty {
            #[inline(always)]
            fn term(&self, $o: f32, $t: f32) -> (f32, f32) {
                let $s = self;
                $body
            }
        }
        $crate::train::loss::elementwise_loss!($ty, $name);
    };
    // A loss whose `ElementLoss` is written apart (one that refuses some elements).
    ($ty:ty, $name:literal) => {
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
                each: Option<&mut [f32]>,
                grad: Option<&mut [f32]>,
            ) -> f32 {
                $crate::train::loss::check_len($name, out.len(), target.len());
                $crate::train::loss::check_terms($name, &each, out.len());
                let n = out.len();
                let grad = grad.map(|g| {
                    assert!(g.len() >= n, "{}: {n} outputs, but room for {} gradients", $name, g.len());
                    &mut g[..n]
                });
                let scale = reduction.scale(out.len());
                let sum = $crate::train::loss::terms::sum_terms(self, out, target, scale, each, grad);
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
