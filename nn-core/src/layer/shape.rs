//! Type-level width checks for sizes the `network!` macro cannot evaluate itself
//! (const items, a user's own layer): the compiler compares them instead.

/// A layer width as a type, so that two widths can be compared by the trait system.
pub struct Features<const N: usize>;

/// An image shape as a type, channels × height × width, so that two shapes can be compared
/// by the trait system and a mismatch reads in image terms.
pub struct Image<const C: usize, const H: usize, const W: usize>;

/// Holds when a layer expecting `Self` inputs may follow a layer producing `Prev`.
#[diagnostic::on_unimplemented(
    message = "layer size mismatch: this layer takes `{Self}` but the layer before it produces `{Prev}`",
    label = "this layer's input size differs from the output size of the layer before it",
    note = "a layer's input size must equal the output size of the layer before it; change one of the two sizes"
)]
pub trait FitsAfter<Prev> {
    /// Naming this constant is the check: `<Features<A> as FitsAfter<Features<B>>>::OK`.
    const OK: () = ();
}

/// Type equality, behind [`FitsAfter`] and [`KeepsWidth`]: routing their one impl through it
/// keeps rustc from appending "but `FitsAfter<Features<16>>` is implemented" to a size
/// mismatch, which says nothing the message does not.
#[doc(hidden)]
pub trait Same<T> {}
#[doc(hidden)]
impl<T> Same<T> for T {}

#[doc(hidden)]
#[diagnostic::do_not_recommend]
impl<A: Same<B>, B> FitsAfter<B> for A {}

/// Holds when a residual block producing `Self` keeps the width `In` it takes, so that
/// its output can be added to its input.
#[diagnostic::on_unimplemented(
    message = "a residual block must keep its width: its block takes `{In}` but produces `{Self}`",
    label = "the block's output is added to its input, so it must produce as many features as it takes",
    note = "end the block with a layer whose output size is the block's input size"
)]
pub trait KeepsWidth<In> {
    /// Naming this constant is the check: `<Features<OUT> as KeepsWidth<Features<IN>>>::OK`.
    const OK: () = ();
}

#[doc(hidden)]
#[diagnostic::do_not_recommend]
impl<A: Same<B>, B> KeepsWidth<B> for A {}
