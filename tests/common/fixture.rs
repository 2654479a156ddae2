//! Reading the committed fixtures in `tests/fixtures/`: files by name, JSON, and the numbers
//! and tensors the fixture scripts in `tools/` write into it.
//!
//! A tensor is `{"shape": [...], "data": [...]}` with decimal values, or, for large ones,
//! `{"shape": [...], "f32le": "<base64>"}` holding the float32 values' little-endian bytes.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The path of fixture `name`.
pub fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The script that writes fixture `name`, for the message when it is missing.
fn made_by(name: &str) -> &'static str {
    match name {
        "everyday.json" => "tools/make_everyday_fixtures.py",
        "image_layers.json" => "tools/make_image_fixtures.py",
        "layers.json" => "tools/make_layer_fixtures.py",
        "loss_reductions.json" | "init.json" => "tools/make_loss_fixtures.py",
        "load_checkpoint.safetensors" => "tools/make_load_fixtures.py",
        "nonfinite.json" => "tools/make_nonfinite_fixture.py",
        "upsample.json" => "tools/make_upsample_fixture.py",
        n if n.starts_with("conv_transpose") => "tools/make_conv_transpose_fixture.py",
        "recurrent.json" => "tools/make_recurrent_fixtures.py",
        n if n.starts_with("sequence") => "tools/make_sequence_fixtures.py",
        n if n.starts_with("nesting") => "tools/make_nesting_fixtures.py",
        n if n.starts_with("graph") => "tools/make_graph_fixtures.py",
        n if n == "weights_interop.json" || n.starts_with("torch_") || n.starts_with("rust_") => {
            "tools/make_weight_fixtures.py"
        }
        n if n.starts_with("int8/") => "tools/make_int8_fixtures.py",
        _ => "tools/make_fixtures.py",
    }
}

/// The bytes of fixture `name`.
pub fn bytes(name: &str) -> Vec<u8> {
    let path = path(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (see {} for how to make it)",
            path.display(),
            made_by(name)
        )
    })
}

/// Fixture `name`, parsed as JSON.
pub fn fixture(name: &str) -> Value {
    serde_json::from_slice(&bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The entry of a fixture list whose `name` is `name`.
pub fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name:?} in the fixture"))
}

/// A number.
pub fn num(v: &Value) -> f32 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) as f32
}

/// A list of numbers.
pub fn nums(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(num)
        .collect()
}

/// Decodes base64 text of a fixture (standard alphabet, padded), as the fixture scripts
/// write it with Python's `base64.b64encode`.
pub fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("fixture: invalid base64: {e}"))
}

/// A tensor's shape.
pub fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .expect("tensor without a shape")
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

/// A tensor's elements as the fixture stores them, decimal or base64, not checked against its
/// shape (a fixture may store only every `stride`-th element of a large one).
pub fn elements(v: &Value) -> Vec<f32> {
    match v.get("f32le") {
        Some(b64) => base64_decode(b64.as_str().unwrap())
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        None => nums(v.get("data").expect("tensor without data")),
    }
}

/// A tensor's shape and its row-major values, as many as the shape says.
pub fn tensor(v: &Value) -> (Vec<usize>, Vec<f32>) {
    let (shape, data) = (shape(v), elements(v));
    assert_eq!(data.len(), shape.iter().product::<usize>(), "tensor size");
    (shape, data)
}

/// A tensor's row-major values, as many as its shape says.
pub fn values(v: &Value) -> Vec<f32> {
    tensor(v).1
}

/// A tensor's row-major values, checking that its shape is `shape`.
pub fn shaped(v: &Value, shape: &[usize]) -> Vec<f32> {
    let (got, data) = tensor(v);
    assert_eq!(got, shape, "tensor shape");
    data
}
