//! Training, outside the model: the tape of a training step and its gradients (`tape`),
//! losses (`loss`), optimizers and schedules (`optim`), the named state a checkpoint
//! holds besides the weights (`state`), and classification metrics (`metrics`).

pub mod metrics;

#[cfg(feature = "alloc")]
pub mod loss;
#[cfg(feature = "alloc")]
pub mod optim;
#[cfg(feature = "alloc")]
mod state;
#[cfg(feature = "alloc")]
mod tape;

#[cfg(feature = "alloc")]
pub(crate) use state::named_param_ranges;
#[cfg(feature = "alloc")]
pub use state::{StateDict, StateError, StateTensor, StateValue};
#[cfg(feature = "alloc")]
pub use tape::{Gradients, Tape};
