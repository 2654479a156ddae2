//! The error every reader returns, naming the file.

use core::fmt;
use std::io;
use std::path::PathBuf;
use std::string::String;

/// Why a data file or data set cannot be used. Every variant about a file names it.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// The file cannot be opened or read, or its gzip stream is corrupt.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The path names no regular file: a directory, a device such as `/dev/zero`, a FIFO.
    /// The readers open regular files only (a device could be read forever, a FIFO block
    /// the open); to read a pipe, copy it to a file first.
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead, in words: `a character device`, `a FIFO`, `a directory`.
        kind: &'static str,
    },
    /// The file does not start with the IDX magic number of the kind asked for.
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number in the file (its first four bytes, big-endian).
        found: u32,
        /// The magic number of the kind asked for (`0x803` images, `0x801` labels).
        expected: u32,
    },
    /// The file is shorter than its header says (sizes after decompression).
    Truncated {
        /// The file.
        path: PathBuf,
        /// The bytes the header promises, header included.
        expected: u64,
        /// The bytes in the file.
        found: u64,
    },
    /// The file is longer than its header says (sizes after decompression). Reading
    /// stops one byte past the promise, so a file that inflates without end costs no more.
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The bytes the header promises, header included.
        expected: u64,
        /// The bytes read before reading stopped: `expected + 1`, the file has at least
        /// these.
        found: u64,
    },
    /// The file holds more than [`READ_LIMIT`](super::READ_LIMIT) bytes (after
    /// decompression); reading stopped there. An IDX file whose header promises more is
    /// refused before its data is read.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit passed, in bytes.
        limit: u64,
    },
    /// The images in an IDX file are not the size asked for.
    ImageSize {
        /// The file.
        path: PathBuf,
        /// Rows per image, from the header.
        rows: usize,
        /// Columns per image, from the header.
        cols: usize,
        /// Pixels per image asked for.
        expected: usize,
    },
    /// An image file and its label file hold different numbers of samples.
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Images in it.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// Labels in it.
        label_count: usize,
    },
    /// A label is not a valid class index.
    BadLabel {
        /// The label file.
        path: PathBuf,
        /// The sample, counting from 0.
        index: usize,
        /// Its label.
        label: u8,
        /// The number of classes.
        classes: usize,
    },
    /// A CSV cell is not a number.
    Parse {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// The column, counting from 1.
        column: usize,
        /// The cell's text.
        text: String,
    },
    /// A CSV row does not have the number of columns asked for.
    Ragged {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// The columns asked for.
        expected: usize,
        /// The columns on that line.
        found: usize,
    },
    /// The file holds no samples.
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file holds fewer samples than needed.
    TooFew {
        /// The file.
        path: PathBuf,
        /// Samples in it.
        found: usize,
        /// Samples needed, at least.
        needed: usize,
    },
    /// A [`Dataset`](super::Dataset) was given no samples.
    EmptyDataset,
    /// A [`Dataset`](super::Dataset) was given different numbers of inputs and targets.
    LengthMismatch {
        /// The inputs given.
        inputs: usize,
        /// The targets given.
        targets: usize,
    },
    /// A [`DataLoader`](super::DataLoader) was asked for batches of 0 samples.
    ZeroBatchSize,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DataError::*;
        match self {
            Io { path, source } => write!(f, "{}: {source}", path.display()),
            BadMagic {
                path,
                found,
                expected,
            } => write!(
                f,
                "{}: not an IDX file of this kind: magic number {found:#010x}, expected {expected:#010x}",
                path.display()
            ),
            Truncated {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: truncated: the header promises {expected} bytes, the file has {found}",
                path.display()
            ),
            TrailingBytes {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: at least {found} bytes where the header promises {expected}; the file has data past its end",
                path.display()
            ),
            NotAFile { path, kind } => write!(
                f,
                "{}: not a regular file but {kind}; data files are regular files",
                path.display()
            ),
            TooLarge { path, limit } => write!(
                f,
                "{}: more than {limit} bytes (after decompression), the most read from one file",
                path.display()
            ),
            ImageSize {
                path,
                rows,
                cols,
                expected,
            } => write!(
                f,
                "{}: images are {rows}x{cols} = {} pixels, but {expected} pixels per image were asked for",
                path.display(),
                rows * cols
            ),
            CountMismatch {
                images,
                image_count,
                labels,
                label_count,
            } => write!(
                f,
                "{} holds {image_count} images but {} holds {label_count} labels",
                images.display(),
                labels.display()
            ),
            BadLabel {
                path,
                index,
                label,
                classes,
            } => write!(
                f,
                "{}: label {label} of sample {index} is not a class index below {classes}",
                path.display()
            ),
            Parse {
                path,
                line,
                column,
                text,
            } => write!(
                f,
                "{}:{line}: column {column}: cannot read {text:?} as a number",
                path.display()
            ),
            Ragged {
                path,
                line,
                expected,
                found,
            } => write!(
                f,
                "{}:{line}: {found} columns, expected {expected}",
                path.display()
            ),
            Empty { path } => write!(f, "{}: no samples in the file", path.display()),
            TooFew {
                path,
                found,
                needed,
            } => write!(
                f,
                "{}: {found} samples, but at least {needed} are needed",
                path.display()
            ),
            EmptyDataset => write!(f, "the data set has no samples"),
            LengthMismatch { inputs, targets } => write!(
                f,
                "the data set has {inputs} inputs but {targets} targets; give one target per input"
            ),
            ZeroBatchSize => write!(f, "the batch size is 0; use at least 1"),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
