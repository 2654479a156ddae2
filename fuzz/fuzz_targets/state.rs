//! Fuzzes `nn::io::load_state` and every object's `load_state` with the check
//! `tests/fuzz_corpus.rs` replays (see fuzz/README.md).
#![no_main]

#[path = "../../tests/common/fuzz_state.rs"]
mod fuzz_state;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_state::state(data));
