//! Weights in and out as safetensors files with PyTorch's state-dict names and layouts.
//!
//! A network saved here loads into PyTorch with `load_state_dict(..., strict=True)`, and
//! a file written by `safetensors.torch.save_file(model.state_dict(), ..)` loads here.
//! Loading checks every tensor before it changes anything, so a bad file leaves the
//! network as it was; saving writes a temporary file and renames it, so a failed save
//! leaves no half-written file.

use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use nn_safetensors::{Dtype, File, FormatError, ReadError};

use crate::{Buffer, BufferMut, Network};

mod bias;
mod error;
mod state;
mod write;

pub use error::WeightsError;
pub use state::{load_state, save_state};
use write::write_file;

/// How [`load_with`] and [`load_bytes`] match the file's names to the network's, as
/// PyTorch's `load_state_dict(state_dict, strict)` and the key surgery around it.
///
/// The default is [`load`]'s: strict, no prefix. Build others from [`LoadOptions::new`]:
///
/// ```
/// use nn::io::LoadOptions;
/// // A checkpoint whose keys are `model.fc1.weight`, ...: load what is under `model.`.
/// let wrapped = LoadOptions::new().prefix("model.");
/// // PyTorch's `strict=False`: missing and unexpected names are returned, not errors.
/// let lenient = LoadOptions::new().strict(false);
/// # let _ = (wrapped, lenient);
/// ```
///
/// To load a file into a network nested in another (a file saved from an `Encoder` into
/// an `AutoEncoder`'s `enc`), load into the field: `nn::io::load(&mut net.enc, path)`.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions<'p> {
    /// Whether a name the file lacks or holds beyond the network's is an error.
    pub strict: bool,
    /// Ignore tensors in the file that the network does not have, even when `strict`
    /// (the tensors the network needs must still all be there).
    pub allow_unexpected: bool,
    /// The file's names are the network's with this prefix in front; tensors without it
    /// belong to something else and are ignored.
    pub prefix: &'p str,
}

impl Default for LoadOptions<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'p> LoadOptions<'p> {
    /// Strict, with no prefix: [`load`]'s options.
    pub const fn new() -> Self {
        LoadOptions {
            strict: true,
            allow_unexpected: false,
            prefix: "",
        }
    }

    /// PyTorch's `strict`: with `false`, tensors the file lacks keep the network's values
    /// and tensors the network lacks are skipped; both lists come back in [`Loaded`].
    /// A tensor of the wrong shape or type is an error either way, as in PyTorch.
    pub const fn strict(self, strict: bool) -> Self {
        LoadOptions { strict, ..self }
    }

    /// Ignores tensors in the file that the network does not have; every tensor the
    /// network needs must still be there.
    pub const fn allow_unexpected(self, allow: bool) -> Self {
        LoadOptions {
            allow_unexpected: allow,
            ..self
        }
    }

    /// Loads the tensors whose names start with `prefix`, with it stripped: `model.` for
    /// a checkpoint that holds `model.fc1.weight`, `enc.` to load an `Encoder` from the
    /// file of an `AutoEncoder` (PyTorch's `{k.removeprefix(p): v for ...}`). Tensors
    /// outside the prefix are ignored, and never unexpected.
    pub const fn prefix(self, prefix: &'p str) -> Self {
        LoadOptions { prefix, ..self }
    }
}

/// What a load matched: PyTorch's `load_state_dict` result, `missing_keys` and
/// `unexpected_keys`. A strict load succeeds only with both empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Loaded {
    /// The network's tensors that the file lacks, in state-dict order; they kept their
    /// values.
    pub missing_keys: Vec<String>,
    /// The file's tensors under the prefix that the network does not have, sorted, as
    /// the file names them (prefix included).
    pub unexpected_keys: Vec<String>,
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
/// nn::network! { struct Net<fc1: Linear<3, 4>, bn: BatchNorm<4>, fc2: Linear<4, 2>> }
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

/// Loads `path` into `net`, strictly: every tensor of the network must be in the file with
/// its shape and type, and the file may hold nothing else. On any error `net` is
/// unchanged. See [`save`] for an example.
///
/// Reads regular files only (following symbolic links): a device such as `/dev/zero`, a
/// FIFO or a directory is refused ([`NotAFile`](WeightsError::NotAFile)) before it is
/// opened. The header is checked (at most 100 MiB and
/// [`MAX_TENSORS`](nn_safetensors::MAX_TENSORS) tensors, sizes that add up, tensors that tile
/// the data) and the file's size compared with what it promises before any tensor data is
/// read, so a file larger than its header says costs no memory
/// ([`TrailingBytes`](WeightsError::TrailingBytes)). `#[weights]` reads files the same way.
pub fn load<N: Network>(net: &mut N, path: impl AsRef<Path>) -> Result<(), WeightsError> {
    load_with(net, path, LoadOptions::new()).map(|_| ())
}

