//! IDX files (MNIST's format) and the MNIST set.

use std::io;
use std::path::{Path, PathBuf};
use std::vec::Vec;

use super::{io_error, open, read_at_most, DataError, Dataset, MnistDataset, READ_LIMIT};

/// The IDX magic number of unsigned-byte data with `dims` dimensions.
const fn idx_magic(dims: u8) -> u32 {
    0x0800 | dims as u32
}

/// Reads an IDX file, checking its header and size; returns its dimensions and its
/// data. Reads no more than the header promises, plus one byte to tell a longer file;
/// `check` sees the dimensions, and a header that promises more than [`READ_LIMIT`] is
/// refused, before any data is read: a small gzip file can inflate to whatever a header
/// promises.
fn read_idx<const DIMS: usize>(
    path: &Path,
    check: impl FnOnce(&[usize; DIMS]) -> Result<(), DataError>,
) -> Result<([usize; DIMS], Vec<u8>), DataError> {
    let header = 4 + 4 * DIMS;
    let mut stream = open(path)?;
    let mut bytes = Vec::with_capacity(header);
    read_at_most(path, &mut stream, &mut bytes, header as u64)?;
    if bytes.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let truncated = |expected: u64, found: usize| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: found as u64,
    };
    let be32 = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let magic = be32(0).ok_or_else(|| truncated(header as u64, bytes.len()))?;
    let expected = idx_magic(DIMS as u8);
    if magic != expected {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
            expected,
        });
    }
    let mut dims = [0usize; DIMS];
    let mut data_len = 1u64; // saturating: a corrupt header must not overflow
    for (d, dim) in dims.iter_mut().enumerate() {
        let v = be32(4 + 4 * d).ok_or_else(|| truncated(header as u64, bytes.len()))?;
        *dim = v as usize;
        data_len = data_len.saturating_mul(v.into());
    }
    check(&dims)?;
    if data_len > READ_LIMIT {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            limit: READ_LIMIT,
        });
    }
    let expected = (header as u64).saturating_add(data_len);
    // The data as it comes, never more than promised: a header that promises more than
    // the stream holds costs only what the stream holds.
    read_at_most(path, &mut stream, &mut bytes, data_len.saturating_add(1))?;
    let found = bytes.len() as u64;
    if found < expected {
        return Err(truncated(expected, bytes.len()));
    }
    if found > expected {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            found,
        });
    }
    if dims[0] == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    bytes.drain(..header);
    Ok((dims, bytes))
}

/// Reads an IDX image file (`idx3-ubyte`, magic `0x803`, gzip or not) into images of `D`
/// pixels scaled from `0..=255` to `[0, 1]`. The image count and size come from the
/// header; `D` must equal rows × columns. Reading stops one byte past what the header
/// promises ([`DataError::TrailingBytes`]), gzip or not.
///
/// ```
/// // Two 2x3 images, written as an IDX file.
/// let mut idx = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
/// idx.extend([0, 51, 255, 0, 0, 0, 255, 255, 255, 255, 255, 255]);
/// let path = std::env::temp_dir().join(format!("nn-doc-idx3-{}", std::process::id()));
/// std::fs::write(&path, &idx)?;
///
/// let images = nn::data::read_idx_images::<6>(&path)?;
/// assert_eq!(images, [[0.0, 0.2, 1.0, 0.0, 0.0, 0.0], [1.0; 6]]);
/// assert!(nn::data::read_idx_images::<4>(&path).is_err()); // 2x3 is not 4 pixels
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_idx_images<const D: usize>(path: impl AsRef<Path>) -> Result<Vec<[f32; D]>, DataError> {
    let path = path.as_ref();
    let (_, pixels) = read_idx::<3>(path, |&[_, rows, cols]| {
        if rows.checked_mul(cols) != Some(D) || D == 0 {
            return Err(DataError::ImageSize {
                path: path.to_path_buf(),
                rows,
                cols,
                expected: D,
            });
        }
        Ok(())
    })?;
    Ok(pixels
        .chunks_exact(D)
        .map(|img| core::array::from_fn(|i| img[i] as f32 / 255.0))
        .collect())
}

/// Reads an IDX label file (`idx1-ubyte`, magic `0x801`, gzip or not).
///
/// ```
/// let path = std::env::temp_dir().join(format!("nn-doc-idx1-{}", std::process::id()));
/// std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])?;
/// assert_eq!(nn::data::read_idx_labels(&path)?, [7, 2, 1]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    let ([_], labels) = read_idx::<1>(path, |_| Ok(()))?;
    Ok(labels)
}

