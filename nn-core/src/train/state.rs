//! Training state as named tensors: what a checkpoint holds besides the weights.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::{Buffer, BufferMut, Network};

/// The values of a [`StateTensor`], in one of the three element types a checkpoint uses.
#[derive(Clone, Debug, PartialEq)]
pub enum StateValue {
    /// Weights, gradients' moments, buffers.
    F32(Vec<f32>),
    /// Values PyTorch keeps as Python floats: a schedule's learning rate and best metric.
    F64(Vec<f64>),
    /// Counters and indices, PyTorch's `int64`.
    I64(Vec<i64>),
}

impl StateValue {
    /// The element type's name in a safetensors header: `F32`, `F64` or `I64`.
    pub fn dtype(&self) -> &'static str {
        match self {
            StateValue::F32(_) => "F32",
            StateValue::F64(_) => "F64",
            StateValue::I64(_) => "I64",
        }
    }

    fn len(&self) -> usize {
        match self {
            StateValue::F32(v) => v.len(),
            StateValue::F64(v) => v.len(),
            StateValue::I64(v) => v.len(),
        }
    }
}

/// One named tensor of a [`StateDict`]: its shape (`[]` for a scalar) and values.
#[derive(Clone, Debug, PartialEq)]
pub struct StateTensor {
    /// The shape, row-major; empty for a scalar.
    pub shape: Vec<usize>,
    /// The values, as many as the shape holds.
    pub value: StateValue,
}

