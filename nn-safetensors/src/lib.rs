//! The one safetensors reader of `nn`: `nn::io::load` at run time and `#[weights]` at
//! compile time both read files through it, so that both accept the same files, refuse
//! the same files with the same reasons, and share one size limit ([`MAX_HEADER`]).
//!
//! Every input is an error or a [`File`], never a panic, an overflow or an allocation
//! out of proportion to the input: the header's JSON is read by `serde_json` (the parser
//! the `safetensors` crate uses) straight into the format's typed entries, so a value of
//! the wrong kind stops it at the first byte, and its recursion limit bounds nesting in
//! any case; then, here, a name given twice is refused (where a map would keep the last),
//! every size is computed with checked arithmetic, and the tensors must tile the data
//! exactly, in order, with no gap, overlap or trailing byte. With the `std` feature,
//! [`read`] reads a file no further than its header promises.
//!
//! ```
//! // An 8-byte little-endian header length, the JSON header, then the data.
//! let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
//! let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
//! bytes.extend_from_slice(header);
//! bytes.extend_from_slice(&[0, 0, 128, 63, 0, 0, 0, 64]); // 1.0, 2.0
//! let file = nn_safetensors::File::parse(&bytes)?;
//! let w = file.tensor("w").unwrap();
//! assert_eq!((w.dtype(), w.shape()), (nn_safetensors::Dtype::F32, &[2][..]));
//!
//! // Offsets that sum past 2^64 are an error, not an overflow.
//! let header = br#"{"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,18446744073709551615]},
//!                   "b":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0]}}"#;
//! let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
//! bytes.extend_from_slice(header);
//! assert!(nn_safetensors::File::parse(&bytes).is_err());
//! # Ok::<(), nn_safetensors::FormatError>(())
//! ```
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod header;
#[cfg(feature = "std")]
mod read;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use header::{parse_header, Header, TensorInfo};
#[cfg(feature = "std")]
pub use read::{file_kind, read, ReadError};

/// The largest header accepted, in bytes: far above any real network's (a header lists
/// about 100 bytes per tensor), far below a length that would make a reader allocate
/// absurd amounts.
pub const MAX_HEADER: u64 = 100 * 1024 * 1024;

/// The most tensors a header may list: far above any real checkpoint's (a large model
/// with its optimizer's moments holds some thousands), and few enough that a header of
/// [`MAX_HEADER`] bytes packed with empty tensors is refused as soon as the parser counts
/// past it, rather than read whole into a state dict.
pub const MAX_TENSORS: usize = 1 << 18;

/// A tensor's element type, as safetensors names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs, non_camel_case_types)] // the names are the format's own
pub enum Dtype {
    BOOL,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    I64,
    U64,
    F64,
}

impl Dtype {
    const ALL: [Dtype; 15] = [
        Dtype::BOOL,
        Dtype::U8,
        Dtype::I8,
        Dtype::F8_E5M2,
        Dtype::F8_E4M3,
        Dtype::I16,
        Dtype::U16,
        Dtype::F16,
        Dtype::BF16,
        Dtype::I32,
        Dtype::U32,
        Dtype::F32,
        Dtype::I64,
        Dtype::U64,
        Dtype::F64,
    ];

    /// Bytes per element.
    pub fn size(self) -> u64 {
        use Dtype::*;
        match self {
            BOOL | U8 | I8 | F8_E5M2 | F8_E4M3 => 1,
            I16 | U16 | F16 | BF16 => 2,
            I32 | U32 | F32 => 4,
            I64 | U64 | F64 => 8,
        }
    }

