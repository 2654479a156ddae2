//! Data sets: IDX (MNIST) and CSV readers, and a seeded minibatch loader.
//!
//! - [`read_idx_images`] and [`read_idx_labels`] read IDX files such as MNIST's, and
//!   [`Mnist`] loads the whole set from a folder.
//! - [`read_csv`] reads numeric CSV files such as the ones scikit-learn ships.
//! - [`Dataset`] pairs inputs with targets, and [`DataLoader`] shuffles it every epoch
//!   and yields minibatches as slices, as PyTorch's `DataLoader(shuffle=True)` does.
//! - [`Normalize`] standardises the inputs per channel, as torchvision's
//!   `transforms.Normalize`.
//!
//! Every reader takes plain or gzip files alike: a file that starts with the gzip magic
//! bytes (`1f 8b`) is decompressed, whatever its name. Every failure is a [`DataError`]
//! whose message names the file.
//!
//! ```
//! use nn::data::{DataLoader, Dataset};
//!
//! let inputs: Vec<[f32; 2]> = (0..10).map(|i| [i as f32, 1.0]).collect();
//! let targets: Vec<usize> = (0..10).map(|i| i % 2).collect();
//! let mut loader = DataLoader::new(Dataset::new(inputs, targets)?, 4, 0)?;
//! for epoch in 0..2 {
//!     let sizes: Vec<usize> = loader.batches().map(|(x, y)| x.len().min(y.len())).collect();
//!     assert_eq!(sizes, [4, 4, 2], "epoch {epoch}");
//! }
//! # Ok::<(), nn::data::DataError>(())
//! ```

mod csv;
mod error;
mod idx;
mod loader;
mod normalize;

use std::boxed::Box;
use std::io::{self, Read};
use std::path::Path;
use std::vec::Vec;

pub use csv::{read_csv, Separator};
pub use error::DataError;
pub use idx::{read_idx_images, read_idx_labels, Mnist};
pub use loader::{Batches, DataLoader, Dataset};
pub use normalize::Normalize;

/// One MNIST split, [`Mnist::train`] or [`Mnist::test`]: images of [`Mnist::PIXELS`]
/// (28 × 28 = 784) pixels in `[0, 1]`, one `[f32; 784]` row each, and their class
/// indices.
///
/// ```
/// use nn::data::{Dataset, Mnist, MnistDataset};
/// let set: MnistDataset = Dataset::new(vec![[0.0; 784]; 2], vec![3, 7])?;
/// assert_eq!(set.inputs()[0].len(), Mnist::PIXELS);
/// # Ok::<(), nn::data::DataError>(())
/// ```
// The width is written as a literal so that the documentation shows `Dataset<784, usize>`
// (an expression such as `{ Mnist::PIXELS }` is shown as an anonymous constant); the
// assertion below keeps the two equal.
pub type MnistDataset = Dataset<784, usize>;
const _: () = assert!(Mnist::PIXELS == 784);

fn io_error(path: &Path, source: io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The most bytes, after decompression, that [`read_bytes`] and [`read_csv`] read from one
/// file: 1 GiB, far above the CSV files such readers are for. A longer file is refused with
/// [`DataError::TooLarge`] once the limit is passed, so a small gzip file that inflates to
/// far more takes no more memory than this. IDX files are bounded by what their header
/// promises, and a header that promises more than this is refused before any data is read.
pub const READ_LIMIT: u64 = 1 << 30;

/// A file's bytes as a stream, decompressed when it starts with the gzip magic bytes
/// `1f 8b` (whatever its name). Multi-member streams (`cat a.gz b.gz`) are read whole.
///
/// Regular files only (following symbolic links), as `nn::io::load` reads them: a FIFO
/// with no writer would block the open forever and a device such as `/dev/zero` never
/// ends, so either is refused before it is opened.
fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let not_a_file = |ty: std::fs::FileType| DataError::NotAFile {
        path: path.to_path_buf(),
        kind: nn_safetensors::file_kind(ty),
    };
    let ty = std::fs::metadata(path)
        .map_err(|e| io_error(path, e))?
        .file_type();
    if !ty.is_file() {
        return Err(not_a_file(ty));
    }
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    // The path may have been replaced between the two looks; trust the open handle.
    let ty = file.metadata().map_err(|e| io_error(path, e))?.file_type();
    if !ty.is_file() {
        return Err(not_a_file(ty));
    }
    let mut head = Vec::with_capacity(2);
    (&mut file)
        .take(2)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, e))?;
    let gzip = head == [0x1f, 0x8b];
    let stream = io::BufReader::new(io::Cursor::new(head).chain(file));
    Ok(if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(stream))
    } else {
        Box::new(stream)
    })
}

/// Appends at most `limit` more bytes of `stream` to `out`.
fn read_at_most(
    path: &Path,
    stream: &mut dyn Read,
    out: &mut Vec<u8>,
    limit: u64,
) -> Result<(), DataError> {
    stream
        .take(limit)
        .read_to_end(out)
        .map(drop)
        .map_err(|e| io_error(path, e))
}

/// Reads a whole file, decompressing it when it starts with the gzip magic bytes
/// `1f 8b` (whatever its name). Reads at most [`READ_LIMIT`] bytes (after
/// decompression); a longer file is a [`DataError::TooLarge`].
///
/// ```
/// let path = std::env::temp_dir().join(format!("nn-doc-bytes-{}", std::process::id()));
/// std::fs::write(&path, b"plain")?;
/// assert_eq!(nn::data::read_bytes(&path)?, b"plain");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_bytes(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    read_limited(path.as_ref(), READ_LIMIT)
}

/// [`read_bytes`] with another limit.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, DataError> {
    let mut stream = open(path)?;
    let mut out = Vec::new();
    read_at_most(path, &mut stream, &mut out, limit.saturating_add(1))?;
    if out.len() as u64 > limit {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A gzip stream that inflates far past the limit is refused once the limit is
    /// passed, having read no more than the limit and one byte.
    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        let path =
            std::env::temp_dir().join(std::format!("nn-data-limit-{}.gz", std::process::id()));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[b'1'; 1 << 20]).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let err = read_limited(&path, 1000).unwrap_err();
        assert!(
            matches!(&err, DataError::TooLarge { limit: 1000, path: p } if *p == path),
            "{err}"
        );
        assert_eq!(read_limited(&path, 1 << 20).unwrap().len(), 1 << 20);
        let _ = std::fs::remove_file(&path);
    }
}
