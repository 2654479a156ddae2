//! Data sets: IDX (MNIST) and CSV readers, and a seeded minibatch loader.
//!
//! - [`read_idx_images`] and [`read_idx_labels`] read IDX files such as MNIST's, and
//!   [`Mnist`] loads the whole set from a folder.
//! - [`read_csv`] reads numeric CSV files such as the ones scikit-learn ships.
//! - [`Dataset`] pairs inputs with targets, and [`DataLoader`] shuffles it every epoch
//!   and yields minibatches as slices, as PyTorch's `DataLoader(shuffle=True)` does.
//!
//! Every reader takes plain or gzip files alike: a file that starts with the gzip magic
//! bytes (`1f 8b`) is decompressed, whatever its name. Every failure is a [`DataError`]
//! whose message names the file.
//!
//! ```
//! use nn_core::data::{DataLoader, Dataset};
//!
//! let inputs: Vec<[f32; 2]> = (0..10).map(|i| [i as f32, 1.0]).collect();
//! let targets: Vec<usize> = (0..10).map(|i| i % 2).collect();
//! let mut loader = DataLoader::new(Dataset::new(inputs, targets)?, 4, 0)?;
//! for epoch in 0..2 {
//!     let sizes: Vec<usize> = loader.epoch().map(|(x, y)| x.len().min(y.len())).collect();
//!     assert_eq!(sizes, [4, 4, 2], "epoch {epoch}");
//! }
//! # Ok::<(), nn_core::data::DataError>(())
//! ```

mod csv;
mod error;
mod idx;
mod loader;

use std::io::{self, Read};
use std::path::Path;
use std::vec::Vec;

pub use csv::{read_csv, Separator};
pub use error::DataError;
pub use idx::{read_idx_images, read_idx_labels, Mnist};
pub use loader::{Batches, DataLoader, Dataset};

fn io_error(path: &Path, source: io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a whole file, decompressing it when it starts with the gzip magic bytes
/// `1f 8b` (whatever its name).
///
/// ```
/// let path = std::env::temp_dir().join(format!("nn-doc-bytes-{}", std::process::id()));
/// std::fs::write(&path, b"plain")?;
/// assert_eq!(nn_core::data::read_bytes(&path)?, b"plain");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_bytes(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| io_error(path, e))?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4));
    // Multi-member streams are valid gzip (`cat a.gz b.gz`); read them all.
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| io_error(path, e))?;
    Ok(out)
}
