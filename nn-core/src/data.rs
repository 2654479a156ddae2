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

use core::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::string::String;
use std::vec::Vec;

use crate::Rng;

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
    /// The file is longer than its header says (sizes after decompression).
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The bytes the header promises, header included.
        expected: u64,
        /// The bytes in the file.
        found: u64,
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
    /// A [`Dataset`] was given no samples.
    EmptyDataset,
    /// A [`Dataset`] was given different numbers of inputs and targets.
    LengthMismatch {
        /// The inputs given.
        inputs: usize,
        /// The targets given.
        targets: usize,
    },
    /// A [`DataLoader`] was asked for batches of 0 samples.
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
                "{}: {found} bytes where the header promises {expected}; the file has data past its end",
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

/// The IDX magic number of unsigned-byte data with `dims` dimensions.
const fn idx_magic(dims: u8) -> u32 {
    0x0800 | dims as u32
}

/// Checks an IDX file's header and size; returns its dimensions and its data.
fn parse_idx<'a, const DIMS: usize>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<([usize; DIMS], &'a [u8]), DataError> {
    let header = 4 + 4 * DIMS;
    if bytes.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let truncated = |expected: u64| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: bytes.len() as u64,
    };
    let be32 = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let magic = be32(0).ok_or_else(|| truncated(header as u64))?;
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
        let v = be32(4 + 4 * d).ok_or_else(|| truncated(header as u64))?;
        *dim = v as usize;
        data_len = data_len.saturating_mul(v.into());
    }
    let expected = (header as u64).saturating_add(data_len);
    let found = bytes.len() as u64;
    if found < expected {
        return Err(truncated(expected));
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
    Ok((dims, &bytes[header..]))
}

/// Reads an IDX image file (`idx3-ubyte`, magic `0x803`, gzip or not) into images of `D`
/// pixels scaled from `0..=255` to `[0, 1]`. The image count and size come from the
/// header; `D` must equal rows × columns.
///
/// ```
/// // Two 2x3 images, written as an IDX file.
/// let mut idx = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
/// idx.extend([0, 51, 255, 0, 0, 0, 255, 255, 255, 255, 255, 255]);
/// let path = std::env::temp_dir().join(format!("nn-doc-idx3-{}", std::process::id()));
/// std::fs::write(&path, &idx)?;
///
/// let images = nn_core::data::read_idx_images::<6>(&path)?;
/// assert_eq!(images, [[0.0, 0.2, 1.0, 0.0, 0.0, 0.0], [1.0; 6]]);
/// assert!(nn_core::data::read_idx_images::<4>(&path).is_err()); // 2x3 is not 4 pixels
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_idx_images<const D: usize>(path: impl AsRef<Path>) -> Result<Vec<[f32; D]>, DataError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let ([_, rows, cols], pixels) = parse_idx::<3>(path, &bytes)?;
    if rows.checked_mul(cols) != Some(D) || D == 0 {
        return Err(DataError::ImageSize {
            path: path.to_path_buf(),
            rows,
            cols,
            expected: D,
        });
    }
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
/// assert_eq!(nn_core::data::read_idx_labels(&path)?, [7, 2, 1]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let ([_], labels) = parse_idx::<1>(path, &bytes)?;
    Ok(labels.to_vec())
}

