//! Puts memory.x where cortex-m-rt's link.x finds it, and draws the weights of MLPerf Tiny's
//! three larger models (ResNet-8, MobileNetV1 0.25, the anomaly autoencoder; 313 KB to 1.07 MB
//! of f32 each) from their seeds (`examples/mlperf/seeded.rs`) into `generated/`, where
//! `src/main.rs` bakes them with `#[weights]`: the repository does not carry them, and the
//! host (`cargo run --example embedded_host`) draws the same weights from the same seeds.

use std::path::{Path, PathBuf};
use std::{env, fs};

#[path = "../mlperf/models.rs"]
#[allow(dead_code)]
mod models;
#[path = "../mlperf/seeded.rs"]
#[allow(dead_code)]
mod seeded;

use models::{AutoEncoder, MobileNetV1, ResNet8};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("memory.x is beside Cargo.toml");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=../mlperf/models.rs");
    println!("cargo:rerun-if-changed=../mlperf/seeded.rs");

    let dir = Path::new("generated");
    fs::create_dir_all(dir).expect("generated/ can be made beside Cargo.toml");
    let mut resnet = ResNet8::new(0);
    seeded::he_normal(&mut *resnet, seeded::RESNET8_SEED);
    save(&*resnet, &dir.join("resnet8.safetensors"));
    let mut mobilenet = MobileNetV1::new(0);
    seeded::he_normal(&mut *mobilenet, seeded::MOBILENET_SEED);
    save(&*mobilenet, &dir.join("mobilenet_v1.safetensors"));
    let mut autoencoder = AutoEncoder::new(0);
    seeded::he_normal(&mut *autoencoder, seeded::AUTOENCODER_SEED);
    save(&*autoencoder, &dir.join("autoencoder.safetensors"));
    for name in ["resnet8", "mobilenet_v1", "autoencoder"] {
        println!("cargo:rerun-if-changed=generated/{name}.safetensors");
    }
}

/// Saves `net` at `path` unless the file there already holds the same bytes, so that an
/// unchanged file keeps its time and the program is not rebuilt for it.
fn save<N: nn::Network>(net: &N, path: &Path) {
    let fresh = path.with_extension("new");
    nn::io::save(net, &fresh).expect("the weights can be written");
    let same = fs::read(path).ok() == Some(fs::read(&fresh).expect("just written"));
    if same {
        fs::remove_file(&fresh).expect("just written");
    } else {
        fs::rename(&fresh, path).expect("the weights can be moved into place");
    }
}
