//! What a network knows about one of its layers without an instance: [`LayerInfo`].

use core::fmt;

#[cfg(doc)]
use crate::Layer;

/// What a network knows about one of its layers, without an instance.
#[derive(Clone, Copy)]
pub struct LayerInfo {
    /// The layer's name: the field name, or its index in an unnamed network. It is the
    /// prefix of its parameters' names (`fc1.weight`, `0.weight`). Empty for a layer
    /// without state left unnamed in a named network (PyTorch's `F.relu`).
    pub name: &'static str,
    /// Input features per sample.
    pub inputs: usize,
    /// Output features per sample.
    pub outputs: usize,
    /// Trainable numbers.
    pub params: usize,
    /// Multiply-adds of one sample ([`Layer::MACS`]).
    pub macs: usize,
    /// Writes the layer as declared ([`Layer::describe`]).
    pub describe: fn(&mut fmt::Formatter<'_>) -> fmt::Result,
    /// Floats of training cache for a batch ([`Layer::cache_len`]).
    pub cache_len: fn(usize) -> usize,
    /// The output's image shape `[channels, height, width]`, in a network of images
    /// (`#[input(C, H, W)]`) up to its `Flatten`; `None` for flat features.
    pub image: Option<[usize; 3]>,
    /// The layers inside this one ([`Layer::LAYERS`]): a nested network's or a residual
    /// block's.
    pub children: &'static [LayerInfo],
    /// A nested network's forward written as code ([`Layer::FORWARD`]); `None` for a chain
    /// or a plain layer.
    pub forward: Option<&'static super::Forward>,
}

impl LayerInfo {
    /// Floats of cache the layer's training pass needs for `batch` rows.
    pub fn cache_len_for(&self, batch: usize) -> usize {
        (self.cache_len)(batch)
    }

    /// The layer as declared, for example `Linear<784, 128>`.
    pub fn kind(&self) -> impl fmt::Display + '_ {
        struct Kind(fn(&mut fmt::Formatter<'_>) -> fmt::Result);
        impl fmt::Display for Kind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                (self.0)(f)
            }
        }
        Kind(self.describe)
    }
}

impl fmt::Debug for LayerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.kind())
    }
}