/// The MNIST digits: 28×28 grey images with pixels scaled to `[0, 1]` (no further
/// normalisation) and class indices `0..10`, split into a training and a test set.
///
/// ```
/// use nn_core::data::Mnist;
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
    pub train: Dataset<{ Mnist::PIXELS }, usize>,
    /// The test images and labels.
    pub test: Dataset<{ Mnist::PIXELS }, usize>,
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
    ) -> Result<Dataset<{ Mnist::PIXELS }, usize>, DataError> {
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
    fn load_set(
        dir: &Path,
        prefix: &str,
    ) -> Result<(PathBuf, Dataset<{ Mnist::PIXELS }, usize>), DataError> {
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

/// What separates the cells of a CSV row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separator {
    /// One character, such as `,` or `;`. Spaces around a cell are ignored.
    Char(char),
    /// Any run of spaces and tabs, as NumPy's `loadtxt` reads by default.
    Whitespace,
}

impl Separator {
    /// A comma.
    pub const COMMA: Separator = Separator::Char(',');

    fn splits_at(self, c: char) -> bool {
        match self {
            Separator::Char(s) => c == s,
            Separator::Whitespace => c == ' ' || c == '\t',
        }
    }
}

/// Reads a numeric CSV file (gzip or not) in which every row has `C` cells, into rows of
/// `f32`. Blank lines are skipped; lines count from 1 in errors.
///
/// ```
/// use nn_core::data::{read_csv, Separator, DataError};
///
/// let path = std::env::temp_dir().join(format!("nn-doc-csv-{}", std::process::id()));
/// std::fs::write(&path, "1,2,3\n4, 5 ,6e1\n")?;
/// assert_eq!(read_csv::<3>(&path, Separator::COMMA)?, [[1.0, 2.0, 3.0], [4.0, 5.0, 60.0]]);
///
/// std::fs::write(&path, "0.5 7\n-1   2.25\n")?;
/// assert_eq!(read_csv::<2>(&path, Separator::Whitespace)?, [[0.5, 7.0], [-1.0, 2.25]]);
///
/// std::fs::write(&path, "1,2\n3,x\n")?;
/// let err = read_csv::<2>(&path, Separator::COMMA).unwrap_err();
/// assert!(matches!(err, DataError::Parse { line: 2, column: 2, .. }));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_csv<const C: usize>(
    path: impl AsRef<Path>,
    sep: Separator,
) -> Result<Vec<[f32; C]>, DataError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    // Spreadsheet programs often start UTF-8 text with a byte-order mark.
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let mut rows = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let text = match core::str::from_utf8(line) {
            Ok(t) => t.trim(),
            Err(_) => {
                return Err(DataError::Parse {
                    path: path.to_path_buf(),
                    line: line_no,
                    column: 1,
                    text: String::from_utf8_lossy(line).into_owned(),
                })
            }
        };
        if text.is_empty() {
            continue;
        }
        let cells = text
            .split(|c| sep.splits_at(c))
            .map(str::trim)
            .filter(|cell| sep != Separator::Whitespace || !cell.is_empty());
        let mut row = [0.0f32; C];
        let mut found = 0;
        for (j, cell) in cells.enumerate() {
            found = j + 1;
            if let Some(slot) = row.get_mut(j) {
                *slot = cell.parse().map_err(|_| DataError::Parse {
                    path: path.to_path_buf(),
                    line: line_no,
                    column: j + 1,
                    text: cell.into(),
                })?;
            }
        }
        if found != C {
            return Err(DataError::Ragged {
                path: path.to_path_buf(),
                line: line_no,
                expected: C,
                found,
            });
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(rows)
}

/// Inputs of `D` features paired with targets of type `T` (class indices, regression
/// values): never empty, one target per input.
///
/// ```
/// use nn_core::data::{Dataset, DataError};
/// let set = Dataset::new(vec![[0.0; 3], [1.0; 3], [2.0; 3]], vec![0usize, 1, 2])?;
/// let (train, test) = set.split(2)?;
/// assert_eq!((train.targets(), test.targets()), (&[0, 1][..], &[2][..]));
/// assert!(matches!(Dataset::<3, usize>::new(vec![], vec![]), Err(DataError::EmptyDataset)));
/// # Ok::<(), DataError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<const D: usize, T> {
    inputs: Vec<[f32; D]>,
    targets: Vec<T>,
}

impl<const D: usize, T> Dataset<D, T> {
    /// Pairs `inputs[i]` with `targets[i]`. Fails when they differ in length or are
    /// empty.
    pub fn new(inputs: Vec<[f32; D]>, targets: Vec<T>) -> Result<Self, DataError> {
        if inputs.len() != targets.len() {
            return Err(DataError::LengthMismatch {
                inputs: inputs.len(),
                targets: targets.len(),
            });
        }
        if inputs.is_empty() {
            return Err(DataError::EmptyDataset);
        }
        Ok(Dataset { inputs, targets })
    }

    /// Samples in the set (at least 1).
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Always `false`: a data set has at least one sample.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The inputs, in the set's current order.
    pub fn inputs(&self) -> &[[f32; D]] {
        &self.inputs
    }

    /// The targets, in the same order as [`Dataset::inputs`].
    pub fn targets(&self) -> &[T] {
        &self.targets
    }

    /// The inputs and targets.
    pub fn into_parts(self) -> (Vec<[f32; D]>, Vec<T>) {
        (self.inputs, self.targets)
    }

    /// The first `at` samples and the rest. Fails when either part would be empty.
    pub fn split(mut self, at: usize) -> Result<(Self, Self), DataError> {
        if at == 0 || at >= self.len() {
            return Err(DataError::EmptyDataset);
        }
        let inputs = self.inputs.split_off(at);
        let targets = self.targets.split_off(at);
        Ok((self, Dataset { inputs, targets }))
    }

