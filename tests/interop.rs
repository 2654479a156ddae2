//! Weights interop with PyTorch, both directions, against files that
//! `tools/make_weight_fixtures.py` and this test wrote (see the script's header for how to
//! make them again). No Python runs here.
//!
//! - PyTorch → Rust (`from_pytorch_*`): PyTorch trained each network a few steps and saved it
//!   with `safetensors.torch.save_file(model.state_dict(), ..)`. `nn::io::load` reads it
//!   strictly; every tensor, BatchNorm's buffers included, must then equal the file's bit for
//!   bit, and `forward` (one sample) and `forward_batch` must give PyTorch's eval-mode output.
//! - Rust → PyTorch (`to_pytorch_*`): [`train_in_rust`] builds each network from a seed,
//!   trains it a few steps and saves it. The bytes must equal the committed
//!   `tests/fixtures/rust_*.safetensors` (so the committed file is exactly what this code
//!   writes), and the network's eval-mode output must equal the one PyTorch computed after
//!   `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` on that file.
//!
//! `NN_WRITE_FIXTURES=1 cargo test --test interop to_pytorch` (re)writes the `rust_*` files;
//! then rerun the script, which records PyTorch's outputs on them. A normal run only reads.
//!
//! Tolerances: `rel = 1e-5` (f32 has 24 bits, about 6e-8 per rounding, so 1e-5 leaves room
//! for a few hundred roundings in another order, not for a wrong weight or formula), plus an
//! absolute floor of 1e-5 times the output's largest magnitude: an output is a sum of 128
//! products that can cancel to near zero, and its rounding error scales with the terms, not
//! the sum. The script certifies these tolerances are fair: it refuses to record an output
//! unless PyTorch's float32 value lies within half a tolerance of float64's.
//!
//! Bit-exactness of the `rust_*` files: the bytes depend on every rounding of the training
//! steps. The matrix products run on the tiled kernel chosen at run time for the CPU
//! (AVX-512, AVX2+FMA or NEON, all summing in the same order) and the SGD update on its
//! vector unit, so machines with FMA write the same bytes; a CPU without FMA, or products
//! forced onto matrixmultiply (`NN_KERNEL=matrixmultiply`), may differ in the last bits. The
//! failure message says so.

#[macro_use]
mod common;
use common::fixture::{fixture, tensor};
use common::max_abs;
use common::scratch::scratch;

use std::collections::BTreeMap;

use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{BatchNorm, Buffer, Gradients, Network, Tape, TrainError};
use serde_json::Value;

nn::network! { struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
nn::network! {
    struct Named<fc1: Linear<784, 128>, act: ReLU, bn: BatchNorm<128>, fc2: Linear<128, 10>>
}

/// The relative tolerance of every comparison of outputs.
const REL: f32 = 1e-5;

/// Training steps in [`train_in_rust`] (and so BatchNorm's `num_batches_tracked`).
const STEPS: usize = 5;
/// Rows per training step in [`train_in_rust`].
const BATCH: usize = 32;

// -------------------------------------------------------------------------------------
// The two networks, behind one trait so that each check is written once. Each method is
// the generated method of the same name: the typed API a user calls.

trait Interop: Network {
    /// The network's name in `weights_interop.json`.
    const KEY: &'static str;
    /// The seed of [`train_in_rust`] (the weights' and the data's).
    const SEED: u64;
    fn boxed(seed: u64) -> Box<Self>;
    fn one(&self, x: &[f32; 784]) -> [f32; 10];
    fn batch(&self, x: &[[f32; 784]], tape: &mut Tape<Self>) -> Vec<[f32; 10]>;
    fn train(&mut self, x: &[[f32; 784]], tape: &mut Tape<Self>) -> Result<(), TrainError>;
    fn back(&self, x: &[[f32; 784]], tape: &mut Tape<Self>, grads: &mut Gradients<Self>);
    fn bn(&self) -> &BatchNorm<128>;
}

macro_rules! interop {
    ($net:ident, $key:literal, $seed:literal, $bn:tt) => {
        impl Interop for $net {
            const KEY: &'static str = $key;
            const SEED: u64 = $seed;
            fn boxed(seed: u64) -> Box<Self> {
                $net::new(seed)
            }
            fn one(&self, x: &[f32; 784]) -> [f32; 10] {
                $net::forward(self, x)
            }
            fn batch(&self, x: &[[f32; 784]], tape: &mut Tape<Self>) -> Vec<[f32; 10]> {
                $net::forward_batch(self, x, tape).to_vec()
            }
            fn train(&mut self, x: &[[f32; 784]], tape: &mut Tape<Self>) -> Result<(), TrainError> {
                $net::forward_train(self, x, tape).map(|_| ())
            }
            fn back(&self, x: &[[f32; 784]], tape: &mut Tape<Self>, grads: &mut Gradients<Self>) {
                $net::backward(self, x, tape, grads)
            }
            fn bn(&self) -> &BatchNorm<128> {
                &self.$bn
            }
        }
    };
}
interop!(Mnist, "mnist", 11, 2);
interop!(Named, "named", 12, bn);

// -------------------------------------------------------------------------------------
// Fixtures

/// The entry for network `key` in the fixture's list `side` (`from_pytorch`, `to_pytorch`).
fn entry<'a>(fx: &'a Value, side: &str, key: &str) -> &'a Value {
    fx[side]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["network"] == key)
        .unwrap_or_else(|| panic!("no {side} entry for {key} in weights_interop.json"))
}