/// [`load`], with options: a prefix, PyTorch's `strict=False`. Returns what was missing
/// and unexpected (both empty after a strict load). On any error `net` is unchanged.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("nn-doc-load-with-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("bigger.safetensors");
/// nn::network! { struct Small<fc1: Linear<3, 4>, act: ReLU> }
/// nn::network! { struct Big<fc1: Linear<3, 4>, act: ReLU, fc2: Linear<4, 2>> }
/// nn::io::save(&*Big::new(0), &path)?;
/// let mut small = Small::new(1);
/// let options = nn::io::LoadOptions::new().strict(false);
/// let loaded = nn::io::load_with(&mut *small, &path, options)?;
/// assert!(loaded.missing_keys.is_empty());
/// assert_eq!(loaded.unexpected_keys, ["fc2.bias", "fc2.weight"]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_with<N: Network>(
    net: &mut N,
    path: impl AsRef<Path>,
    options: LoadOptions<'_>,
) -> Result<Loaded, WeightsError> {
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

/// [`load_with`] from a safetensors file already in memory (downloaded, embedded with
/// `include_bytes!`, received); `name` only names it in errors. Every input is a
/// [`WeightsError`] or a load, never a panic.
///
/// ```
/// nn::network! { struct Net<fc1: Linear<3, 4>, act: ReLU> }
/// # let dir = std::env::temp_dir().join(format!("nn-doc-load-bytes-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("net.safetensors");
/// # nn::io::save(&*Net::new(0), &path)?;
/// let bytes: Vec<u8> = std::fs::read(&path)?; // or from the network, or `include_bytes!`
/// let mut net = Net::new(1);
/// nn::io::load_bytes(&mut *net, &bytes, "checkpoint", Default::default())?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_bytes<N: Network>(
    net: &mut N,
    bytes: &[u8],
    name: impl AsRef<Path>,
    options: LoadOptions<'_>,
) -> Result<Loaded, WeightsError> {
    let path = name.as_ref();
    let file = parse(bytes, path)?;
    let err_path = || path.to_path_buf();
    let prefix = options.prefix;
    let find = |key: &str| file.tensor(&std::format!("{prefix}{key}"));
    let expected = entries(net);
    // Check everything first, so that a bad file changes nothing.
    let mut missing = Vec::new();
    for e in &expected {
        let Some(view) = find(&e.key) else {
            missing.push(e.key.clone());
            continue;
        };
        if view.dtype() != e.dtype {
            return Err(WeightsError::Dtype {
                path: err_path(),
                tensor: view.name().to_string(),
                expected: std::format!("{:?}", e.dtype),
                found: std::format!("{:?}", view.dtype()),
            });
        }
        if e.dtype == Dtype::I64 && view.data().get(..8).is_some_and(|b| b[7] & 0x80 != 0) {
            return Err(WeightsError::Corrupt {
                path: err_path(),
                reason: std::format!("tensor `{}` holds a negative count", view.name()),
            });
        }
        if view.shape() != e.shape.as_slice() {
            return Err(WeightsError::Shape {
                path: err_path(),
                tensor: view.name().to_string(),
                expected: e.shape.clone(),
                found: view.shape().to_vec(),
            });
        }
    }
    let under_prefix: Vec<&str> = file
        .names()
        .filter_map(|n| n.strip_prefix(prefix))
        .collect();
    let unexpected: Vec<String> = under_prefix
        .iter()
        .filter(|n| !expected.iter().any(|e| e.key == **n))
        .map(|n| std::format!("{prefix}{n}"))
        .collect();
    if options.strict && !missing.is_empty() {
        let mut others = missing;
        let tensor = others.remove(0);
        if let Some(layer) = bias::missing::<N>(&tensor, |k| find(k).is_some()) {
            return Err(WeightsError::Bias {
                path: err_path(),
                tensor,
                layer,
                in_file: false,
                others,
            });
        }
        return Err(WeightsError::Missing {
            path: err_path(),
            tensor,
            others,
            file: under_prefix.iter().map(|n| n.to_string()).collect(),
        });
    }
    if options.strict && !options.allow_unexpected && !unexpected.is_empty() {
        let mut others = unexpected;
        let tensor = others.remove(0);
        let ours = tensor.strip_prefix(prefix).unwrap_or(&tensor);
        let in_network = |k: &str| expected.iter().any(|e| e.key == k);
        if let Some(layer) = bias::unexpected::<N>(ours, in_network) {
            return Err(WeightsError::Bias {
                path: err_path(),
                tensor,
                layer,
                in_file: true,
                others,
            });
        }
        return Err(WeightsError::Unexpected {
            path: err_path(),
            tensor,
            others,
        });
    }
    net.named_state_mut(&mut |layer, name, value| {
        // Present, of the right type and shape: checked above; a missing one keeps its
        // value (a non-strict load).
        let Some(view) = find(&std::format!("{layer}.{name}")) else {
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
    Ok(Loaded {
        missing_keys: missing,
        unexpected_keys: unexpected,
    })
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
        FormatError::TooManyTensors { limit } => WeightsError::TooManyTensors { path, limit },
        FormatError::Header(reason) => WeightsError::Corrupt { path, reason },
        other => WeightsError::Corrupt {
            path,
            reason: other.to_string(),
        },
    }
}
