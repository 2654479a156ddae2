//! Weights in and out as safetensors files with PyTorch's state-dict names and layouts.
//!
//! A network saved here loads into PyTorch with `load_state_dict(..., strict=True)`, and
//! a file written by `safetensors.torch.save_file(model.state_dict(), ..)` loads here.
//! Loading checks every tensor before it changes anything, so a bad file leaves the
//! network as it was; saving writes a temporary file and renames it, so a failed save
//! leaves no half-written file.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::vec::Vec;

use nn_safetensors::{Dtype, File, FormatError, ReadError, MAX_HEADER};
use safetensors::tensor::TensorView;

use crate::{Buffer, BufferMut, Network};

mod state;
pub use state::{load_state, save_state};

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
    /// The file is not a valid safetensors file.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, as the safetensors reader says it.
        reason: String,
    },
    /// A tensor the network needs is not in the file.
    Missing {
        /// The file.
        path: PathBuf,
        /// The state-dict key, for example `fc1.weight`.
        tensor: String,
    },
    /// The file holds a tensor the network does not have (see [`LoadOptions`]).
    Unexpected {
        /// The file.
        path: PathBuf,
        /// The tensor's key in the file.
        tensor: String,
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
            Corrupt { path, reason } => {
                write!(f, "{}: not a valid safetensors file: {reason}", path.display())
            }
            Missing { path, tensor } => {
                write!(f, "{}: tensor `{tensor}` is missing", path.display())
            }
            Unexpected { path, tensor } => write!(
                f,
                "{}: tensor `{tensor}` is not in the network; load with `LoadOptions {{ allow_unexpected: true }}` to ignore it",
                path.display()
            ),
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

impl std::error::Error for WeightsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WeightsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// How strict [`load_with`] is.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadOptions {
    /// Ignore tensors in the file that the network does not have (PyTorch's
    /// `strict=False`, for the unexpected keys only: a missing tensor is still an error).
    pub allow_unexpected: bool,
}

