//! Picks the int8 inner product for Arm microcontrollers by the target's name: stable Rust
//! does not give `cfg` the Arm target features (`dsp`), and the Cortex-M kernels need to
//! know them at compile time.
//!
//! - `nn_arm_dsp`: Armv7E-M (`thumbv7em-*`: Cortex-M4, M7), with the DSP extension's
//!   `SXTB16` and `SMLAD`.
//! - `nn_arm_thumb`: Armv6-M and Armv7-M/Armv8-M without it (`thumbv6m-*`: Cortex-M0, M0+,
//!   M1; `thumbv7m-*`: M3; `thumbv8m.base-*`: M23; `thumbv8m.main-*`: M33 and M35P, whose
//!   DSP extension is optional), with the Thumb instructions every one of them has.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(nn_arm_dsp, nn_arm_thumb)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=nn_arm_dsp");
    } else if ["thumbv6m", "thumbv7m", "thumbv8m"]
        .iter()
        .any(|t| target.starts_with(t))
    {
        println!("cargo::rustc-cfg=nn_arm_thumb");
    }
}
