//! The data module on the committed data sets, on malformed files written to a temporary
//! folder (one per error), and the minibatch loader's guarantees.

mod common;
use common::scratch::scratch;

use std::path::{Path, PathBuf};

use nn::data::{
    read_bytes, read_csv, read_idx_images, read_idx_labels, DataError, DataLoader, Dataset, Mnist,
    Separator,
};

/// A committed data file, by its path under `data/`.
fn committed(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(rel)
}

/// An IDX file of unsigned bytes: magic `0x0800 | dims`, the dimensions, the data.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(data);
    bytes
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Asserts that the error's message names `path`.
fn assert_names(err: &DataError, path: &Path) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "the message does not name {}: {msg}",
        path.display()
    );
}

// --- The committed MNIST files -------------------------------------------------------

#[test]
fn committed_mnist_test_set_has_10000_labelled_28x28_images() {
    let images = read_idx_images::<784>(committed("mnist/t10k-images-idx3-ubyte.gz")).unwrap();
    let labels = read_idx_labels(committed("mnist/t10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(images.len(), 10_000);
    assert_eq!(labels.len(), 10_000);
    assert!(images.iter().flatten().all(|p| (0.0..=1.0).contains(p)));
    // Every image has ink, and the first one has both black and white pixels.
    assert!(images.iter().all(|img| img.iter().any(|&p| p > 0.5)));
    assert_eq!(images[0].iter().copied().fold(0.0, f32::max), 1.0);
    assert_eq!(labels[..5], [7, 2, 1, 0, 4]);

    let mut histogram = [0usize; 10];
    for &l in &labels {
        histogram[l as usize] += 1;
    }
    // The published class counts of the MNIST test set.
    assert_eq!(
        histogram,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(histogram.iter().sum::<usize>(), 10_000);
}

#[test]
fn committed_mnist_splits_into_first_8000_and_last_2000() {
    let mnist = Mnist::load_t10k_split(committed("mnist")).unwrap();
    assert_eq!(mnist.train.len(), 8_000);
    assert_eq!(mnist.test.len(), 2_000);
    let labels = read_idx_labels(committed("mnist/t10k-labels-idx1-ubyte.gz")).unwrap();
    let labels: Vec<usize> = labels.into_iter().map(usize::from).collect();
    assert_eq!(mnist.train.targets(), &labels[..8_000]);
    assert_eq!(mnist.test.targets(), &labels[8_000..]);
}

#[test]
fn gzip_and_plain_files_read_the_same() {
    let dir = scratch("gzip_and_plain");
    let gz_images = committed("mnist/t10k-images-idx3-ubyte.gz");
    let gz_labels = committed("mnist/t10k-labels-idx1-ubyte.gz");
    let plain_images = write(
        &dir,
        "t10k-images-idx3-ubyte",
        read_bytes(&gz_images).unwrap(),
    );
    let plain_labels = write(
        &dir,
        "t10k-labels-idx1-ubyte",
        read_bytes(&gz_labels).unwrap(),
    );
    assert_eq!(
        std::fs::metadata(&plain_images).unwrap().len(),
        16 + 10_000 * 784
    );

    assert_eq!(
        read_idx_images::<784>(&plain_images).unwrap(),
        read_idx_images::<784>(&gz_images).unwrap()
    );
    assert_eq!(
        read_idx_labels(&plain_labels).unwrap(),
        read_idx_labels(&gz_labels).unwrap()
    );
    // Compression is detected from the content, not from the name.
    let disguised = write(&dir, "labels.bin", std::fs::read(&gz_labels).unwrap());
    assert_eq!(
        read_idx_labels(&disguised).unwrap(),
        read_idx_labels(&gz_labels).unwrap()
    );
    // A folder of plain files loads like the committed gzip one.
    let plain = Mnist::load_t10k_split(&dir).unwrap();
    let gz = Mnist::load_t10k_split(committed("mnist")).unwrap();
    assert_eq!(plain.train, gz.train);
    assert_eq!(plain.test, gz.test);

    let gz_digits = committed("sklearn/digits.csv.gz");
    let plain_digits = write(&dir, "digits.csv", read_bytes(&gz_digits).unwrap());
    assert_eq!(
        read_csv::<65>(&plain_digits, Separator::COMMA).unwrap(),
        read_csv::<65>(&gz_digits, Separator::COMMA).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_dir_reads_the_four_standard_files_with_or_without_gz() {
    let dir = scratch("load_dir");
    // The training pair plain, the test pair gzip (the committed files).
    write(
        &dir,
        "train-images-idx3-ubyte",
        idx(&[3, 28, 28], &[255; 3 * 784]),
    );
    write(&dir, "train-labels-idx1-ubyte", idx(&[3], &[4, 5, 6]));
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::copy(committed(&format!("mnist/{name}")), dir.join(name)).unwrap();
    }
    let mnist = Mnist::load_dir(&dir).unwrap();
    assert_eq!(mnist.train.len(), 3);
    assert_eq!(mnist.train.targets(), [4, 5, 6]);
    assert_eq!(mnist.train.inputs()[2], [1.0; 784]);
    assert_eq!(mnist.test.len(), 10_000);
    let _ = std::fs::remove_dir_all(&dir);
}

// --- The committed scikit-learn files ------------------------------------------------

#[test]
fn committed_sklearn_csv_files_have_their_published_shapes() {
    let digits = read_csv::<65>(committed("sklearn/digits.csv.gz"), Separator::COMMA).unwrap();
    assert_eq!(digits.len(), 1_797);
    assert!(digits
        .iter()
        .all(|r| r[..64].iter().all(|v| (0.0..=16.0).contains(v)) && r[64] <= 9.0));
    assert_eq!(digits[0][64], 0.0);
    assert_eq!(digits[0][2..5], [5.0, 13.0, 9.0]);

    let x = read_csv::<10>(
        committed("sklearn/diabetes_data_raw.csv.gz"),
        Separator::Whitespace,
    )
    .unwrap();
    let y = read_csv::<1>(
        committed("sklearn/diabetes_target.csv.gz"),
        Separator::Whitespace,
    )
    .unwrap();
    assert_eq!((x.len(), y.len()), (442, 442));
    assert_eq!(
        x[0],
        [59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    );
    assert_eq!(y[0], [151.0]);
}

// --- Every error, from a real malformed file -----------------------------------------

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = scratch("missing");
    let path = dir.join("nothing-here");
    let err = read_idx_labels(&path).unwrap_err();
    assert!(
        matches!(&err, DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert_names(&err, &path);
    assert!(std::error::Error::source(&err).is_some());

    // A folder without the training pair names the file it looked for.
    let err = Mnist::load_dir(&dir).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert_names(&err, &dir.join("train-images-idx3-ubyte"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_gzip_stream_is_an_io_error_naming_the_file() {
    let dir = scratch("corrupt_gzip");
    let gz = std::fs::read(committed("mnist/t10k-labels-idx1-ubyte.gz")).unwrap();
    let path = write(&dir, "cut.gz", &gz[..gz.len() / 2]);
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert_names(&err, &path);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_magic_number() {
    let dir = scratch("magic");
    // A label file where images are expected.
    let path = write(&dir, "labels-not-images", idx(&[2], &[1, 2]));
    let err = read_idx_images::<784>(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: 0x801,
                expected: 0x803,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    assert!(err.to_string().contains("0x00000801"), "{err}");
    // Not an IDX file at all.
    let path = write(&dir, "text", "hello, world");
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
    assert_names(&err, &path);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_file() {
    let dir = scratch("truncated");
    // The header promises two images of 784 pixels; 100 bytes of pixels follow.
    let path = write(&dir, "short-images", idx(&[2, 28, 28], &[0; 100]));
    let err = read_idx_images::<784>(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 1584,
                found: 116,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    // Cut inside the header.
    let path = write(&dir, "short-header", &idx(&[2, 28, 28], &[])[..10]);
    let err = read_idx_images::<784>(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 16,
                found: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn data_past_the_end() {
    let dir = scratch("trailing");
    let path = write(&dir, "long-labels", idx(&[2], &[1, 2, 3]));
    let err = read_idx_labels(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TrailingBytes {
                expected: 10,
                found: 11,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn images_of_another_size() {
    let dir = scratch("image_size");
    let path = write(&dir, "small-images", idx(&[2, 20, 20], &[0; 800]));
    let err = read_idx_images::<784>(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ImageSize {
                rows: 20,
                cols: 20,
                expected: 784,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    // The dimensions come from the header: the same file reads as 400-pixel images.
    assert_eq!(read_idx_images::<400>(&path).unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn image_and_label_counts_differ() {
    let dir = scratch("count_mismatch");
    let images = write(&dir, "images", idx(&[3, 28, 28], &[0; 3 * 784]));
    let labels = write(&dir, "labels", idx(&[2], &[1, 2]));
    let err = Mnist::load_pair(&images, &labels).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                image_count: 3,
                label_count: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &images);
    assert_names(&err, &labels);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn label_out_of_range() {
    let dir = scratch("bad_label");
    let images = write(&dir, "images", idx(&[3, 28, 28], &[0; 3 * 784]));
    let labels = write(&dir, "labels", idx(&[3], &[1, 10, 2]));
    let err = Mnist::load_pair(&images, &labels).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadLabel {
                index: 1,
                label: 10,
                classes: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &labels);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn too_few_images_to_split() {
    let dir = scratch("too_few");
    let images = write(
        &dir,
        "t10k-images-idx3-ubyte",
        idx(&[100, 28, 28], &[0; 100 * 784]),
    );
    write(&dir, "t10k-labels-idx1-ubyte", idx(&[100], &[3; 100]));
    let err = Mnist::load_t10k_split(&dir).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TooFew {
                found: 100,
                needed: 8_001,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &images);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_csv_cell() {
    let dir = scratch("parse");
    let path = write(&dir, "bad.csv", "1,2,3\n4,5,6\n7,eight,9\n");
    let err = read_csv::<3>(&path, Separator::COMMA).unwrap_err();
    assert!(
        matches!(&err, DataError::Parse { line: 3, column: 2, text, .. } if text == "eight"),
        "{err:?}"
    );
    assert_names(&err, &path);
    assert!(err.to_string().contains("\"eight\""), "{err}");
    // An empty cell is not a number either.
    let path = write(&dir, "hole.csv", "1,,3\n");
    let err = read_csv::<3>(&path, Separator::COMMA).unwrap_err();
    assert!(
        matches!(&err, DataError::Parse { line: 1, column: 2, text, .. } if text.is_empty()),
        "{err:?}"
    );
    assert_names(&err, &path);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn csv_with_byte_order_mark_and_crlf_line_ends() {
    let dir = scratch("bom");
    let path = write(&dir, "excel.csv", "\u{feff}1;2\r\n3;4\r\n");
    assert_eq!(
        read_csv::<2>(&path, Separator::Char(';')).unwrap(),
        [[1.0, 2.0], [3.0, 4.0]]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ragged_csv_row() {
    let dir = scratch("ragged");
    let path = write(&dir, "ragged.txt", "1 2 3\n4 5 6\n\n7 8\n");
    let err = read_csv::<3>(&path, Separator::Whitespace).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Ragged {
                line: 4,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    // Rows wider than asked for are ragged too, from the first line.
    let err = read_csv::<2>(&path, Separator::Whitespace).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Ragged {
                line: 1,
                expected: 2,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn empty_files() {
    let dir = scratch("empty");
    let empty = write(&dir, "empty", "");
    let blank = write(&dir, "blank.csv", "\n  \n\n");
    let no_images = write(&dir, "no-images", idx(&[0, 28, 28], &[]));
    let cases = [
        (read_csv::<3>(&empty, Separator::COMMA).map(drop), &empty),
        (read_csv::<3>(&blank, Separator::COMMA).map(drop), &blank),
        (read_idx_labels(&empty).map(drop), &empty),
        (read_idx_images::<784>(&no_images).map(drop), &no_images),
    ];
    for (result, path) in cases {
        let err = result.unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
        assert_names(&err, path);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn in_memory_data_set_errors() {
    let err = Dataset::<2, usize>::new(vec![], vec![]).unwrap_err();
    assert!(matches!(err, DataError::EmptyDataset));
    let err = Dataset::new(vec![[0.0; 2]; 3], vec![0usize; 2]).unwrap_err();
    assert!(matches!(
        err,
        DataError::LengthMismatch {
            inputs: 3,
            targets: 2
        }
    ));
    let set = Dataset::new(vec![[0.0; 2]; 3], vec![0usize; 3]).unwrap();
    assert!(matches!(
        set.clone().split(3).unwrap_err(),
        DataError::EmptyDataset
    ));
    let err = DataLoader::new(set, 0, 0).unwrap_err();
    assert!(matches!(err, DataError::ZeroBatchSize));
}

// --- The minibatch loader ------------------------------------------------------------

/// Sample `i` has input `[i, -i]` and target `i`, so that pairing can be checked.
fn numbered(n: usize) -> Dataset<2, usize> {
    Dataset::new(
        (0..n).map(|i| [i as f32, -(i as f32)]).collect(),
        (0..n).collect(),
    )
    .unwrap()
}

/// One epoch's targets, in order, checking on the way that inputs stay paired.
fn epoch_order(loader: &mut DataLoader<2, usize>) -> Vec<usize> {
    let mut order = Vec::new();
    for (x, y) in loader.batches() {
        assert_eq!(x.len(), y.len());
        for (x, &y) in x.iter().zip(y) {
            assert_eq!(*x, [y as f32, -(y as f32)], "input and target separated");
            order.push(y);
        }
    }
    order
}

#[test]
fn every_sample_appears_once_per_epoch() {
    let mut loader = DataLoader::new(numbered(1_000), 64, 7).unwrap();
    let mut previous = Vec::new();
    for epoch in 0..5 {
        let order = epoch_order(&mut loader);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1_000).collect::<Vec<_>>(), "epoch {epoch}");
        assert_ne!(order, previous, "epoch {epoch} repeats the order before it");
        assert_ne!(order, sorted, "epoch {epoch} is not shuffled");
        previous = order;
    }
}

#[test]
fn same_seed_same_order_and_different_seeds_differ() {
    let mut a = DataLoader::new(numbered(500), 32, 1234).unwrap();
    let mut b = DataLoader::new(numbered(500), 32, 1234).unwrap();
    let mut c = DataLoader::new(numbered(500), 32, 1235).unwrap();
    for epoch in 0..3 {
        let (oa, ob, oc) = (
            epoch_order(&mut a),
            epoch_order(&mut b),
            epoch_order(&mut c),
        );
        assert_eq!(oa, ob, "epoch {epoch}");
        assert_ne!(oa, oc, "epoch {epoch}");
    }
}

#[test]
fn last_batch_is_smaller_unless_dropped() {
    let mut loader = DataLoader::new(numbered(10), 4, 0).unwrap();
    assert_eq!(loader.batches_per_epoch(), 3);
    let batches = loader.batches();
    assert_eq!(batches.len(), 3);
    let sizes: Vec<usize> = batches.map(|(x, _)| x.len()).collect();
    assert_eq!(sizes, [4, 4, 2]);

    let mut loader = loader.drop_last(true);
    assert_eq!(loader.batches_per_epoch(), 2);
    let sizes: Vec<usize> = loader.batches().map(|(x, _)| x.len()).collect();
    assert_eq!(sizes, [4, 4]);

    // A batch size that divides the set gives full batches only; one larger than the
    // set gives a single batch.
    let mut loader = DataLoader::new(numbered(12), 4, 0).unwrap();
    assert_eq!(
        loader.batches().map(|(x, _)| x.len()).collect::<Vec<_>>(),
        [4, 4, 4]
    );
    let mut loader = DataLoader::new(numbered(3), 100, 0).unwrap();
    assert_eq!(
        loader.batches().map(|(x, _)| x.len()).collect::<Vec<_>>(),
        [3]
    );
}

nn::network! { struct Pair<Linear<2, 10>> }

/// PyTorch's loop, as written: the loader is asked its epoch and step inside the loop,
/// while the batch is in use, and the batch goes to a training step.
#[test]
fn the_loop_asks_the_loader_its_epoch_and_step_while_the_batch_is_in_use() {
    let mut loader = DataLoader::new(numbered(10), 4, 3).unwrap();
    let mut net = Pair::new(0);
    let mut tape = nn::Tape::new();
    let mut grads = nn::Gradients::new();
    let mut log = Vec::new();
    for _ in 0..2 {
        while let Some((x, y)) = loader.next_batch() {
            let e = loader.epoch();
            let step = loader.step();
            net.forward_train(&x, &mut tape).unwrap();
            let loss = tape.loss(&nn::loss::CrossEntropyLoss::default(), &y);
            net.backward(&x, &mut tape, &mut grads);
            assert!(loss.is_finite());
            for (x, &y) in x.iter().zip(&y) {
                assert_eq!(*x, [y as f32, -(y as f32)], "input and target separated");
            }
            log.push((e, step, x.len()));
        }
    }
    assert_eq!(
        log,
        [
            (0, 0, 4),
            (0, 1, 4),
            (0, 2, 2),
            (1, 0, 4),
            (1, 1, 4),
            (1, 2, 2)
        ]
    );
    assert_eq!(loader.epochs(), 2);
}

/// `for (x, y) in &mut loader` is one epoch, as `loader.batches()`, and `next_batch` yields
/// the same batches from the same seed.
#[test]
fn iterating_the_loader_and_next_batch_give_the_same_batches() {
    let mut a = DataLoader::new(numbered(10), 4, 3).unwrap();
    let mut b = a.clone();
    let mut from_iter = Vec::new();
    for (x, y) in &mut a {
        from_iter.push((x.to_vec(), y.to_vec()));
    }
    let mut from_next = Vec::new();
    while let Some(batch) = b.next_batch() {
        from_next.push(batch);
    }
    assert_eq!(from_iter, from_next);
    assert_eq!(from_iter.len(), 3);
}

#[test]
fn batches_borrow_the_data_set() {
    let mut loader = DataLoader::new(numbered(10), 4, 3).unwrap();
    let first = loader.batches().next().unwrap().0.as_ptr();
    assert_eq!(first, loader.dataset().inputs().as_ptr());
}

/// A 64 KiB gzip file that inflates to 64 MiB behind a header promising 2 labels: reading
/// stops one byte past the promise instead of inflating it all.
#[test]
fn a_gzip_stream_past_its_header_is_not_inflated_whole() {
    use std::io::Write;
    let dir = scratch("bomb");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&idx(&[2], &[1, 2])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let path = write(&dir, "bomb-labels-idx1-ubyte.gz", gz.finish().unwrap());
    assert!(std::fs::metadata(&path).unwrap().len() < 200_000);
    let err = read_idx_labels(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TrailingBytes {
                expected: 10,
                found: 11,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A device that never ends is not read at all: the readers open regular files only.
#[cfg(unix)]
#[test]
fn an_endless_device_is_not_read_forever() {
    let err = read_idx_labels("/dev/zero").unwrap_err();
    assert!(
        matches!(
            err,
            DataError::NotAFile {
                kind: "a character device",
                ..
            }
        ),
        "{err:?}"
    );
}

/// A gzip file of `plain`.
fn gzip(plain: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(plain).unwrap();
    gz.finish().unwrap()
}

/// A label file that promises 2^32 - 1 labels, followed by 16 MiB of zeros in 16 KB of
/// gzip: refused from its header, before anything is inflated past it.
#[test]
fn an_idx_header_promising_more_than_the_read_limit_is_refused_before_the_data() {
    let dir = scratch("idx-bomb");
    let mut plain = idx(&[u32::MAX], &[]);
    plain.resize(plain.len() + (16 << 20), 0);
    let path = write(&dir, "labels.gz", gzip(&plain));
    let err = read_idx_labels(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TooLarge {
                limit: nn::data::READ_LIMIT,
                ..
            }
        ),
        "{err}"
    );
    assert_names(&err, &path);
    // Images too: 65536 images of 128x128 pixels are a promise of 2^30 bytes and one
    // image more passes the limit.
    let path = write(&dir, "images", idx(&[65537, 128, 128], &[0; 64]));
    let err = read_idx_images::<{ 128 * 128 }>(&path).unwrap_err();
    assert!(matches!(err, DataError::TooLarge { .. }), "{err}");
}

/// Image dimensions are checked from the header, before the data is read: a file of
/// 3x3 images read as 4 pixels is the wrong size, whatever follows its header.
#[test]
fn image_dimensions_are_checked_before_the_data_is_read() {
    let dir = scratch("idx-dims-first");
    let path = write(&dir, "images", idx(&[1000, 3, 3], &[0; 10]));
    let err = read_idx_images::<4>(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ImageSize {
                rows: 3,
                cols: 3,
                expected: 4,
                ..
            }
        ),
        "{err}"
    );
    assert_names(&err, &path);
}

/// Every reader opens regular files only, as `nn::io::load` does: a device never ends,
/// a directory is no data, a FIFO without a writer would block the open forever.
#[cfg(unix)]
#[test]
fn the_readers_refuse_what_is_not_a_regular_file() {
    let kind = |err: &DataError| match err {
        DataError::NotAFile { kind, .. } => *kind,
        other => panic!("not NotAFile: {other}"),
    };
    let zero = Path::new("/dev/zero");
    let err = read_csv::<3>(zero, Separator::COMMA).unwrap_err();
    assert_eq!(kind(&err), "a character device", "{err}");
    assert_names(&err, zero);
    let null = Path::new("/dev/null");
    assert_eq!(
        kind(&read_idx_labels(null).unwrap_err()),
        "a character device"
    );
    assert_eq!(kind(&read_bytes(null).unwrap_err()), "a character device");
    let dir = scratch("not-a-file");
    assert_eq!(
        kind(&read_idx_images::<4>(&dir).unwrap_err()),
        "a directory"
    );
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let err = read_csv::<3>(&fifo, Separator::COMMA).unwrap_err();
    assert_eq!(kind(&err), "a FIFO", "{err}");
    assert_names(&err, &fifo);
}
