//! `Flatten<N>`: PyTorch's `nn.Flatten()`.

/// PyTorch's `nn.Flatten()`, between image layers and [`crate::Linear`]: a sample is
/// already flat here (`[C, H, W]` stored channel by channel, each row-major, which is the
/// order in which PyTorch's `Flatten` lays it out), so it passes its `N` values through
/// unchanged. It states in the network where PyTorch's would stand, so that the two read
/// alike and state dicts number their layers the same.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn::{Flatten, Layer};
/// let mut y = [0.0; 4];
/// Flatten::<4>.forward(&[1.0, 2.0, 3.0, 4.0], &mut y); // one 2×2 channel
/// assert_eq!(y, [1.0, 2.0, 3.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

identity_layer!(Flatten, "Flatten");