/// The MNIST digits: 28×28 grey images with pixels scaled to `[0, 1]` (no further
/// normalisation) and class indices `0..10`, split into a training and a test set.
///
/// ```
/// use nn::data::Mnist;
///
/// // A stand-in for the real files: blank images, labels 0, 1, .., 9, 0, 1, ..
/// fn write_idx(path: std::path::PathBuf, dims: &[u32], data: &[u8]) -> std::io::Result<()> {
///     let mut bytes = vec![0, 0, 8, dims.len() as u8];
///     for d in dims {
///         bytes.extend(d.to_be_bytes());
///     }
///     bytes.extend(data);
///     std::fs::write(path, bytes)
/// }
/// let dir = std::env::temp_dir().join(format!("nn-doc-mnist-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let labels: Vec<u8> = (0..10_000).map(|i| (i % 10) as u8).collect();
/// write_idx(dir.join("t10k-images-idx3-ubyte"), &[10_000, 28, 28], &vec![0; 10_000 * 784])?;
/// write_idx(dir.join("t10k-labels-idx1-ubyte"), &[10_000], &labels)?;
///
/// // The test pair alone, split 8,000 / 2,000.
/// let mnist = Mnist::load_t10k_split(&dir)?;
/// assert_eq!((mnist.train.len(), mnist.test.len()), (8_000, 2_000));
/// assert_eq!(mnist.test.targets()[..3], [0, 1, 2]);
///
/// // With the training pair too (60,000 images in the real set).
/// write_idx(dir.join("train-images-idx3-ubyte"), &[20, 28, 28], &[255; 20 * 784])?;
/// write_idx(dir.join("train-labels-idx1-ubyte"), &[20], &labels[..20])?;
/// let mnist = Mnist::load_dir(&dir)?;
/// assert_eq!((mnist.train.len(), mnist.test.len()), (20, 10_000));
/// assert_eq!(mnist.train.inputs()[0], [1.0; Mnist::PIXELS]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Mnist {
    /// The training images and labels.
    pub train: MnistDataset,
    /// The test images and labels.
    pub test: MnistDataset,
}

impl Mnist {
    /// Pixels per image, 28 × 28.
    pub const PIXELS: usize = 28 * 28;
    /// Classes, the digits 0 to 9.
    pub const CLASSES: usize = 10;
    /// Training images of [`Mnist::load_t10k_split`].
    pub const T10K_TRAIN: usize = 8_000;

    /// Loads the four standard files from `dir`: `train-images-idx3-ubyte`,
    /// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`,
    /// each with or without `.gz`. See [`Mnist`] for an example.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Mnist, DataError> {
        let dir = dir.as_ref();
        Ok(Mnist {
            train: Self::load_set(dir, "train")?.1,
            test: Self::load_set(dir, "t10k")?.1,
        })
    }

    /// Loads only the 10,000-image test pair from `dir` (`t10k-images-idx3-ubyte` and
    /// `t10k-labels-idx1-ubyte`, each with or without `.gz`) and splits it: the first
    /// [`Mnist::T10K_TRAIN`] (8,000) samples for training, the rest (2,000) for testing.
    /// See [`Mnist`] for an example.
    pub fn load_t10k_split(dir: impl AsRef<Path>) -> Result<Mnist, DataError> {
        let (images, set) = Self::load_set(dir.as_ref(), "t10k")?;
        if set.len() <= Self::T10K_TRAIN {
            return Err(DataError::TooFew {
                path: images,
                found: set.len(),
                needed: Self::T10K_TRAIN + 1,
            });
        }
        let (train, test) = set.split(Self::T10K_TRAIN)?;
        Ok(Mnist { train, test })
    }

    /// Loads one pair of image and label files, checking that they hold as many samples
    /// and that every label is below 10.
    pub fn load_pair(
        images: impl AsRef<Path>,
        labels: impl AsRef<Path>,
    ) -> Result<MnistDataset, DataError> {
        let (images, labels) = (images.as_ref(), labels.as_ref());
        let x = read_idx_images::<{ Mnist::PIXELS }>(images)?;
        let y = read_idx_labels(labels)?;
        if x.len() != y.len() {
            return Err(DataError::CountMismatch {
                images: images.to_path_buf(),
                image_count: x.len(),
                labels: labels.to_path_buf(),
                label_count: y.len(),
            });
        }
        if let Some((index, &label)) = y
            .iter()
            .enumerate()
            .find(|(_, &l)| l as usize >= Self::CLASSES)
        {
            return Err(DataError::BadLabel {
                path: labels.to_path_buf(),
                index,
                label,
                classes: Self::CLASSES,
            });
        }
        Dataset::new(x, y.into_iter().map(usize::from).collect())
    }

    /// The image file's path and the set; `prefix` is `train` or `t10k`.
    fn load_set(dir: &Path, prefix: &str) -> Result<(PathBuf, MnistDataset), DataError> {
        let images = find_file(dir, &std::format!("{prefix}-images-idx3-ubyte"))?;
        let labels = find_file(dir, &std::format!("{prefix}-labels-idx1-ubyte"))?;
        let set = Self::load_pair(&images, labels)?;
        Ok((images, set))
    }
}

/// `dir/name`, or `dir/name.gz` when only that exists.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let plain = dir.join(name);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(std::format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(io_error(
        &plain,
        io::Error::new(
            io::ErrorKind::NotFound,
            "no such file, with or without `.gz`",
        ),
    ))
}