/// The fixed inputs every output is computed on: `[rows, 784]`.
fn inputs(fx: &Value) -> Vec<[f32; 784]> {
    let (shape, data) = tensor(&fx["input"]);
    assert_eq!(shape[1], 784);
    data.as_chunks::<784>().0.to_vec()
}

/// CRC-32 (IEEE, as Python's `zlib.crc32`): ties an output recorded by the script to the
/// exact bytes it was computed from.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Checks that `bytes` are the file the script recorded in `e` (size and CRC-32).
fn same_file_as_recorded(e: &Value, bytes: &[u8], name: &str) {
    let recorded = (e["bytes"].as_u64().unwrap(), e["crc32"].as_u64().unwrap());
    assert_eq!(
        (bytes.len() as u64, u64::from(crc32(bytes))),
        recorded,
        "{name} is not the file whose outputs weights_interop.json records (size, CRC-32): \
         rerun tools/make_weight_fixtures.py"
    );
}

/// A safetensors file's tensors, read here without `nn::io` (a small reader of the format:
/// an 8-byte little-endian header length, a JSON header of `{name: {dtype, shape,
/// data_offsets}}`, then the data), so that a loading bug cannot hide behind itself.
fn safetensors_tensors(bytes: &[u8]) -> BTreeMap<String, (String, Vec<usize>, Vec<u8>)> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).expect("header is not JSON");
    let data = &bytes[8 + n..];
    let mut out = BTreeMap::new();
    for (name, t) in header.as_object().unwrap() {
        if name == "__metadata__" {
            continue;
        }
        let off: Vec<usize> = t["data_offsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_u64().unwrap() as usize)
            .collect();
        let shape = t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let dtype = t["dtype"].as_str().unwrap().to_string();
        out.insert(name.clone(), (dtype, shape, data[off[0]..off[1]].to_vec()));
    }
    out
}

