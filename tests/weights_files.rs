//! Hostile and unusual files for `load`, `save` and `#[weights]`'s reader: crafted headers
//! are typed errors, never panics; memory stays bounded by what the header promises;
//! `save` replaces regular files only, through symbolic links, keeping permissions.

mod common;
use common::scratch::scratch;

use std::path::Path;

use nn::io::{load_bytes, load_with, LoadOptions, WeightsError};

nn::network! {
    #[derive(Clone, PartialEq, Debug)]
    struct Net<fc: Linear<3, 2>, act: ReLU>
}

/// A file of `header` (JSON) and `data`.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn load_err(bytes: &[u8]) -> WeightsError {
    let net = Net::new(0);
    let mut copy = net.clone();
    let err = load_bytes(
        &mut *copy,
        bytes,
        Path::new("crafted.safetensors"),
        LoadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(copy, net, "a failed load changed the network");
    assert!(
        err.to_string().starts_with("crafted.safetensors: "),
        "{err}"
    );
    err
}

/// The file that panicked the `safetensors` crate ("attempt to add with overflow"): eight
/// U8 tensors of 2^61 − 1 bytes back to back, whose ends sum with the header past 2^64.
#[test]
fn offsets_summing_past_2_to_the_64_are_a_typed_error() {
    let n = (1u64 << 61) - 1;
    let tensors: Vec<String> = (0..8u64)
        .map(|i| {
            format!(
                r#""t{i}":{{"dtype":"U8","shape":[{n}],"data_offsets":[{},{}]}}"#,
                i * n,
                (i + 1) * n
            )
        })
        .collect();
    let bytes = file(&format!("{{{}}}", tensors.join(",")), &[0; 16]);
    let err = load_err(&bytes);
    assert!(
        matches!(err, WeightsError::Truncated { expected: u64::MAX, found, .. } if found == bytes.len() as u64),
        "{err}"
    );
}

#[test]
fn crafted_headers_are_typed_errors() {
    let t = |name: &str, dtype: &str, shape: &str, s: u64, e: u64| {
        format!(r#""{name}":{{"dtype":"{dtype}","shape":{shape},"data_offsets":[{s},{e}]}}"#)
    };
    let cases = [
        // The shape's element count overflows.
        format!("{{{}}}", t("a", "F64", "[4294967296,4294967296]", 0, 8)),
        // A gap, an overlap, an end before the start.
        format!(
            "{{{},{}}}",
            t("fc.weight", "F32", "[2,3]", 0, 24),
            t("fc.bias", "F32", "[2]", 32, 40)
        ),
        format!(
            "{{{},{}}}",
            t("fc.weight", "F32", "[2,3]", 0, 24),
            t("fc.bias", "F32", "[2]", 16, 24)
        ),
        format!("{{{}}}", t("a", "F32", "[0]", 8, 0)),
        // One name twice: which one would be loaded?
        format!(
            "{{{},{}}}",
            t("fc.bias", "F32", "[2]", 0, 8),
            t("fc.bias", "F32", "[2]", 8, 16)
        ),
        // Numbers JSON allows but sizes cannot be.
        format!("{{{}}}", t("a", "F32", "[-1]", 0, 0)),
        r#"{"a":{"dtype":"F32","shape":[1e3],"data_offsets":[0,4000]}}"#.to_string(),
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}"#.to_string(),
        // Deep nesting, an unknown type, bad escapes, junk after the object.
        "[".repeat(100_000),
        format!("{{{}}}", t("a", "Q7", "[1]", 0, 1)),
        r#"{"\ud800":{}}"#.to_string(),
        "{} {}".to_string(),
    ];
    for header in cases {
        let err = load_err(&file(&header, &[0; 40]));
        assert!(
            matches!(
                err,
                WeightsError::Corrupt { .. } | WeightsError::Truncated { .. }
            ),
            "{}: {err}",
            &header[..header.len().min(80)]
        );
    }
}

/// Every truncation and every single-byte change of a real file: an error or a load,
/// never a panic.
#[test]
fn every_cut_and_byte_flip_of_a_real_file_is_handled() {
    let dir = scratch("flips");
    let path = dir.join("net.safetensors");
    Net::new(1).save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut net = Net::new(0);
    for cut in 0..bytes.len() {
        assert!(load_bytes(&mut *net, &bytes[..cut], &path, LoadOptions::default()).is_err());
    }
    for i in 0..bytes.len() {
        for v in [0u8, b'9', b'"', b'{', b'[', b',', 0xff] {
            let mut b = bytes.clone();
            b[i] = v;
            let _ = load_bytes(&mut *net, &b, &path, LoadOptions::default());
        }
    }
}

