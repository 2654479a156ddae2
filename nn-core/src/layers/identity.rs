//! `Identity<N>`: PyTorch's `nn.Identity()`.

/// Passes its input through unchanged, as PyTorch's `nn.Identity()`: a placeholder, for
/// example where a configuration leaves a layer out. In `network!`: `Identity`, taking its
/// width from the layer before.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{Identity, Layer};
/// let mut y = [0.0; 2];
/// Identity::<2>.forward(&[1.5, -2.0], &mut y);
/// assert_eq!(y, [1.5, -2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity<const N: usize>;

identity_layer!(Identity, "Identity");
