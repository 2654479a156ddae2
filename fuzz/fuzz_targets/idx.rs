//! Fuzzes the idx reader with the check `tests/fuzz_corpus.rs` replays (see fuzz/README.md).
#![no_main]

#[path = "../../tests/common/fuzz.rs"]
#[allow(dead_code)] // each target uses one of the checks
mod fuzz;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::idx(data));
