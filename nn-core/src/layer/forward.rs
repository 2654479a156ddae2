//! A forward written as code, as a table of its operations ([`Forward`]): what a tool that
//! reads a network without running it follows (the int8 quantiser, which folds, calibrates
//! and quantises each value of it).

use super::LayerInfo;

/// A network's forward written as code (`fn forward(x: Image<3, 32, 32>) -> out { .. }`),
/// its operations in the order the body runs them. [`crate::Layer::FORWARD`] of such a
/// network; a chain has none.
///
/// ```
/// use nn::{ForwardOp, Layer};
/// nn::network! {
///     struct Block {
///         fc: Linear<4, 4>,
///     }
///     fn forward(x: Features<4>) -> out {
///         relu(x + self.fc(x))
///     }
/// }
/// let f = Block::FORWARD.unwrap();
/// let ops: Vec<String> = f.nodes.iter().map(|n| match n.op {
///     ForwardOp::Input => "input".to_string(),
///     ForwardOp::Call { layer, arg } => format!("{} {}({arg})", layer.name, layer.kind()),
///     ForwardOp::Add(a, b) => format!("{a} + {b}"),
///     _ => "other".to_string(),
/// }).collect();
/// assert_eq!(ops, ["input", "fc Linear<4, 4>(0)", "0 + 1", " ReLU(2)"]);
/// assert_eq!(f.outputs, [3]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Forward {
    /// How many values the body makes (each operation makes one).
    pub values: usize,
    /// Every operation, in the order the body runs them.
    pub nodes: &'static [ForwardNode],
    /// The values returned, in order.
    pub outputs: &'static [usize],
}

/// One operation of a [`Forward`] and the value it makes.
#[derive(Clone, Copy, Debug)]
pub struct ForwardNode {
    /// The value made, an index below [`Forward::values`].
    pub out: usize,
    /// What makes it.
    pub op: ForwardOp,
}

/// What an operation of a [`Forward`] does; values are named by their index.
#[derive(Clone, Copy, Debug)]
pub enum ForwardOp {
    /// One of the forward's inputs, in the order of its parameters.
    Input,
    /// A layer called on a value: a field of the network (its name is the field's, the
    /// prefix of its state's names), or a function that is a layer without state (`relu`,
    /// whose name is empty).
    Call {
        /// The layer, as a network's table shows it ([`crate::Layer::LAYERS`]).
        layer: LayerInfo,
        /// The value it reads.
        arg: usize,
    },
    /// `a + b`, elementwise.
    Add(usize, usize),
    /// `a − b`, elementwise.
    Sub(usize, usize),
    /// `a · b`, elementwise.
    Mul(usize, usize),
    /// A value seen with another shape, the same numbers (`flatten`).
    View(usize),
    /// Another operation (a number times a value, a concatenation, a chunk).
    Other,
}
