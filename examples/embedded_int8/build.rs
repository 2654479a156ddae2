//! Lays the int8 networks down as `static` arrays for the microcontroller, and puts the
//! board's memory map where cortex-m-rt's link.x finds it.
//!
//! The int8 files are the ones `cargo run --release --example mnist_int8 -- --save`
//! writes (post-training quantisation of the trained f32 networks). Each is
//! first loaded with the host's `nn::int8::Quantized::load`, which checks every tensor's
//! dtype and shape, every scale count and zero point against the network; then its weights,
//! biases and zero points are written out as Rust literals, and the multipliers, output
//! ranges and the pixel → int8 input table are prepared by the host's own `Requant::product`,
//! `Output::new` and `Quant::quantize`, so the device runs exactly the host's parameters.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use nn::int8::{Activation, Output, Quant, Quantized, Requant};
use safetensors::SafeTensors;

nn::network! {
    /// The MNIST network: 784-128 ReLU BatchNorm 128-10.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

nn::network! {
    /// `examples/cnn.rs`'s network.
    #[input(1, 28, 28)]
    pub struct Cnn<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

/// The int8 layers of a network: each layer's name in the file and the activation folded
/// into its output (a `ReLU` after a `Linear` or `Conv2d` becomes its output's clamp).
type Layers = &'static [(&'static str, Activation)];

/// The MLP's int8 steps: `0` (ReLU folded), the batch norm `2` as a per-channel scale, `3`.
const MLP: Layers = &[
    ("0", Activation::Relu),
    ("2", Activation::None),
    ("3", Activation::None),
];

/// The CNN's: the two convolutions with their ReLUs, the last `Linear`.
const CNN: Layers = &[
    ("0", Activation::Relu),
    ("3", Activation::Relu),
    ("7", Activation::None),
];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").expect("cargo sets TARGET");
    // The board: QEMU's microbit (nRF51, Cortex-M0) for thumbv6m, mps2-an386 otherwise.
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

    let weights = Path::new("../../data/weights");
    let mut code = String::new();
    let mlp = weights.join("mnist_int8.safetensors");
    let cnn = weights.join("cnn_int8.safetensors");
    if let Err(e) = Quantized::<Mnist>::load(&mlp) {
        panic!("{e}");
    }
    if let Err(e) = Quantized::<Cnn>::load(&cnn) {
        panic!("{e}");
    }
    for (module, path, layers) in [("mlp", &mlp, MLP), ("cnn", &cnn, CNN)] {
        println!("cargo:rerun-if-changed={}", path.display());
        model(&mut code, module, path, layers);
    }
    fs::write(out.join("int8_models.rs"), code).expect("OUT_DIR is writable");
}

/// One network's module: for each layer `N`, `WEIGHT_N` (int8, word-aligned), `BIAS_N`,
/// `REQUANT_N` (one per output channel), `INPUT_ZERO_POINT_N`, `OUTPUT_N`; and `INPUT`, the
/// int8 value of each pixel value `p` (the input `p / 255`, quantised).
fn model(code: &mut String, module: &str, path: &Path, layers: Layers) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file =
        SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tensor = |name: &str| {
        file.tensor(name)
            .unwrap_or_else(|e| panic!("{}: tensor `{name}`: {e}", path.display()))
            .data()
            .to_vec()
    };
    let f32s = |name: &str| -> Vec<f32> {
        tensor(name)
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    let i32s = |name: &str| -> Vec<i32> {
        tensor(name)
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    let list = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(",");
    writeln!(
        code,
        "#[allow(dead_code)] pub mod {module} {{ use super::*;"
    )
    .unwrap();
    for &(name, activation) in layers {
        let weight = tensor(&format!("{name}.weight"));
        let bias = i32s(&format!("{name}.bias"));
        let scales = f32s(&format!("{name}.weight_scale"));
        let [s_in] = f32s(&format!("{name}.input_scale"))[..] else {
            panic!("input scale")
        };
        let [s_out] = f32s(&format!("{name}.output_scale"))[..] else {
            panic!("output scale")
        };
        let [zp_in] = i32s(&format!("{name}.input_zero_point"))[..] else {
            panic!("zero point")
        };
        let [zp_out] = i32s(&format!("{name}.output_zero_point"))[..] else {
            panic!("zero point")
        };
        let requant = scales.iter().map(|&s| Requant::product(s_in, s, s_out));
        let out = Output::new(s_out, zp_out, activation);
        writeln!(
            code,
            "pub static WEIGHT_{name}: Aligned<[i8; {}]> = Aligned([{}]);",
            weight.len(),
            list(&mut weight.iter().map(|&w| (w as i8).to_string()))
        )
        .unwrap();
        writeln!(
            code,
            "pub static BIAS_{name}: [i32; {}] = [{}];",
            bias.len(),
            list(&mut bias.iter().map(i32::to_string))
        )
        .unwrap();
        writeln!(
            code,
            "pub static REQUANT_{name}: [Requant; {}] = [{}];",
            scales.len(),
            list(&mut requant.map(|r| format!(
                "Requant {{ multiplier: {}, shift: {} }}",
                r.multiplier, r.shift
            )))
        )
        .unwrap();
        writeln!(code, "pub const INPUT_ZERO_POINT_{name}: i32 = {zp_in};").unwrap();
        writeln!(
            code,
            "pub const OUTPUT_{name}: Output = Output {{ zero_point: {}, min: {}, max: {} }};",
            out.zero_point, out.min, out.max
        )
        .unwrap();
    }
    let first = layers[0].0;
    let [scale] = f32s(&format!("{first}.input_scale"))[..] else {
        panic!("input scale")
    };
    let [zero_point] = i32s(&format!("{first}.input_zero_point"))[..] else {
        panic!("zero point")
    };
    let quant = Quant { scale, zero_point };
    writeln!(
        code,
        "pub static INPUT: [i8; 256] = [{}];",
        list(&mut (0..=255u8).map(|p| quant.quantize(f32::from(p) / 255.0).to_string()))
    )
    .unwrap();
    writeln!(code, "}}").unwrap();
}
