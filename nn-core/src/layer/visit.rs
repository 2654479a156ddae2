//! The callbacks through which a layer shows its parameters and buffers, and the buffers
//! themselves.

#[cfg(doc)]
use crate::Layer;
use crate::Path;

/// The callback of [`Layer::visit_params`]: `f(name, shape, values)`.
pub type ParamVisitor<'a> = dyn FnMut(&'static str, &[usize], &[f32]) + 'a;

/// The callback of [`Layer::walk_params`]: `f(module, name, shape, values)`; the module's
/// path and the name joined by a dot give PyTorch's state-dict key (`enc.0.weight`).
pub type NetworkParamVisitor<'a> = dyn FnMut(&Path<'_>, &str, &[usize], &[f32]) + 'a;

/// The callback of [`Layer::walk_state`]: `f(module, name, shape, value)`.
pub type StateVisitor<'a> = dyn FnMut(&Path<'_>, &str, &[usize], Buffer<'_>) + 'a;

/// The callback of [`Layer::walk_state_mut`]: `f(module, name, value)`.
pub type StateVisitorMut<'a> = dyn FnMut(&Path<'_>, &str, BufferMut<'_>) + 'a;

/// A buffer: state that is saved with the weights but not trained, as PyTorch's
/// `register_buffer` (batch norm's running statistics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Buffer<'a> {
    /// `f32` values.
    F32(&'a [f32]),
    /// A counter, stored as PyTorch's `int64` scalar.
    Count(u64),
}

/// A buffer, mutably.
#[derive(Debug)]
pub enum BufferMut<'a> {
    /// `f32` values.
    F32(&'a mut [f32]),
    /// A counter, stored as PyTorch's `int64` scalar.
    Count(&'a mut u64),
}

/// The callback of [`Layer::visit_buffers`]: `f(name, shape, buffer)`.
pub type BufferVisitor<'a> = dyn FnMut(&'static str, &[usize], Buffer<'_>) + 'a;