    /// The name in a header: `F32`, `I64`, ...
    pub fn name(self) -> &'static str {
        use Dtype::*;
        match self {
            BOOL => "BOOL",
            U8 => "U8",
            I8 => "I8",
            F8_E5M2 => "F8_E5M2",
            F8_E4M3 => "F8_E4M3",
            I16 => "I16",
            U16 => "U16",
            F16 => "F16",
            BF16 => "BF16",
            I32 => "I32",
            U32 => "U32",
            F32 => "F32",
            I64 => "I64",
            U64 => "U64",
            F64 => "F64",
        }
    }

    /// The type a header names, if it is one of these.
    pub fn from_name(name: &str) -> Option<Dtype> {
        Dtype::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why bytes are not a safetensors file. Messages name no file: the caller does.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// Fewer than the 8 bytes of the header's length.
    TooShort {
        /// The bytes there are.
        found: u64,
    },
    /// The header's length is above [`MAX_HEADER`].
    HeaderTooLarge {
        /// The length it claims.
        claimed: u64,
    },
    /// Fewer bytes than the header's length and its tensors promise.
    Truncated {
        /// The bytes promised, at least (saturated at `u64::MAX`).
        expected: u64,
        /// The bytes there are.
        found: u64,
    },
    /// More bytes than the header promises: something was appended.
    TrailingBytes {
        /// The bytes promised.
        expected: u64,
        /// The bytes there are, at least.
        found: u64,
    },
    /// The header lists more than [`MAX_TENSORS`] tensors; parsing stopped there.
    TooManyTensors {
        /// The most accepted.
        limit: usize,
    },
    /// The header is not valid: bad JSON, an unknown type, sizes that disagree.
    Header(String),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::TooShort { found } => write!(
                f,
                "not a safetensors file: it has {found} bytes, fewer than the 8 of the header's length"
            ),
            FormatError::HeaderTooLarge { claimed } => write!(
                f,
                "not a safetensors file: its header claims {claimed} bytes (at most {MAX_HEADER} accepted)"
            ),
            FormatError::Truncated {
                expected: u64::MAX,
                found,
            } => write!(
                f,
                "not a safetensors file: its header's sizes add up past 2^64 bytes, the file has {found}"
            ),
            FormatError::Truncated { expected, found } => write!(
                f,
                "truncated: the header announces at least {expected} bytes, the file has {found}"
            ),
            FormatError::TrailingBytes { expected, found } => write!(
                f,
                "the header announces {expected} bytes, but the file has {found}; bytes were \
                 appended past its end"
            ),
            FormatError::TooManyTensors { limit } => write!(
                f,
                "not a safetensors file of weights: its header lists more than {limit} tensors"
            ),
            FormatError::Header(reason) => write!(f, "not a valid safetensors file: {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FormatError {}

/// One tensor of a [`File`]: its name, type, shape and bytes (little-endian).
#[derive(Clone, Debug)]
pub struct Tensor<'a> {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: &'a [u8],
}

impl<'a> Tensor<'a> {
    /// Its name, the state-dict key: `fc1.weight`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }
    /// Its shape; `[]` for a scalar.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Its bytes: exactly the elements of its shape and type.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

/// A checked safetensors file: every tensor's bytes lie in the buffer, in the order and
/// at the sizes its header states.
#[derive(Clone, Debug)]
pub struct File<'a> {
    /// Sorted by name, for lookups by binary search.
    tensors: Vec<Tensor<'a>>,
}

impl<'a> File<'a> {
    /// Parses and checks a whole file held in memory. See the crate documentation for an
    /// example.
    pub fn parse(bytes: &'a [u8]) -> Result<File<'a>, FormatError> {
        let found = bytes.len() as u64;
        let Some(len) = bytes.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
            return Err(FormatError::TooShort { found });
        };
        let n = u64::from_le_bytes(len);
        if n > MAX_HEADER {
            return Err(FormatError::HeaderTooLarge { claimed: n });
        }
        let data_start = 8 + n; // at most 8 + MAX_HEADER: no overflow
        let Some(json) = usize::try_from(data_start)
            .ok()
            .and_then(|end| bytes.get(8..end))
        else {
            return Err(FormatError::Truncated {
                expected: data_start,
                found,
            });
        };
        let header = parse_header(json)?;
        let expected = data_start.saturating_add(header.data_len());
        if found < expected {
            return Err(FormatError::Truncated { expected, found });
        }
        if found > expected {
            return Err(FormatError::TrailingBytes { expected, found });
        }
        // `found == expected`: every offset below fits in the buffer, hence in `usize`.
        let data = &bytes[data_start as usize..];
        let mut tensors = Vec::with_capacity(header.tensors().len());
        for info in header.into_tensors() {
            let (start, end) = info.offsets;
            let bytes = usize::try_from(start)
                .ok()
                .zip(usize::try_from(end).ok())
                .and_then(|(s, e)| data.get(s..e));
            let Some(bytes) = bytes else {
                // Unreachable after the checks above; an error rather than a panic still.
                return Err(FormatError::Header(alloc::format!(
                    "tensor `{}` lies outside the data",
                    info.name
                )));
            };
            tensors.push(Tensor {
                name: info.name,
                dtype: info.dtype,
                shape: info.shape,
                data: bytes,
            });
        }
        tensors.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(File { tensors })
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&Tensor<'a>> {
        self.tensors
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tensors[i])
    }

    /// Every tensor, sorted by name.
    pub fn tensors(&self) -> &[Tensor<'a>] {
        &self.tensors
    }

    /// Every tensor's name, sorted.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.tensors.iter().map(|t| t.name.as_str())
    }
}
