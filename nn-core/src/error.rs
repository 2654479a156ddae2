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

/// An optimizer or loss setting that it cannot run with: a negative learning rate,
/// Nesterov momentum without momentum, label smoothing outside `[0, 1]`, any NaN.
///
/// The builders (`Sgd::new(lr).nesterov(true).momentum(0.9)`) accept settings in any
/// order and check nothing; the settings are checked together by `check()` (for example
/// [`Sgd::check`](crate::optim::Sgd::check)), which `step` and `loss` call first, panicking
/// with this error's message. Call `check()` after building to get it as a value.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum SettingError {
    /// A number out of its range.
    OutOfRange {
        /// What it belongs to: `Sgd`, `Adam`, `CrossEntropyLoss`.
        owner: &'static str,
        /// The setting, as the builder method names it: `lr`, `momentum`, `betas.0`.
        setting: &'static str,
        /// Its value.
        value: f32,
        /// The range it must lie in, as text: `>= 0`, `in [0, 1)`.
        range: &'static str,
    },
    /// Nesterov momentum without momentum, or with dampening (as in PyTorch).
    Nesterov {
        /// The momentum set.
        momentum: f32,
        /// The dampening set.
        dampening: f32,
    },
}

/// The range a setting must lie in; NaN lies in none.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug)]
pub(crate) enum Range {
    /// `>= 0`.
    AtLeast0,
    /// `> 0`.
    Positive,
    /// `in [0, 1]`.
    Closed01,
    /// `in [0, 1)`.
    ClosedOpen01,
    /// `in (0, 1)`.
    Open01,
    /// `in (0, 1]`.
    OpenClosed01,
    /// Any number but NaN.
    Number,
}

#[cfg(feature = "alloc")]
impl Range {
    /// Whether `v`, not NaN, lies in the range.
    fn holds(self, v: f32) -> bool {
        match self {
            Range::AtLeast0 => v >= 0.0,
            Range::Positive => v > 0.0,
            Range::Closed01 => (0.0..=1.0).contains(&v),
            Range::ClosedOpen01 => (0.0..1.0).contains(&v),
            Range::Open01 => v > 0.0 && v < 1.0,
            Range::OpenClosed01 => v > 0.0 && v <= 1.0,
            Range::Number => true,
        }
    }

    /// The range as an error message writes it.
    fn text(self) -> &'static str {
        match self {
            Range::AtLeast0 => ">= 0",
            Range::Positive => "> 0",
            Range::Closed01 => "in [0, 1]",
            Range::ClosedOpen01 => "in [0, 1)",
            Range::Open01 => "in (0, 1)",
            Range::OpenClosed01 => "in (0, 1]",
            Range::Number => "a number",
        }
    }
}

impl SettingError {
    /// `Ok` when every `(setting, value, range)` of `owner` holds, else the error of the
    /// first that does not, in the order given.
    #[cfg(feature = "alloc")]
    pub(crate) fn check_all(
        owner: &'static str,
        settings: &[(&'static str, f32, Range)],
    ) -> Result<(), SettingError> {
        for &(setting, value, range) in settings {
            if value.is_nan() || !range.holds(value) {
                return Err(SettingError::OutOfRange {
                    owner,
                    setting,
                    value,
                    range: range.text(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingError::OutOfRange {
                owner,
                setting,
                value,
                range,
            } => write!(f, "{owner}: `{setting}` is {value}, but it must be {range}"),
            SettingError::Nesterov {
                momentum,
                dampening,
            } => write!(
                f,
                "Sgd: nesterov momentum requires a momentum above 0 and zero dampening, \
                 but momentum is {momentum} and dampening {dampening}; set `.momentum(..)` \
                 (in any order) or turn nesterov off"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SettingError {}
