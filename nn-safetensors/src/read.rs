//! Reading a file with memory bounded by what its header promises.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::vec::Vec;

use crate::{parse_header, FormatError, MAX_HEADER};

/// Why [`read`] refused a file. Messages name no file: the caller does.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or read.
    Io(io::Error),
    /// The path names no regular file: a directory, a device such as `/dev/zero`, a FIFO
    /// or a socket, which could be read forever or block.
    NotAFile {
        /// What it is instead: `a directory`, `a character device`, ...
        kind: &'static str,
    },
    /// The bytes are not a safetensors file.
    Format(FormatError),
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::NotAFile { kind } => write!(
                f,
                "not a regular file but {kind}; weights are read from regular files only"
            ),
            ReadError::Format(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::Format(e) => Some(e),
            ReadError::NotAFile { .. } => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<FormatError> for ReadError {
    fn from(e: FormatError) -> Self {
        ReadError::Format(e)
    }
}

/// What a file that is not a regular one is, in words: `a character device`, `a FIFO`,
/// `a directory`, ...
pub fn file_kind(ty: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ty.is_char_device() {
            return "a character device";
        }
        if ty.is_block_device() {
            return "a block device";
        }
        if ty.is_fifo() {
            return "a FIFO";
        }
        if ty.is_socket() {
            return "a socket";
        }
    }
    if ty.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Reads the safetensors file at `path` whole, for [`File::parse`](crate::File::parse),
/// reading no more than its header promises:
///
/// - only a regular file is opened (following symlinks): a device such as `/dev/zero`, a
///   FIFO or a directory is refused before it is opened, since reading it could block or
///   never end;
/// - the header's length is checked against [`MAX_HEADER`], the header is parsed, and the
///   file's size is compared with what the header promises before any tensor data is read:
///   a file larger (or smaller) than promised is refused, whatever its size.
///
/// ```
/// let err = nn_safetensors::read("/dev/zero").unwrap_err();
/// # #[cfg(unix)]
/// assert!(matches!(err, nn_safetensors::ReadError::NotAFile { kind: "a character device" }));
/// ```
pub fn read(path: impl AsRef<Path>) -> Result<Vec<u8>, ReadError> {
    let path = path.as_ref();
    let ty = fs::metadata(path)?.file_type();
    if !ty.is_file() {
        return Err(ReadError::NotAFile {
            kind: file_kind(ty),
        });
    }
    let file = fs::File::open(path)?;
    // The path may have been replaced between the two looks; trust the open handle.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile {
            kind: file_kind(meta.file_type()),
        });
    }
    let size = meta.len();
    let mut file = file.take(8);
    let mut bytes = Vec::with_capacity(8);
    file.read_to_end(&mut bytes)?;
    let Ok(len) = <[u8; 8]>::try_from(&bytes[..]) else {
        return Err(FormatError::TooShort {
            found: bytes.len() as u64,
        }
        .into());
    };
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER {
        return Err(FormatError::HeaderTooLarge { claimed: n }.into());
    }
    let data_start = 8 + n;
    if size < data_start {
        return Err(FormatError::Truncated {
            expected: data_start,
            found: size,
        }
        .into());
    }
    file.set_limit(n);
    read_exactly(&mut file, &mut bytes, n)?;
    if (bytes.len() as u64) < data_start {
        return Err(short(data_start, bytes.len()));
    }
    let header = parse_header(&bytes[8..])?;
    let expected = data_start.saturating_add(header.data_len());
    if size != expected {
        return Err(if size < expected {
            FormatError::Truncated {
                expected,
                found: size,
            }
        } else {
            FormatError::TrailingBytes {
                expected,
                found: size,
            }
        }
        .into());
    }
    // The file's size is the promise: reading it is bounded by it. One byte more tells a
    // file that grew meanwhile.
    file.set_limit(header.data_len() + 1);
    read_exactly(&mut file, &mut bytes, header.data_len() + 1)?;
    let found = bytes.len() as u64;
    if found != expected {
        return Err(if found < expected {
            FormatError::Truncated { expected, found }
        } else {
            FormatError::TrailingBytes { expected, found }
        }
        .into());
    }
    Ok(bytes)
}

/// Appends up to `n` more bytes of `file` (already limited to them) to `bytes`.
fn read_exactly(file: &mut impl Read, bytes: &mut Vec<u8>, n: u64) -> io::Result<()> {
    // Reserve what a regular file of the checked size holds, and never more than that.
    bytes.reserve(usize::try_from(n).unwrap_or(0));
    file.read_to_end(bytes).map(drop)
}

fn short(expected: u64, found: usize) -> ReadError {
    FormatError::Truncated {
        expected,
        found: found as u64,
    }
    .into()
}
