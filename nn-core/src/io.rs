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

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::{Buffer, BufferMut, Network};

/// The largest header accepted: far above any real network's, far below a length that
/// would make the reader allocate absurd amounts.
const MAX_HEADER: u64 = 100 * 1024 * 1024;

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
    let path = path.as_ref();
    let entries = entries(net);
    let mut views = Vec::with_capacity(entries.len());
    for e in &entries {
        let view = TensorView::new(e.dtype, e.shape.clone(), &e.bytes).map_err(|err| {
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
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per call, so that saves from several threads never share a temporary file.
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let serial = SAVES.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(std::format!(
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
        f.write_all(&bytes).map_err(on_tmp)?;
        f.sync_all().map_err(on_tmp)?;
        fs::rename(&tmp, path)
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

/// Loads `path` into `net`, strictly: every tensor of the network must be in the file with
/// its shape and type, and the file may hold nothing else. On any error `net` is
/// unchanged. See [`save`] for an example.
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
    let bytes = fs::read(path).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_bytes(net, &bytes, path, options)
}

/// [`load_with`] from bytes already in memory; `path` only names them in errors.
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
        let view = file.tensor(&e.key).map_err(|_| WeightsError::Missing {
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
        let mut names = file.names();
        names.sort_unstable();
        if let Some(extra) = names
            .into_iter()
            .find(|n| !expected.iter().any(|e| e.key == *n))
        {
            return Err(WeightsError::Unexpected {
                path: err_path(),
                tensor: extra.to_string(),
            });
        }
    }
    net.named_state_mut(&mut |layer, name, value| {
        let key = std::format!("{layer}.{name}");
        // Present, of the right type and shape: checked above.
        let Ok(view) = file.tensor(&key) else { return };
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

/// Parses a safetensors file, telling a truncated file and an absurd header apart from
/// other damage.
fn parse<'a>(bytes: &'a [u8], path: &Path) -> Result<SafeTensors<'a>, WeightsError> {
    let len = bytes.len() as u64;
    let Some(head) = bytes.get(..8) else {
        return Err(WeightsError::Truncated {
            path: path.to_path_buf(),
            expected: 8,
            found: len,
        });
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(head);
    let header = u64::from_le_bytes(n);
    if header > MAX_HEADER {
        return Err(WeightsError::AbsurdHeader {
            path: path.to_path_buf(),
            claimed: header,
        });
    }
    if 8 + header > len {
        return Err(WeightsError::Truncated {
            path: path.to_path_buf(),
            expected: 8 + header,
            found: len,
        });
    }
    SafeTensors::deserialize(bytes).map_err(|err| {
        let reason = match err {
            safetensors::SafeTensorError::MetadataIncompleteBuffer => std::format!(
                "the tensors its header lists do not exactly cover its {} data bytes \
                 (the file was cut short, or bytes were appended)",
                len - 8 - header
            ),
            other => other.to_string(),
        };
        WeightsError::Corrupt {
            path: path.to_path_buf(),
            reason,
        }
    })
}