    /// Permutes the samples in place, inputs and targets alike, drawing from `rng`.
    pub fn shuffle(&mut self, rng: &mut Rng) {
        // `Rng::shuffle` makes the same swaps for two slices of the same length from the
        // same generator state, so a copy of the generator shuffles the targets exactly
        // as the original then shuffles the inputs: one permutation, and no index vector.
        rng.clone().shuffle(&mut self.targets);
        rng.shuffle(&mut self.inputs);
    }

    /// Minibatches of `size` samples in the set's current order, the last one smaller
    /// when `size` does not divide the set.
    ///
    /// # Panics
    /// When `size` is 0, as [`slice::chunks`] does.
    ///
    /// ```
    /// let set = nn_core::data::Dataset::new(vec![[0.0f32; 1]; 5], vec![0u8; 5])?;
    /// let sizes: Vec<usize> = set.batches(2).map(|(x, _)| x.len()).collect();
    /// assert_eq!(sizes, [2, 2, 1]);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn batches(&self, size: usize) -> Batches<'_, D, T> {
        assert!(size > 0, "Dataset::batches: the batch size is 0");
        Batches {
            inputs: &self.inputs,
            targets: &self.targets,
            size,
            left: self.len().div_ceil(size),
        }
    }
}

/// An iterator over minibatches `(inputs, targets)`, made by [`Dataset::batches`] and
/// [`DataLoader::epoch`]. Each batch borrows the data set: nothing is copied.
#[derive(Clone, Debug)]
pub struct Batches<'a, const D: usize, T> {
    inputs: &'a [[f32; D]],
    targets: &'a [T],
    size: usize,
    /// Batches still to yield.
    left: usize,
}

impl<'a, const D: usize, T> Iterator for Batches<'a, D, T> {
    type Item = (&'a [[f32; D]], &'a [T]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = self.size.min(self.inputs.len());
        let (x, rest_x) = self.inputs.split_at(n);
        let (y, rest_y) = self.targets.split_at(n);
        (self.inputs, self.targets) = (rest_x, rest_y);
        Some((x, y))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<const D: usize, T> ExactSizeIterator for Batches<'_, D, T> {}

/// PyTorch's `DataLoader(dataset, batch_size, shuffle=True)` with a seeded generator:
/// every epoch permutes the data set in place and yields its minibatches as slices.
/// The same seed gives the same order, epoch after epoch, on every platform.
///
/// ```
/// use nn_core::data::{DataLoader, Dataset};
/// let set = Dataset::new((0..7).map(|i| [i as f32]).collect(), (0..7).collect::<Vec<u32>>())?;
/// let mut loader = DataLoader::new(set, 3, 42)?;
/// let mut seen = Vec::new();
/// for (x, y) in loader.epoch() {
///     for (x, &y) in x.iter().zip(y) {
///         assert_eq!(x[0], y as f32); // inputs stay paired with their targets
///         seen.push(y);
///     }
/// }
/// seen.sort();
/// assert_eq!(seen, [0, 1, 2, 3, 4, 5, 6]);
/// # Ok::<(), nn_core::data::DataError>(())
/// ```
#[derive(Clone, Debug)]
pub struct DataLoader<const D: usize, T> {
    data: Dataset<D, T>,
    batch_size: usize,
    drop_last: bool,
    rng: Rng,
}

impl<const D: usize, T> DataLoader<D, T> {
    /// Batches of `batch_size` from `data`, shuffled every epoch by a generator seeded
    /// with `seed`. Fails when `batch_size` is 0.
    pub fn new(data: Dataset<D, T>, batch_size: usize, seed: u64) -> Result<Self, DataError> {
        if batch_size == 0 {
            return Err(DataError::ZeroBatchSize);
        }
        Ok(DataLoader {
            data,
            batch_size,
            drop_last: false,
            rng: Rng::seed(seed),
        })
    }

    /// Whether to leave out the last batch of an epoch when it is smaller than the batch
    /// size (PyTorch's `drop_last`; batch norm cannot train on a batch of one).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Samples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.data.len() / self.batch_size
        } else {
            self.data.len().div_ceil(self.batch_size)
        }
    }

    /// The data set, in the order of the last epoch.
    pub fn dataset(&self) -> &Dataset<D, T> {
        &self.data
    }

    /// The data set back.
    pub fn into_dataset(self) -> Dataset<D, T> {
        self.data
    }

    /// Starts an epoch: shuffles the data set, then yields its minibatches.
    pub fn epoch(&mut self) -> Batches<'_, D, T> {
        self.data.shuffle(&mut self.rng);
        let left = self.batches_per_epoch();
        Batches {
            left,
            ..self.data.batches(self.batch_size)
        }
    }
}
