//! Replays the fuzz corpus (`fuzz/corpus/`: small real files and every input that once broke
//! a promise) through the checks the fuzz targets run, on stable: see `fuzz/README.md`.

// Only this test binary replays the corpus: the checks are not part of `common`'s modules.
#[path = "common/fuzz.rs"]
mod fuzz;
#[path = "common/fuzz_state.rs"]
mod fuzz_state;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        check(&data);
        n += 1;
    }
    assert!(n > 0, "{}: an empty corpus replays nothing", dir.display());
}

#[test]
fn safetensors_corpus() {
    replay("safetensors", fuzz::safetensors);
}

#[test]
fn idx_corpus() {
    replay("idx", fuzz::idx);
}

#[test]
fn csv_corpus() {
    replay("csv", fuzz::csv);
}

#[test]
fn state_corpus() {
    replay("state", fuzz_state::state);
}