/// The network's state dict as a safetensors file would hold it: `name -> (dtype, shape,
/// little-endian bytes)`.
fn state_dict<N: Network>(net: &N) -> BTreeMap<String, (String, Vec<usize>, Vec<u8>)> {
    let mut out = BTreeMap::new();
    net.named_state(&mut |layer, name, shape, value| {
        let (dtype, bytes) = match value {
            Buffer::F32(v) => ("F32", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Buffer::Count(c) => ("I64", (c as i64).to_le_bytes().to_vec()),
        };
        out.insert(
            format!("{layer}.{name}"),
            (dtype.to_string(), shape.to_vec(), bytes),
        );
    });
    out
}

// -------------------------------------------------------------------------------------
// Checks

/// Both inference paths of `net` on the fixed inputs against PyTorch's eval output `want`
/// (`[rows, 10]`): `forward_batch` (matrixmultiply) and `forward` (the one-sample kernel).
/// Returns the largest share of its tolerance any element used.
fn check_outputs<N: Interop>(net: &N, x: &[[f32; 784]], want: &Value, ctx: &str) -> f64 {
    let (shape, want) = tensor(want);
    assert_eq!(shape, [x.len(), 10], "{ctx}: output shape");
    // See the header: rel 1e-5, and a floor of 1e-5 times the largest output, because an
    // output is a sum of 128 products that can cancel.
    let floor = REL * max_abs(&want);
    let mut tape = Tape::new();
    let batch = net.batch(x, &mut tape);
    let mut used = 0.0f64;
    let mut note = |got: &[f32], want: &[f32]| {
        for (g, w) in got.iter().zip(want) {
            let tol = f64::from(REL) * f64::from(w.abs()) + f64::from(floor);
            used = used.max(f64::from((g - w).abs()) / tol);
        }
    };
    assert_close!(
        batch.as_flattened(),
        want,
        rel = REL,
        abs = floor,
        "{ctx}: forward_batch"
    );
    note(batch.as_flattened(), &want);
    for (r, (xr, wr)) in x.iter().zip(want.chunks(10)).enumerate() {
        let y = net.one(xr);
        assert_close!(y, wr, rel = REL, abs = floor, "{ctx}: forward, row {r}");
        note(&y, wr);
    }
    used
}

/// PyTorch → Rust: load PyTorch's file strictly, check every tensor against the file's
/// bytes and the outputs against PyTorch's.
fn from_pytorch<N: Interop>() {
    let fx = fixture("weights_interop.json");
    let e = entry(&fx, "from_pytorch", N::KEY);
    let name = e["file"].as_str().unwrap();
    let bytes = common::fixture::bytes(name);
    same_file_as_recorded(e, &bytes, name);

    // A network from another seed, so that nothing passes by starting equal.
    let mut net = N::boxed(12345);
    nn::io::load(&mut *net, common::fixture::path(name))
        .unwrap_or_else(|err| panic!("strict load of PyTorch's file failed: {err}"));

    // Every tensor, parameters and buffers alike, holds the file's exact bytes, with the
    // file's dtype and shape; and the file has no tensor the network lacks.
    let file = safetensors_tensors(&bytes);
    let ours = state_dict(&*net);
    assert_eq!(
        file.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "{name}: the file's keys and the network's state dict differ"
    );
    for (key, (dtype, shape, data)) in &file {
        let (d, s, v) = &ours[key];
        assert_eq!((d, s), (dtype, shape), "{name}: {key}: dtype or shape");
        assert!(v == data, "{name}: {key}: values differ from the file's");
    }
    // BatchNorm's buffers, through the public fields, against the file and the script.
    let bn = net.bn();
    let prefix = if N::KEY == "mnist" { "2" } else { "bn" };
    let f32s = |key: &str| -> Vec<f32> {
        let (_, _, raw) = &file[&format!("{prefix}.{key}")];
        raw.chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    assert_eq!(bn.running_mean[..], f32s("running_mean")[..], "{name}");
    assert_eq!(bn.running_var[..], f32s("running_var")[..], "{name}");
    assert!(
        bn.running_var.iter().all(|v| *v != 1.0) && bn.running_mean.iter().all(|m| *m != 0.0),
        "{name}: the running statistics should be trained, not initial"
    );
    let (_, _, count) = &file[&format!("{prefix}.num_batches_tracked")];
    let count = i64::from_le_bytes(count[..].try_into().unwrap());
    assert_eq!(bn.num_batches_tracked as i64, count, "{name}");
    assert_eq!(
        bn.num_batches_tracked,
        e["num_batches_tracked"].as_u64().unwrap()
    );

    let used = check_outputs(&*net, &inputs(&fx), &e["eval_output"], name);
    eprintln!("{name}: closest output used {used:.3} of its tolerance");
}

/// The Rust side's network for the `rust_*` fixture: built from [`Interop::SEED`] and trained
/// [`STEPS`] steps of SGD (lr 0.05, momentum 0.9) with cross-entropy on seeded batches of
/// [`BATCH`] rows, uniform in ±√3 (mean 0, variance 1) with random classes. Deterministic:
/// fixed seeds, and sums in a fixed order (see this file's header).
fn train_in_rust<N: Interop>() -> Box<N> {
    let mut net = N::boxed(N::SEED);
    let mut rng = nn::Rng::seed(N::SEED + 1000);
    let a = 3.0f32.sqrt();
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut opt = Sgd::new(0.05).momentum(0.9);
    let loss_fn = CrossEntropyLoss::default();
    for _ in 0..STEPS {
        let x: Vec<[f32; 784]> = (0..BATCH)
            .map(|_| std::array::from_fn(|_| rng.uniform(-a, a)))
            .collect();
        let y: Vec<usize> = (0..BATCH).map(|_| rng.below(10)).collect();
        opt.zero_grad(&mut grads);
        net.train(&x, &mut tape).unwrap();
        tape.loss(&loss_fn, &y[..]);
        net.back(&x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
    }
    assert_eq!(net.bn().num_batches_tracked, STEPS as u64);
    net
}

/// Rust → PyTorch: the committed `rust_*` file is what [`train_in_rust`] writes now, and
/// PyTorch's outputs on it (after a strict load) are this network's.
fn to_pytorch<N: Interop>() {
    let name = format!("rust_{}.safetensors", N::KEY);
    let net = train_in_rust::<N>();

    // NN_WRITE_FIXTURES=1: (re)write the committed file. The checks below then compare it
    // with itself and, once the script has recorded PyTorch's outputs on it, with those.
    let writing = std::env::var_os("NN_WRITE_FIXTURES").is_some_and(|v| v == "1");
    if writing {
        let path = common::fixture::path(&name);
        nn::io::save(&*net, &path).unwrap();
        eprintln!(
            "wrote {} ({} bytes)",
            path.display(),
            std::fs::metadata(&path).unwrap().len()
        );
    }

    // The bytes this code writes now.
    let tmp = scratch(&format!("to_pytorch-{}", N::KEY)).join(&name);
    nn::io::save(&*net, &tmp).unwrap();
    let written = std::fs::read(&tmp).unwrap();
    std::fs::remove_file(&tmp).unwrap();
    let committed = common::fixture::bytes(&name);
    assert!(
        written == committed,
        "tests/fixtures/{name} ({} bytes) is not what train_in_rust writes now ({} bytes, \
         {} bytes differ): the initialisation, the training arithmetic or the writer changed. \
         If that is intended, rewrite it with `NN_WRITE_FIXTURES=1 cargo test --test interop \
         to_pytorch`, then rerun tools/make_weight_fixtures.py. (On a CPU without FMA, or with \
         NN_KERNEL=matrixmultiply, the last bits may differ: see this file's header.)",
        committed.len(),
        written.len(),
        written
            .iter()
            .zip(&committed)
            .filter(|(a, b)| a != b)
            .count()
            + written.len().abs_diff(committed.len()),
    );

    if writing {
        let recorded = common::fixture::path("weights_interop.json")
            .exists()
            .then(|| entry(&fixture("weights_interop.json"), "to_pytorch", N::KEY).clone());
        let current = recorded.is_some_and(|e| {
            e["bytes"].as_u64() == Some(committed.len() as u64)
                && e["crc32"].as_u64() == Some(u64::from(crc32(&committed)))
        });
        if !current {
            eprintln!(
                "{name}: PyTorch has not read this file yet: run tools/make_weight_fixtures.py"
            );
            return;
        }
    }
    let fx = fixture("weights_interop.json");
    let e = entry(&fx, "to_pytorch", N::KEY);
    assert_eq!(e["file"], name.as_str());
    same_file_as_recorded(e, &committed, &name);
    assert_eq!(
        e["num_batches_tracked"].as_u64().unwrap(),
        net.bn().num_batches_tracked,
        "{name}: PyTorch read another num_batches_tracked"
    );
    let used = check_outputs(&*net, &inputs(&fx), &e["eval_output"], &name);
    eprintln!("{name}: closest output used {used:.3} of its tolerance");
}

#[test]
fn from_pytorch_mnist() {
    from_pytorch::<Mnist>();
}

#[test]
fn from_pytorch_named() {
    from_pytorch::<Named>();
}

#[test]
fn to_pytorch_mnist() {
    to_pytorch::<Mnist>();
}

#[test]
fn to_pytorch_named() {
    to_pytorch::<Named>();
}

#[test]
fn keys_must_match_the_declaration() {
    // The same layers under other names do not load: strict loading goes by PyTorch's keys.
    let err = nn::io::load(
        &mut *Named::new(0),
        common::fixture::path("torch_mnist.safetensors"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, nn::io::WeightsError::Missing { tensor, .. } if tensor == "fc1.weight"),
        "{err}"
    );
    let err = nn::io::load(
        &mut *Mnist::new(0),
        common::fixture::path("torch_named.safetensors"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, nn::io::WeightsError::Missing { tensor, .. } if tensor == "0.weight"),
        "{err}"
    );
}

#[test]
fn crc32_is_zlibs() {
    // zlib.crc32(b"123456789") == 0xCBF43926, the standard check value.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}
