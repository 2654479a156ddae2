//! `ResidualAdd<N>`: the end of a residual block, where the block's input is added back.

/// The end of a residual block (`Residual<...>` in `network!`): its own pass is the
/// identity; the network adds the block's input to its output, and in the backward pass
/// sends its output gradient both into the block and around it, to the block's input.
///
/// # Shapes
/// input `[batch, N]`, output `[batch, N]`; no parameters.
///
/// ```
/// use nn_core::{Layer, ResidualAdd};
/// let mut y = [0.0; 2];
/// ResidualAdd::<2>.forward(&[1.0, 2.0], &mut y); // the network then adds the block's input
/// assert_eq!(y, [1.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResidualAdd<const N: usize>;

identity_layer!(ResidualAdd, "+ block input");
