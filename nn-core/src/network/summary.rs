//! A torchinfo-style table of a network's layers, output shapes, parameter counts and
//! multiply-adds.

use core::fmt::{self, Write as _};
use core::marker::PhantomData;

use crate::{LayerInfo, Network};

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

/// Every layer of `layers` at any depth, with its depth, in order: a nested network's
/// layers follow it, one level deeper.
fn for_each_row(
    layers: &'static [LayerInfo],
    depth: usize,
    f: &mut dyn FnMut(&LayerInfo, usize) -> fmt::Result,
) -> fmt::Result {
    for l in layers {
        f(l, depth)?;
        for_each_row(l.children, depth + 1, f)?;
    }
    Ok(())
}

/// A row's first cell: indented by depth, `name: kind`, or the kind alone for an
/// unnamed layer.
fn row_name(l: &LayerInfo, depth: usize) -> Cell<96> {
    let indent = 2 + 2 * depth;
    if l.name.is_empty() {
        Cell::of(format_args!("{:indent$}{}", "", l.kind()))
    } else {
        Cell::of(format_args!("{:indent$}{}: {}", "", l.name, l.kind()))
    }
}

/// `[batch, c, h, w]` for an image, else `[batch, features]`.
fn shape(image: Option<[usize; 3]>, features: usize) -> Cell<32> {
    match image {
        Some([c, h, w]) => Cell::of(format_args!("[batch, {c}, {h}, {w}]")),
        None => Cell::of(format_args!("[batch, {features}]")),
    }
}

impl<N: Network> fmt::Display for Summary<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first column fits the longest layer, so that long names keep the columns aligned.
        let mut first = 40;
        for_each_row(N::LAYERS, 0, &mut |l, depth| {
            first = first.max(row_name(l, depth).as_str().chars().count() + 2);
            Ok(())
        })?;
        let width = first + 48;
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
            "{:<first$}{:<20}{:>14}{:>14}",
            "Layer (type)", "Output Shape", "Param #", "Mult-Adds"
        )?;
        rule(f, '=')?;
        writeln!(f)?;
        writeln!(f, "{:<first$}{:<20}{:>14}{:>14}", N::NAME, "", "", "")?;
        for_each_row(N::LAYERS, 0, &mut |l, depth| {
            let name = row_name(l, depth);
            let shape = shape(l.image, l.outputs);
            writeln!(
                f,
                "{:<first$}{:<20}{:>14}{:>14}",
                name.as_str(),
                shape.as_str(),
                Thousands(l.params),
                Thousands(l.macs)
            )
        })?;
        rule(f, '=')?;
        writeln!(f)?;
        // A network written as code states its image input in its forward's signature, not
        // in `#[input]`: its layer's image is the one to show.
        let input = shape(N::INPUT_IMAGE.or(N::IN_IMAGE), N::IN);
        let output = shape(N::OUT_IMAGE, N::OUT);
        writeln!(f, "Input: {}   Output: {}", input.as_str(), output.as_str())?;
        writeln!(f, "Total params: {}", Thousands(N::PARAMS))?;
        writeln!(f, "Trainable params: {}", Thousands(N::PARAMS))?;
        writeln!(f, "Total mult-adds (one sample): {}", Thousands(N::MACS))?;
        let kib = N::PARAMS * 4 / 1024;
        writeln!(f, "Params size: {} KiB (f32)", Thousands(kib))?;
        rule(f, '-')
    }
}
