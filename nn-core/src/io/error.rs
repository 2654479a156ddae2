//! [`WeightsError`]: why a state dict could not be saved or loaded, in words that name
//! the file, the tensor and what was expected of it.

use std::fmt;
use std::path::PathBuf;
use std::string::{String, ToString};
use std::vec::Vec;

use nn_safetensors::MAX_HEADER;
#[cfg(doc)]
use nn_safetensors::MAX_TENSORS;

#[cfg(doc)]
use super::{load, save, LoadOptions};

/// Why weights could not be saved or loaded. Every variant names the file, and where a
/// tensor is at fault, the tensor and what was expected of it.
#[derive(Debug)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error from the operating system.
        source: std::io::Error,
    },
    /// The path names no regular file: a directory, a device such as `/dev/zero`, a FIFO.
    /// [`load`] reads regular files only (a device or FIFO could be read forever or
    /// block), and [`save`] replaces regular files only.
    NotAFile {
        /// The file.
        path: PathBuf,
        /// What it is instead, in words: `a character device`, `a FIFO`, `a directory`.
        kind: &'static str,
    },
    /// [`save`] refuses to replace a file that has no write permission.
    ReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// The file is longer than its header announces: bytes were appended. Refused before
    /// the data is read, so a huge file costs no memory.
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The bytes the header announces.
        expected: u64,
        /// The bytes the file has.
        found: u64,
    },
    /// The file ends before the length its header announces.
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the file should have at least.
        expected: u64,
        /// Bytes it has.
        found: u64,
    },
    /// The header announces a length no real file has.
    AbsurdHeader {
        /// The file.
        path: PathBuf,
        /// The announced header length in bytes.
        claimed: u64,
    },
    /// The header lists more than [`MAX_TENSORS`] tensors: refused while it is parsed,
    /// so that a header packed with empty tensors costs no more than that many.
    TooManyTensors {
        /// The file.
        path: PathBuf,
        /// The most tensors accepted.
        limit: usize,
    },
    /// [`save`] or [`save_state`](super::save_state) was given state that no safetensors
    /// file can hold: a tensor named `__metadata__`, two tensors of one name. Nothing was
    /// written.
    Unwritable {
        /// The file it was to be saved to.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// Why it cannot be written.
        reason: String,
    },
    /// The file is not a valid safetensors file.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, as the safetensors reader says it.
        reason: String,
    },
    /// Tensors the network needs are not in the file (a strict load; see
    /// [`LoadOptions::strict`]).
    Missing {
        /// The file.
        path: PathBuf,
        /// The first missing state-dict key, for example `fc1.weight`.
        tensor: String,
        /// The other missing keys, in state-dict order.
        others: Vec<String>,
        /// Every tensor the file holds under the prefix loaded from, sorted, as the
        /// network would name them (the prefix stripped).
        file: Vec<String>,
    },
    /// The file holds tensors the network does not have (a strict load; see
    /// [`LoadOptions::allow_unexpected`]).
    Unexpected {
        /// The file.
        path: PathBuf,
        /// The first such tensor's key in the file.
        tensor: String,
        /// The others, sorted.
        others: Vec<String>,
    },
    /// A strict load found a layer's `bias` on one side only: the file lacks it, as a file of
    /// a PyTorch layer built with `bias=False` does, and the network's layer has one; or the
    /// file holds it and the network's layer is declared `bias = false`. Either way, the
    /// network is declared otherwise than PyTorch's.
    Bias {
        /// The file.
        path: PathBuf,
        /// The bias's key, as the file names it or would: `conv1.bias`.
        tensor: String,
        /// The layer as the network declares it: `Conv2d<3, 64, 3, padding = 1>`.
        layer: String,
        /// Whether the file holds the bias (and the layer has none).
        in_file: bool,
        /// The other missing (or unexpected) keys, in state-dict order (sorted).
        others: Vec<String>,
    },
    /// A tensor has another shape than the network's.
    Shape {
        /// The file.
        path: PathBuf,
        /// The state-dict key.
        tensor: String,
        /// The network's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor has another element type than the network's.
    Dtype {
        /// The file.
        path: PathBuf,
        /// The state-dict key.
        tensor: String,
        /// The network's type (`F32`, or `I64` for counters).
        expected: String,
        /// The file's type.
        found: String,
    },
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use WeightsError::*;
        match self {
            Io { path, source } => write!(f, "{}: {source}", path.display()),
            NotAFile { path, kind } => write!(
                f,
                "{}: not a regular file but {kind}; weights files are regular files",
                path.display()
            ),
            ReadOnly { path } => write!(
                f,
                "{}: the file is read-only; make it writable to replace it, or save elsewhere",
                path.display()
            ),
            TrailingBytes { path, expected, found } => write!(
                f,
                "{}: the header announces {expected} bytes, but the file has {found}; bytes were appended past its end",
                path.display()
            ),
            Truncated {
                path,
                expected: u64::MAX,
                found,
            } => write!(
                f,
                "{}: not a safetensors file: its header's sizes add up past 2^64 bytes, the file has {found}",
                path.display()
            ),
            Truncated { path, expected, found } => write!(
                f,
                "{}: truncated: the header announces at least {expected} bytes, the file has {found}",
                path.display()
            ),
            AbsurdHeader { path, claimed } => write!(
                f,
                "{}: not a safetensors file: its header claims {claimed} bytes (at most {MAX_HEADER} accepted)",
                path.display()
            ),
            TooManyTensors { path, limit } => write!(
                f,
                "{}: not a weights file: its header lists more than {limit} tensors, the most accepted",
                path.display()
            ),
            Unwritable { path, tensor, reason } => write!(
                f,
                "{}: nothing saved: tensor `{tensor}` {reason}",
                path.display()
            ),
            Corrupt { path, reason } => {
                write!(f, "{}: not a valid safetensors file: {reason}", path.display())
            }
            Missing { path, tensor, others, file } => {
                write!(f, "{}: tensor `{tensor}` is missing", path.display())?;
                if !others.is_empty() {
                    write!(f, " (and {}: {})", others.len(), listing(others))?;
                }
                write!(f, "; the file has {}", listing(file))?;
                match stripped_prefix(tensor, file) {
                    Some(prefix) => write!(
                        f,
                        "; its names start with `{prefix}`: load with \
                         `LoadOptions::new().prefix(\"{prefix}\")`"
                    ),
                    None => write!(
                        f,
                        "; load with `LoadOptions::new().strict(false)` to keep the \
                         network's values for what the file lacks"
                    ),
                }
            }
            Unexpected { path, tensor, others } => {
                write!(f, "{}: tensor `{tensor}` is not in the network", path.display())?;
                if !others.is_empty() {
                    write!(f, " (nor are {} more: {})", others.len(), listing(others))?;
                }
                write!(
                    f,
                    "; load with `LoadOptions::new().allow_unexpected(true)` to ignore them"
                )
            }
            Bias { path, tensor, layer, in_file: false, others } => {
                write!(f, "{}: tensor `{tensor}` is missing", path.display())?;
                if !others.is_empty() {
                    write!(f, " (and {}: {})", others.len(), listing(others))?;
                }
                write!(
                    f,
                    "; the file has the layer's weight but no bias: PyTorch's layer was built \
                     without bias (`bias=False`); declare it `{}`",
                    super::bias::redeclared(layer)
                )
            }
            Bias { path, tensor, layer, in_file: true, others } => {
                write!(f, "{}: tensor `{tensor}` is not in the network", path.display())?;
                if !others.is_empty() {
                    write!(f, " (nor are {} more: {})", others.len(), listing(others))?;
                }
                write!(
                    f,
                    "; `{layer}` has no bias, but PyTorch's layer was built with one; \
                     declare it `{}`",
                    super::bias::redeclared(layer)
                )
            }
            Shape { path, tensor, expected, found } => write!(
                f,
                "{}: tensor `{tensor}` has shape {found:?}, but the network's is {expected:?}",
                path.display()
            ),
            Dtype { path, tensor, expected, found } => write!(
                f,
                "{}: tensor `{tensor}` has type {found}, but the network's is {expected}",
                path.display()
            ),
        }
    }
}

/// Up to five names in backticks, then how many more.
fn listing(names: &[String]) -> String {
    const SHOWN: usize = 5;
    if names.is_empty() {
        return "no tensors".to_string();
    }
    let shown = if names.len() > SHOWN {
        SHOWN - 1
    } else {
        names.len()
    };
    let mut out: Vec<String> = names[..shown]
        .iter()
        .map(|n| std::format!("`{n}`"))
        .collect();
    if names.len() > shown {
        out.push(std::format!("{} more", names.len() - shown));
    }
    out.join(", ")
}

/// The prefix that the file's names add to the network's, when the file holds `tensor`
/// under one (`model.` for `model.fc1.weight`): a checkpoint that wraps the network.
fn stripped_prefix<'a>(tensor: &str, file: &'a [String]) -> Option<&'a str> {
    file.iter().find_map(|k| {
        k.strip_suffix(tensor)
            .filter(|p| p.ends_with('.'))
            .filter(|p| !p.is_empty())
    })
}

impl std::error::Error for WeightsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WeightsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
