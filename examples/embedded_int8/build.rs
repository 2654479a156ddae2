//! Puts the board's memory map where cortex-m-rt's link.x finds it, and says which board:
//! QEMU's microbit (nRF51, Cortex-M0) for `thumbv6m`, the mps2-an386 (Cortex-M4F) otherwise.
//! The int8 networks themselves are baked by `#[weights(.., dtype = int8)]` in `src/models.rs`.

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let memory = if target.starts_with("thumbv6m") {
        "memory-nrf51.x"
    } else {
        "memory-mps2.x"
    };
    fs::copy(memory, out.join("memory.x")).expect("the memory maps are beside Cargo.toml");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory-nrf51.x");
    println!("cargo:rerun-if-changed=memory-mps2.x");
    println!("cargo::rustc-check-cfg=cfg(cortex_m0)");
    if target.starts_with("thumbv6m") {
        println!("cargo:rustc-cfg=cortex_m0");
    }
}
