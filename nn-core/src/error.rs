//! Run-time errors of a training pass.

use core::fmt;

/// Why a training forward pass cannot run on the batch it was given.
///
/// Shapes are checked at compile time; what is left to check at run time is the
/// batch's row count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrainError {
    /// The batch has no rows.
    EmptyBatch,
    /// A layer needs more than one row to compute batch statistics, as PyTorch's
    /// `BatchNorm1d` does in training mode.
    BatchTooSmall {
        /// The layer's name in its network (`2`, `bn1`); empty when a layer was run alone.
        layer: &'static str,
        /// The kind of layer, for example `BatchNorm`.
        kind: &'static str,
        /// The batch's row count.
        batch: usize,
    },
}

impl TrainError {
    /// The same error, naming the layer `name` of a network.
    pub fn in_layer(self, name: &'static str) -> Self {
        match self {
            // Inside a nested network, the innermost layer's name is the one kept.
            TrainError::BatchTooSmall {
                layer: "",
                kind,
                batch,
            } => TrainError::BatchTooSmall {
                layer: name,
                kind,
                batch,
            },
            other => other,
        }
    }
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::EmptyBatch => write!(f, "the training batch has no rows"),
            TrainError::BatchTooSmall { layer, kind, batch } => write!(
                f,
                "layer `{layer}` ({kind}) needs more than 1 value per channel when training, \
                 got a batch of {batch}; use a larger batch or drop the last incomplete one"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TrainError {}
