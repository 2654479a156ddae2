//! The trait the `network!` macro implements, and the summary table.

use core::fmt::{self, Write as _};
use core::marker::PhantomData;

use crate::layer::{Buffer, BufferMut};
#[cfg(feature = "alloc")]
use crate::{tape::TapeBuffers, TrainError};

/// The callback of [`Network::visit_params`]: `f(layer, name, shape, values)`.
pub type NetworkParamVisitor<'a> = dyn FnMut(&'static str, &'static str, &[usize], &[f32]) + 'a;

/// The callback of [`Network::visit_state`]: `f(layer, name, shape, value)`.
pub type StateVisitor<'a> = dyn FnMut(&'static str, &'static str, &[usize], Buffer<'_>) + 'a;

/// The callback of [`Network::visit_state_mut`]: `f(layer, name, value)`.
pub type StateVisitorMut<'a> = dyn FnMut(&'static str, &'static str, BufferMut<'_>) + 'a;

/// What a network knows about one of its layers, without an instance.
#[derive(Clone, Copy)]
pub struct LayerInfo {
    /// The layer's name: the field name, or its index in an unnamed network. It is the
    /// prefix of its parameters' names (`fc1.weight`, `0.weight`).
    pub name: &'static str,
    /// Input features per sample.
    pub inputs: usize,
    /// Output features per sample.
    pub outputs: usize,
    /// Trainable numbers.
    pub params: usize,
    /// Writes the layer as declared ([`Layer::describe`](crate::Layer::describe)).
    pub describe: fn(&mut fmt::Formatter<'_>) -> fmt::Result,
    /// Floats of training cache for a batch ([`Layer::cache_len`](crate::Layer::cache_len)).
    pub cache_len: fn(usize) -> usize,
    /// The output's image shape `[channels, height, width]`, in a network of images
    /// (`#[input(C, H, W)]`) up to its `Flatten`; `None` for flat features.
    pub image: Option<[usize; 3]>,
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

/// A network declared with `network!`. The macro implements it; generic code (the
/// optimizers, [`crate::Tape`], the summary) works through it.
///
/// The `__` methods are the flat-slice machinery behind the typed methods the macro
/// generates; call those instead.
pub trait Network: bytemuck::Zeroable + Sized {
    /// Input features per sample.
    const IN: usize;
    /// Output features per sample.
    const OUT: usize;
    /// Trainable numbers in all layers.
    const PARAMS: usize;
    /// The struct's name.
    const NAME: &'static str;
    /// Every layer, in order.
    const LAYERS: &'static [LayerInfo];
    /// The input's image shape `[channels, height, width]` when declared with
    /// `#[input(C, H, W)]`.
    const INPUT_IMAGE: Option<[usize; 3]> = None;

    /// Sets every parameter to PyTorch's default initialisation, drawn from `seed`.
    fn init(&mut self, seed: u64);

    /// Calls `f(layer, name, shape, values)` for each parameter in a fixed order: layer
    /// by layer, and within a layer in [`Layer::visit_params`](crate::Layer::visit_params) order. `layer` and `name`
    /// joined by a dot give PyTorch's state-dict key (`fc1.weight`).
    fn visit_params(&self, f: &mut NetworkParamVisitor<'_>);

    /// Calls `f` with each parameter's values, mutably, in the order of
    /// [`Network::visit_params`].
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut [f32]));

    /// Calls `f` with every tensor of PyTorch's `state_dict()` in its order: per layer,
    /// the parameters, then the buffers. Parameters come as [`Buffer::F32`].
    fn visit_state(&self, f: &mut StateVisitor<'_>);

    /// Calls `f` with every tensor of the state dict, mutably, in the order of
    /// [`Network::visit_state`].
    fn visit_state_mut(&mut self, f: &mut StateVisitorMut<'_>);

    /// One-sample inference over flat slices: `x` has `IN` values, `y` gets `OUT`.
    fn forward_slice(&self, x: &[f32], y: &mut [f32]);

    #[cfg(feature = "alloc")]
    #[doc(hidden)]
    fn __forward_batch(&self, x: &[f32], t: &mut TapeBuffers);

    #[cfg(feature = "alloc")]
    #[doc(hidden)]
    fn __forward_train(&mut self, x: &[f32], t: &mut TapeBuffers) -> Result<(), TrainError>;

    #[cfg(feature = "alloc")]
    #[doc(hidden)]
    fn __backward(&self, x: &[f32], t: &mut TapeBuffers, grads: &mut [f32]);
}

/// A torchinfo-style table of a network's layers, output shapes and parameter counts.
/// Made by the generated `summary()`; print it with `{}`.
pub struct Summary<N>(PhantomData<fn() -> N>);

impl<N> Summary<N> {
    /// The summary of network `N`.
    pub const fn new() -> Self {
        Summary(PhantomData)
    }
}

impl<N> Default for Summary<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes `n` with thousands separators.
struct Thousands(usize);
impl fmt::Display for Thousands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 32];
        let mut len = 0;
        let mut n = self.0;
        let mut digits = 0;
        loop {
            if digits > 0 && digits % 3 == 0 {
                buf[len] = b',';
                len += 1;
            }
            buf[len] = b'0' + (n % 10) as u8;
            len += 1;
            digits += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        buf[..len].reverse();
        let s = core::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?;
        f.pad(s)
    }
}

/// Writes its contents into a fixed buffer so that the result can be padded to a width.
struct Cell<const CAP: usize> {
    buf: [u8; CAP],
    len: usize,
}
impl<const CAP: usize> Cell<CAP> {
    fn of(args: fmt::Arguments<'_>) -> Self {
        let mut c = Cell {
            buf: [0; CAP],
            len: 0,
        };
        // A cell too long for the buffer is cut; the table stays readable.
        let _ = fmt::write(&mut c, args);
        c
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}
impl<const CAP: usize> fmt::Write for Cell<CAP> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for ch in s.chars() {
            let mut tmp = [0u8; 4];
            let bytes = ch.encode_utf8(&mut tmp).as_bytes();
            if self.len + bytes.len() > CAP {
                return Err(fmt::Error);
            }
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        }
        Ok(())
    }
}

