//! `Embedding<V, D>`: PyTorch's `nn.Embedding(V, D)`, a table of `V` vectors of `D` features
//! looked up by index.

use core::fmt;

use crate::{Backward, Layer, Rng};

/// The value of `Embedding`'s `PAD` when it has no padding index.
pub const NO_PADDING: usize = usize::MAX;

/// A lookup table of `V` vectors of `D` features, as PyTorch's `nn.Embedding(V, D)`, over
/// `L` indices per sample (a sequence of tokens): each index `i` becomes row `i` of
/// `weight`. With `PAD` below `V`, row `PAD` is PyTorch's `padding_idx`: zero at
/// initialisation and never trained (its gradient is zero), though it can be set.
///
/// In `network!`: `Embedding<V, D>` (one index per sample), `Embedding<V, D, L>`, and
/// `Embedding<V, D, L, padding_idx = P>`.
///
/// # Indices
/// The input is `f32`, as every layer's: index `i` is the value `i as f32`, exact for every
/// index below 2^24 (a vocabulary of 16 million). A value that is not a whole number in
/// `0..V` (negative, fractional, NaN, `V` or more) is refused with a panic naming it and
/// its position, as PyTorch raises `IndexError`: an index out of range is a bug in the data
/// pipeline, and a zero vector in its place would hide it.
///
/// The input has no gradient (PyTorch's indices are integers); backward writes zeros where
/// asked for one.
///
/// # Shapes
/// - input `[batch, L]`, indices; output `[batch, L · D]` (PyTorch's `[batch, L, D]`)
/// - `weight`: `[V, D]`, row-major (PyTorch's layout)
///
/// Initialised as PyTorch does: `weight` standard normal, the padding row zero.
///
/// ```
/// use nn::{Embedding, Layer, Rng};
/// let mut emb: Embedding<5, 2, 3, 0> = nn::Zeroable::zeroed();
/// emb.init(&mut Rng::seed(0));
/// assert_eq!(emb.weight[0], [0.0, 0.0]); // the padding row
/// emb.weight[3] = [1.5, -2.0];
/// let mut y = [0.0; 6];
/// emb.forward(&[3.0, 0.0, 3.0], &mut y);
/// assert_eq!(y, [1.5, -2.0, 0.0, 0.0, 1.5, -2.0]);
/// ```
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct Embedding<
    const V: usize,
    const D: usize,
    const L: usize = 1,
    const PAD: usize = NO_PADDING,
> {
    /// `[V, D]`: row `i` is index `i`'s vector.
    pub weight: [[f32; D]; V],
}

// SAFETY: the field is an `f32` array, and all-zero bits are the valid value 0.0.
unsafe impl<const V: usize, const D: usize, const L: usize, const PAD: usize> bytemuck::Zeroable
    for Embedding<V, D, L, PAD>
{
}

clone_in_place!(Embedding<const V: usize, const D: usize, const L: usize, const PAD: usize> {
    weight
});

impl<const V: usize, const D: usize, const L: usize, const PAD: usize> Embedding<V, D, L, PAD> {
    /// Refuses a padding index outside the table at compile time.
    const PAD_FITS: () = assert!(
        PAD == NO_PADDING || PAD < V,
        "Embedding's padding index must be below its number of rows"
    );

    /// The row of the index at `position` of a sample, `value`; see the type's docs.
    fn row(value: f32, position: usize) -> usize {
        let i = value as usize;
        if !(value >= 0.0 && i < V && i as f32 == value) {
            panic!(
                "Embedding<{V}, {D}>: the index at position {position} is {value}, which is not \
                 a whole number in 0..{V}"
            );
        }
        i
    }
}

#[diagnostic::do_not_recommend]
impl<const V: usize, const D: usize, const L: usize, const PAD: usize> Layer
    for Embedding<V, D, L, PAD>
{
    const IN: usize = L;
    const OUT: usize = L * D;
    const PARAMS: usize = V * D;

    fn describe(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Embedding<{V}, {D}")?;
        if L != 1 || PAD != NO_PADDING {
            write!(f, ", {L}")?;
        }
        if PAD != NO_PADDING {
            write!(f, ", padding_idx = {PAD}")?;
        }
        f.write_str(">")
    }

    fn init(&mut self, rng: &mut Rng) {
        let () = Self::PAD_FITS;
        for w in self.weight.as_flattened_mut() {
            *w = rng.randn();
        }
        if PAD < V {
            self.weight[PAD] = [0.0; D];
        }
    }

    /// # Panics
    /// On an index that is not a whole number in `0..V`.
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let () = Self::PAD_FITS;
        for (l, (v, y)) in x[..L].iter().zip(y.chunks_exact_mut(D)).enumerate() {
            y.copy_from_slice(&self.weight[Self::row(*v, l)]);
        }
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        let rows = io.x[..io.batch * L].iter().zip(io.dy.chunks_exact(D));
        for (l, (v, dy)) in rows.enumerate() {
            let i = Self::row(*v, l % L.max(1));
            if i == PAD {
                continue;
            }
            for (g, d) in grad[i * D..(i + 1) * D].iter_mut().zip(dy) {
                *g += d;
            }
        }
        if let Some(dx) = dx {
            dx[..io.batch * L].fill(0.0);
        }
    }

    fn visit_params(&self, f: &mut crate::layer::ParamVisitor<'_>) {
        f("weight", &[V, D], self.weight.as_flattened());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        f("weight", self.weight.as_flattened_mut());
    }
}
