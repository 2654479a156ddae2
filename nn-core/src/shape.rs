//! Type-level width checks for sizes the `network!` macro cannot evaluate itself
//! (const items, a user's own layer): the compiler compares them instead.

/// A layer width as a type, so that two widths can be compared by the trait system.
pub struct Features<const N: usize>;

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

#[diagnostic::do_not_recommend]
impl<const N: usize> FitsAfter<Features<N>> for Features<N> {}