impl<N: Network> fmt::Display for Summary<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_of = |l: &LayerInfo| Cell::<64>::of(format_args!("  {}: {}", l.name, l.kind()));
        // The first column fits the longest layer, so that long names keep the columns aligned.
        let first = N::LAYERS
            .iter()
            .map(|l| name_of(l).as_str().chars().count() + 2)
            .fold(40, usize::max);
        let width = first + 34;
        let rule = |f: &mut fmt::Formatter<'_>, c: char| -> fmt::Result {
            for _ in 0..width {
                f.write_char(c)?;
            }
            Ok(())
        };
        rule(f, '=')?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<first$}{:<20}{:>14}",
            "Layer (type)", "Output Shape", "Param #"
        )?;
        rule(f, '=')?;
        writeln!(f)?;
        writeln!(f, "{:<first$}{:<20}{:>14}", N::NAME, "", "")?;
        for l in N::LAYERS {
            let name = name_of(l);
            let shape = match l.image {
                Some([c, h, w]) => Cell::<32>::of(format_args!("[batch, {c}, {h}, {w}]")),
                None => Cell::<32>::of(format_args!("[batch, {}]", l.outputs)),
            };
            writeln!(
                f,
                "{:<first$}{:<20}{:>14}",
                name.as_str(),
                shape.as_str(),
                Thousands(l.params)
            )?;
        }
        rule(f, '=')?;
        writeln!(f)?;
        match N::INPUT_IMAGE {
            Some([c, h, w]) => writeln!(
                f,
                "Input: [batch, {c}, {h}, {w}]   Output: [batch, {}]",
                N::OUT
            )?,
            None => writeln!(f, "Input: [batch, {}]   Output: [batch, {}]", N::IN, N::OUT)?,
        }
        writeln!(f, "Total params: {}", Thousands(N::PARAMS))?;
        writeln!(f, "Trainable params: {}", Thousands(N::PARAMS))?;
        let kib = N::PARAMS * 4 / 1024;
        writeln!(f, "Params size: {} KiB (f32)", Thousands(kib))?;
        rule(f, '-')
    }
}