/// One tensor of a network's state dict, as stored.
struct Entry {
    key: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn entries<N: Network>(net: &N) -> Vec<Entry> {
    let mut out = Vec::new();
    net.named_state(&mut |layer, name, shape, value| {
        let (dtype, bytes) = match value {
            Buffer::F32(v) => (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            // PyTorch counts in int64; a count above i64::MAX cannot happen in practice and
            // saturates rather than wraps.
            Buffer::Count(c) => (
                Dtype::I64,
                i64::try_from(c).unwrap_or(i64::MAX).to_le_bytes().to_vec(),
            ),
        };
        out.push(Entry {
            key: std::format!("{layer}.{name}"),
            dtype,
            shape: shape.to_vec(),
            bytes,
        });
    });
    out
}

/// Saves `net`'s state dict (parameters and buffers, PyTorch's names) to `path` as
/// safetensors. Writes a temporary file beside it and renames it into place, so `path`
/// is never left half-written.
///
/// What it replaces:
/// - a new path becomes a regular file with the default permissions;
/// - an existing regular file is replaced, keeping its permissions (not its owner);
/// - a symbolic link is written through: its final target is replaced as above and the
///   link keeps pointing at it (a link to a missing file is refused, as an
///   [`Io`](WeightsError::Io) error);
/// - a read-only file is refused ([`ReadOnly`](WeightsError::ReadOnly)), even where the
///   folder would allow replacing it, as by root;
/// - anything else (a directory, a device such as `/dev/full`, a FIFO, a socket) is refused
///   ([`NotAFile`](WeightsError::NotAFile)) and left as it was.
///
/// ```
/// # extern crate nn_core as nn;
/// nn_macros::network! { struct Net<fc1: Linear<3, 4>, bn: BatchNorm<4>, fc2: Linear<4, 2>> }
/// let path = std::env::temp_dir().join(format!("nn-doc-save-{}.safetensors", std::process::id()));
/// let net = Net::new(0);
/// nn::io::save(&*net, &path)?;
/// let mut other = Net::new(1);
/// nn::io::load(&mut *other, &path)?;
/// assert_eq!(other.fc1.weight, net.fc1.weight);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save<N: Network>(net: &N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    write_file(path.as_ref(), &entries(net))
}

/// Writes `entries` as a safetensors file at `path`, atomically (see [`save`]).
fn write_file(path: &Path, entries: &[Entry]) -> Result<(), WeightsError> {
    let mut views = Vec::with_capacity(entries.len());
    for e in entries {
        let dtype = match e.dtype {
            Dtype::I64 => safetensors::Dtype::I64,
            Dtype::F64 => safetensors::Dtype::F64,
            _ => safetensors::Dtype::F32,
        };
        let view = TensorView::new(dtype, e.shape.clone(), &e.bytes).map_err(|err| {
            WeightsError::Corrupt {
                path: path.to_path_buf(),
                reason: std::format!("tensor `{}`: {err}", e.key),
            }
        })?;
        views.push((e.key.as_str(), view));
    }
    let bytes = safetensors::serialize(views, None).map_err(|err| WeightsError::Corrupt {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    let (dest, keep) = destination(path)?;
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per call, so that saves from several threads never share a temporary file.
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let serial = SAVES.fetch_add(1, Ordering::Relaxed);
    let tmp = dest.with_file_name(std::format!(
        ".{file_name}.{}.{serial}.tmp",
        std::process::id()
    ));
    // Errors name the destination; those on the temporary file say which it was.
    let on_tmp = |e: std::io::Error| {
        std::io::Error::new(
            e.kind(),
            std::format!("temporary file {}: {e}", tmp.display()),
        )
    };
    let written = (|| {
        let mut f = fs::File::create_new(&tmp).map_err(on_tmp)?;
        if let Some(permissions) = keep {
            // Before any data, so that a private file's weights are never readable by others.
            f.set_permissions(permissions).map_err(on_tmp)?;
        }
        f.write_all(&bytes).map_err(on_tmp)?;
        f.sync_all().map_err(on_tmp)?;
        fs::rename(&tmp, &dest)
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(WeightsError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

/// Where [`save`] writes for `path`, and the permissions of the file it replaces (see
/// [`save`] for the rules).
fn destination(path: &Path) -> Result<(PathBuf, Option<fs::Permissions>), WeightsError> {
    let io = |source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((path.to_path_buf(), None))
        }
        Err(e) => return Err(io(e)),
    };
    let (dest, meta) = if meta.file_type().is_symlink() {
        let dest = fs::canonicalize(path).map_err(|e| {
            io(std::io::Error::new(
                e.kind(),
                std::format!("a symbolic link whose target cannot be reached: {e}"),
            ))
        })?;
        let meta = fs::metadata(&dest).map_err(io)?;
        (dest, meta)
    } else {
        (path.to_path_buf(), meta)
    };
    if !meta.is_file() {
        return Err(WeightsError::NotAFile {
            path: path.to_path_buf(),
            kind: nn_safetensors::file_kind(meta.file_type()),
        });
    }
    if meta.permissions().readonly() {
        return Err(WeightsError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    Ok((dest, Some(meta.permissions())))
}

/// Loads `path` into `net`, strictly: every tensor of the network must be in the file with
/// its shape and type, and the file may hold nothing else. On any error `net` is
/// unchanged. See [`save`] for an example.
///
/// Reads regular files only (following symbolic links): a device such as `/dev/zero`, a
/// FIFO or a directory is refused ([`NotAFile`](WeightsError::NotAFile)) before it is
/// opened. The header is checked (at most 100 MiB, sizes that add up, tensors that tile
/// the data) and the file's size compared with what it promises before any tensor data is
/// read, so a file larger than its header says costs no memory
/// ([`TrailingBytes`](WeightsError::TrailingBytes)). `#[weights]` reads files the same way.
pub fn load<N: Network>(net: &mut N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    load_with(net, path, LoadOptions::default())
}

/// [`load`], with options.
pub fn load_with<N: Network>(
    net: &mut N,
    path: impl AsRef<Path>,
    options: LoadOptions,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    load_bytes(net, &bytes, path, options)
}

/// Reads a whole safetensors file, refusing what is not a regular file (see [`load`]).
fn read_file(path: &Path) -> Result<Vec<u8>, WeightsError> {
    nn_safetensors::read(path).map_err(|e| match e {
        ReadError::Io(source) => WeightsError::Io {
            path: path.to_path_buf(),
            source,
        },
        ReadError::NotAFile { kind } => WeightsError::NotAFile {
            path: path.to_path_buf(),
            kind,
        },
        ReadError::Format(e) => format_error(path, e),
        // `ReadError` may grow; whatever it says, the file is refused.
        other => WeightsError::Corrupt {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })
}

/// [`load_with`] from bytes already in memory; `path` only names them in errors. Every
/// input is a [`WeightsError`] or a load, never a panic.
pub fn load_bytes<N: Network>(
    net: &mut N,
    bytes: &[u8],
    path: &Path,
    options: LoadOptions,
) -> Result<(), WeightsError> {
    let file = parse(bytes, path)?;
    let err_path = || path.to_path_buf();
    let expected = entries(net);
    // Check everything first, so that a bad file changes nothing.
    for e in &expected {
        let view = file.tensor(&e.key).ok_or_else(|| WeightsError::Missing {
            path: err_path(),
            tensor: e.key.clone(),
        })?;
        if view.dtype() != e.dtype {
            return Err(WeightsError::Dtype {
                path: err_path(),
                tensor: e.key.clone(),
                expected: std::format!("{:?}", e.dtype),
                found: std::format!("{:?}", view.dtype()),
            });
        }
        if e.dtype == Dtype::I64 && view.data().get(..8).is_some_and(|b| b[7] & 0x80 != 0) {
            return Err(WeightsError::Corrupt {
                path: err_path(),
                reason: std::format!("tensor `{}` holds a negative count", e.key),
            });
        }
        if view.shape() != e.shape.as_slice() {
            return Err(WeightsError::Shape {
                path: err_path(),
                tensor: e.key.clone(),
                expected: e.shape.clone(),
                found: view.shape().to_vec(),
            });
        }
    }
    if !options.allow_unexpected {
        if let Some(extra) = file.names().find(|n| !expected.iter().any(|e| e.key == *n)) {
            return Err(WeightsError::Unexpected {
                path: err_path(),
                tensor: extra.to_string(),
            });
        }
    }
    net.named_state_mut(&mut |layer, name, value| {
        let key = std::format!("{layer}.{name}");
        // Present, of the right type and shape: checked above.
        let Some(view) = file.tensor(&key) else {
            return;
        };
        match value {
            BufferMut::F32(dst) => {
                for (d, b) in dst.iter_mut().zip(view.data().chunks_exact(4)) {
                    *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            BufferMut::Count(dst) => {
                if let Ok(b) = <[u8; 8]>::try_from(view.data()) {
                    *dst = u64::try_from(i64::from_le_bytes(b)).unwrap_or(0); // negative counts were refused above
                }
            }
        }
    });
    Ok(())
}

/// Parses a safetensors file with the checks `#[weights]` makes too (`nn-safetensors`).
fn parse<'a>(bytes: &'a [u8], path: &Path) -> Result<File<'a>, WeightsError> {
    File::parse(bytes).map_err(|e| format_error(path, e))
}

/// The error for a file that is not valid safetensors.
fn format_error(path: &Path, e: FormatError) -> WeightsError {
    let path = path.to_path_buf();
    match e {
        FormatError::TooShort { found } => WeightsError::Truncated {
            path,
            expected: 8,
            found,
        },
        FormatError::HeaderTooLarge { claimed } => WeightsError::AbsurdHeader { path, claimed },
        FormatError::Truncated { expected, found } => WeightsError::Truncated {
            path,
            expected,
            found,
        },
        FormatError::TrailingBytes { expected, found } => WeightsError::TrailingBytes {
            path,
            expected,
            found,
        },
        FormatError::Header(reason) => WeightsError::Corrupt { path, reason },
        other => WeightsError::Corrupt {
            path,
            reason: other.to_string(),
        },
    }
}
