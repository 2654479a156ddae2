//! Scratch files: a fresh folder per test under the system's temporary folder.

use std::path::PathBuf;

/// A fresh, empty folder for test `test` of this test binary. Tests run in parallel, so each
/// has its own; the folder's path names the binary and the process, so that two runs at the
/// same time do not meet either.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!(
            "nn-{}-{}",
            env!("CARGO_CRATE_NAME"),
            std::process::id()
        ))
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