/// Why a [`StateDict`] could not be loaded into a network, an optimizer, a schedule or a
/// data loader. Each variant names where the state came from (the file, for a checkpoint
/// read by `nn::io::load_state`) and the tensor; nothing was changed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StateError {
    /// A tensor the object needs is not there.
    Missing {
        /// Where the state came from.
        origin: String,
        /// The tensor's name, for example `fc1.weight.exp_avg`.
        tensor: String,
    },
    /// A tensor has another shape.
    Shape {
        /// Where the state came from.
        origin: String,
        /// The tensor's name.
        tensor: String,
        /// The shape the object needs.
        expected: Vec<usize>,
        /// The shape it has.
        found: Vec<usize>,
    },
    /// A tensor has another element type.
    Dtype {
        /// Where the state came from.
        origin: String,
        /// The tensor's name.
        tensor: String,
        /// The type the object needs.
        expected: &'static str,
        /// The type it has.
        found: &'static str,
    },
    /// A tensor's value is not one the object can take: a negative count, an order that
    /// is not a permutation, a position past the end of an epoch.
    Invalid {
        /// Where the state came from.
        origin: String,
        /// The tensor's name.
        tensor: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Missing { origin, tensor } => {
                write!(f, "{origin}: tensor `{tensor}` is missing")
            }
            StateError::Shape {
                origin,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "{origin}: tensor `{tensor}` has shape {found:?}, but {expected:?} is needed"
            ),
            StateError::Dtype {
                origin,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "{origin}: tensor `{tensor}` has type {found}, but {expected} is needed"
            ),
            StateError::Invalid {
                origin,
                tensor,
                reason,
            } => write!(f, "{origin}: tensor `{tensor}` {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StateError {}

/// Named tensors of training state in insertion order: PyTorch's `state_dict()` of a
/// model, an optimizer, a schedule and a data loader gathered into one, as a checkpoint
/// holds them. `nn::io::save_state` writes one as a safetensors file and
/// `nn::io::load_state` reads it back.
///
/// Names mirror the model's: a network's tensors keep their state-dict keys
/// (`fc1.weight`), an optimizer's per-parameter state follows its parameter's key
/// (`fc1.weight.momentum_buffer`, `fc1.weight.exp_avg`) and its scalars start with
/// `optimizer.` (`optimizer.step`), a schedule's with `scheduler.`, a data loader's with
/// `loader.`.
///
/// ```
/// use nn::optim::{Optimizer, Sgd};
/// nn::network! { struct Net<fc1: Linear<2, 2>> }
/// let (mut net, mut grads) = (Net::new(0), nn::Gradients::<Net>::new());
/// grads.as_mut_slice().fill(0.5);
/// let mut opt = Sgd::new(0.1).momentum(0.9);
/// opt.step(&mut *net, &grads);
///
/// let mut state = nn::StateDict::new();
/// state.add_network(&*net);
/// opt.save_state(&*net, &mut state);
/// assert!(state.get("fc1.weight.momentum_buffer").is_some());
///
/// let (mut net2, mut opt2) = (Net::new(1), Sgd::new(0.1).momentum(0.9));
/// state.load_network(&mut *net2)?;
/// opt2.load_state(&*net2, &state)?;
/// assert_eq!(net2.fc1.weight, net.fc1.weight);
/// # Ok::<(), nn::StateError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateDict {
    entries: Vec<(String, StateTensor)>,
    /// Each name's place in `entries`: a checkpoint of many tensors is filled and read
    /// by name without a search through the list.
    index: BTreeMap<String, usize>,
    origin: String,
}

impl StateDict {
    /// An empty state dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty state dict whose errors name `origin` (a file's path) as their source.
    pub fn with_origin(origin: impl Into<String>) -> Self {
        StateDict {
            origin: origin.into(),
            ..Self::default()
        }
    }

    /// Where the state came from, as errors name it: a file's path, or `state dict`.
    pub fn origin(&self) -> &str {
        if self.origin.is_empty() {
            "state dict"
        } else {
            &self.origin
        }
    }

    /// Tensors held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each name with its tensor, in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &StateTensor)> {
        self.entries.iter().map(|(k, t)| (k.as_str(), t))
    }

    /// The tensor called `key`.
    pub fn get(&self, key: &str) -> Option<&StateTensor> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Adds `tensor` as `key`, replacing a tensor of that name.
    ///
    /// # Panics
    /// When the values are not as many as the shape holds.
    pub fn insert(&mut self, key: impl Into<String>, tensor: StateTensor) {
        let key = key.into();
        let numel: usize = tensor.shape.iter().product();
        assert_eq!(
            numel,
            tensor.value.len(),
            "StateDict::insert: `{key}` has shape {:?} but {} values",
            tensor.shape,
            tensor.value.len()
        );
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = tensor,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, tensor));
            }
        }
    }

    /// Adds `values` of `shape` as `key`.
    pub fn insert_f32(&mut self, key: impl Into<String>, shape: &[usize], values: &[f32]) {
        let value = StateValue::F32(values.to_vec());
        self.insert(
            key,
            StateTensor {
                shape: shape.to_vec(),
                value,
            },
        );
    }

    /// Adds an `int64` scalar.
    pub fn insert_i64(&mut self, key: impl Into<String>, value: i64) {
        let value = StateValue::I64(alloc::vec![value]);
        self.insert(
            key,
            StateTensor {
                shape: Vec::new(),
                value,
            },
        );
    }

    /// Adds a double-precision scalar.
    pub fn insert_f64(&mut self, key: impl Into<String>, value: f64) {
        let value = StateValue::F64(alloc::vec![value]);
        self.insert(
            key,
            StateTensor {
                shape: Vec::new(),
                value,
            },
        );
    }

    /// The tensor `key`, checked for presence and shape.
    fn checked(&self, key: &str, shape: &[usize]) -> Result<&StateTensor, StateError> {
        let t = self.get(key).ok_or_else(|| StateError::Missing {
            origin: self.origin().to_string(),
            tensor: key.to_string(),
        })?;
        if t.shape != shape {
            return Err(StateError::Shape {
                origin: self.origin().to_string(),
                tensor: key.to_string(),
                expected: shape.to_vec(),
                found: t.shape.clone(),
            });
        }
        Ok(t)
    }

    fn dtype_error(&self, key: &str, expected: &'static str, t: &StateTensor) -> StateError {
        StateError::Dtype {
            origin: self.origin().to_string(),
            tensor: key.to_string(),
            expected,
            found: t.value.dtype(),
        }
    }

    /// The `F32` tensor `key` of `shape`.
    pub fn f32s(&self, key: &str, shape: &[usize]) -> Result<&[f32], StateError> {
        let t = self.checked(key, shape)?;
        match &t.value {
            StateValue::F32(v) => Ok(v),
            _ => Err(self.dtype_error(key, "F32", t)),
        }
    }

    /// The `I64` tensor `key` of `shape`.
    pub fn i64s(&self, key: &str, shape: &[usize]) -> Result<&[i64], StateError> {
        let t = self.checked(key, shape)?;
        match &t.value {
            StateValue::I64(v) => Ok(v),
            _ => Err(self.dtype_error(key, "I64", t)),
        }
    }

    /// The `I64` scalar `key`.
    pub fn i64(&self, key: &str) -> Result<i64, StateError> {
        Ok(self.i64s(key, &[])?[0])
    }

    /// The `I64` scalar `key` as a count: refused when negative.
    pub fn count(&self, key: &str) -> Result<u64, StateError> {
        let v = self.i64(key)?;
        u64::try_from(v).map_err(|_| self.invalid(key, format!("holds {v}, a negative count")))
    }

    /// The `F64` scalar `key`.
    pub fn f64(&self, key: &str) -> Result<f64, StateError> {
        let t = self.checked(key, &[])?;
        match &t.value {
            StateValue::F64(v) => Ok(v[0]),
            _ => Err(self.dtype_error(key, "F64", t)),
        }
    }

    /// The `F32` scalar `key`.
    pub fn f32(&self, key: &str) -> Result<f32, StateError> {
        Ok(self.f32s(key, &[])?[0])
    }

    /// An [`StateError::Invalid`] for tensor `key`.
    pub fn invalid(&self, key: &str, reason: impl Into<String>) -> StateError {
        StateError::Invalid {
            origin: self.origin().to_string(),
            tensor: key.to_string(),
            reason: reason.into(),
        }
    }

    /// Adds `net`'s state dict (parameters and buffers, PyTorch's keys and shapes; counts
    /// as `int64` scalars), as `nn::io::save` writes it, and where the network draws at
    /// random in training (dropout, `randn_like`) its streams' seeds and steps under
    /// `generator.streams` (`[streams, 2]`, `int64`), which no state dict has.
    pub fn add_network<N: Network>(&mut self, net: &N) {
        net.named_state(&mut |module, name, shape, value| {
            let key = format!("{module}.{name}");
            match value {
                Buffer::F32(v) => self.insert_f32(key, shape, v),
                // PyTorch counts in int64; a count past i64::MAX saturates.
                Buffer::Count(c) => self.insert_i64(key, i64::try_from(c).unwrap_or(i64::MAX)),
            }
        });
        let mut streams = Vec::new();
        net.walk_streams(&mut |seed, step| streams.extend([seed as i64, step as i64]));
        if !streams.is_empty() {
            let shape = [streams.len() / 2, 2];
            self.insert(
                STREAMS,
                StateTensor {
                    shape: shape.to_vec(),
                    value: StateValue::I64(streams),
                },
            );
        }
    }

    /// Loads `net`'s state dict from the tensors of the same names; other tensors (an
    /// optimizer's, a schedule's) are left alone. Every tensor is checked before any
    /// changes, so on an error `net` is as it was.
    pub fn load_network<N: Network>(&self, net: &mut N) -> Result<(), StateError> {
        let mut check = Ok(());
        net.named_state(&mut |module, name, shape, value| {
            if check.is_err() {
                return;
            }
            let key = format!("{module}.{name}");
            check = match value {
                Buffer::F32(_) => self.f32s(&key, shape).map(drop),
                Buffer::Count(_) => self.count(&key).map(drop),
            };
        });
        check?;
        let mut count = 0;
        net.walk_streams(&mut |_, _| count += 1);
        let streams = if count > 0 {
            Some(self.i64s(STREAMS, &[count, 2])?.to_vec())
        } else {
            None
        };
        if let Some(s) = streams {
            let mut pairs = s.chunks_exact(2);
            net.walk_streams_mut(&mut |seed, step| {
                if let Some(p) = pairs.next() {
                    // The bits as saved: a seed past `i64::MAX` was stored wrapped.
                    (*seed, *step) = (p[0] as u64, p[1] as u64);
                }
            });
        }
        net.named_state_mut(&mut |module, name, value| {
            let key = format!("{module}.{name}");
            match value {
                BufferMut::F32(dst) => {
                    if let Some(StateTensor {
                        value: StateValue::F32(v),
                        ..
                    }) = self.get(&key)
                    {
                        dst.copy_from_slice(v);
                    }
                }
                BufferMut::Count(dst) => {
                    if let Ok(c) = self.count(&key) {
                        *dst = c;
                    }
                }
            }
        });
        Ok(())
    }
}

/// The key of a network's random streams in a checkpoint (see [`crate::Layer::walk_streams`]).
const STREAMS: &str = "generator.streams";

/// Calls `f(key, values)` for each parameter of `net` with its slice of `flat` (a vector
/// as long as all parameters, in [`Network::named_params`] order): how optimizers name
/// their per-parameter state after the model's keys.
pub(crate) fn named_param_ranges<N: Network>(
    net: &N,
    flat: usize,
    mut f: impl FnMut(String, &[usize], core::ops::Range<usize>),
) {
    let mut offset = 0;
    net.named_params(&mut |module, name, shape, values| {
        let range = offset..offset + values.len();
        offset = range.end;
        f(format!("{module}.{name}"), shape, range);
    });
    debug_assert_eq!(offset, flat);
}