/// A file far longer than its header promises is refused before its data is read.
#[test]
fn a_file_longer_than_its_header_promises_is_refused() {
    let dir = scratch("long");
    let path = dir.join("net.safetensors");
    Net::new(1).save(&path).unwrap();
    let whole = std::fs::metadata(&path).unwrap().len();
    // 64 GiB of appended zeros, as a sparse file: reading it would take the memory.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(whole + (64 << 30)).unwrap();
    let mut net = Net::new(0);
    let err = load_with(&mut *net, &path, LoadOptions::default()).unwrap_err();
    assert!(
        matches!(err, WeightsError::TrailingBytes { expected, found, .. }
            if expected == whole && found == whole + (64 << 30)),
        "{err}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn devices_fifos_and_directories_are_not_read() {
    let dir = scratch("special");
    let mut net = Net::new(0);
    let err = load_with(&mut *net, "/dev/zero", LoadOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            WeightsError::NotAFile {
                kind: "a character device",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("/dev/zero: "), "{err}");

    let err = load_with(&mut *net, &dir, LoadOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            WeightsError::NotAFile {
                kind: "a directory",
                ..
            }
        ),
        "{err}"
    );

    // A FIFO with no writer: opening it would block forever.
    let fifo = dir.join("fifo.safetensors");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let err = load_with(&mut *net, &fifo, LoadOptions::default()).unwrap_err();
        assert!(
            matches!(err, WeightsError::NotAFile { kind: "a FIFO", .. }),
            "{err}"
        );
        // Nor is it replaced by a save.
        let err = net.save(&fifo).unwrap_err();
        assert!(
            matches!(err, WeightsError::NotAFile { kind: "a FIFO", .. }),
            "{err}"
        );
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo_like());
    }
}

#[cfg(unix)]
trait IsFifo {
    fn is_fifo_like(&self) -> bool;
}
#[cfg(unix)]
impl IsFifo for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

/// A device is never replaced, whether or not the folder would allow it.
#[cfg(unix)]
#[test]
fn save_refuses_a_device() {
    let err = Net::new(0).save("/dev/null").unwrap_err();
    assert!(
        matches!(
            err,
            WeightsError::NotAFile {
                kind: "a character device",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("/dev/null: "), "{err}");
}

#[cfg(unix)]
#[test]
fn save_refuses_a_read_only_file_and_leaves_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("read-only");
    let path = dir.join("net.safetensors");
    std::fs::write(&path, b"keep").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let err = Net::new(0).save(&path).unwrap_err();
    assert!(matches!(err, WeightsError::ReadOnly { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"keep");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o444);
}

#[cfg(unix)]
#[test]
fn save_keeps_the_permissions_of_the_file_it_replaces() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("permissions");
    let path = dir.join("net.safetensors");
    for mode in [0o600, 0o640, 0o664] {
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        Net::new(0).save(&path).unwrap();
        let now = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(now, mode, "{mode:o}");
        let mut back = Net::new(1);
        back.load(&path).unwrap();
    }
}

/// A symbolic link is written through: the link stays, its target holds the new weights.
#[cfg(unix)]
#[test]
fn save_writes_through_a_symbolic_link() {
    let dir = scratch("symlink");
    std::fs::create_dir(dir.join("runs")).unwrap();
    let target = dir.join("runs").join("run3.safetensors");
    let link = dir.join("latest.safetensors");
    Net::new(1).save(&target).unwrap();
    std::os::unix::fs::symlink("runs/run3.safetensors", &link).unwrap();
    let net = Net::new(2);
    net.save(&link).unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let mut back = Net::new(0);
    back.load(&target).unwrap();
    assert_eq!(*back, *net, "the link's target was not updated");
    // No temporary file left in either folder.
    assert_eq!(std::fs::read_dir(dir.join("runs")).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);

    // A link to nothing is refused, and stays as it was.
    let dangling = dir.join("dangling.safetensors");
    std::os::unix::fs::symlink("runs/none.safetensors", &dangling).unwrap();
    let err = net.save(&dangling).unwrap_err();
    assert!(matches!(err, WeightsError::Io { .. }), "{err}");
    assert!(!dir.join("runs/none.safetensors").exists());
}
