//! Saving and loading safetensors state dicts: round trips, and a typed error that names
//! the file and the tensor for every kind of bad file, with the network left unchanged.

mod common;
use common::scratch::scratch;

use std::path::Path;

use nn::io::{load_with, LoadOptions, WeightsError};
use nn::Network;

nn::network! {
    #[derive(Clone, PartialEq, Debug)]
    struct Named<fc1: Linear<6, 5>, act: ReLU, bn: BatchNorm<5>, fc2: Linear<5, 3>>
}
nn::network! { struct Other<fc1: Linear<6, 4>, act: ReLU, bn: BatchNorm<4>, fc2: Linear<4, 3>> }
nn::network! { struct Smaller<fc1: Linear<6, 5>, act: ReLU, fc2: Linear<5, 3>> }
nn::network! { struct Bigger<fc1: Linear<6, 5>, act: ReLU, bn: BatchNorm<5>, fc2: Linear<5, 3>, out: Linear<3, 2>> }

fn trained() -> Box<Named> {
    let mut net = Named::new(3);
    let mut tape = nn::Tape::new();
    net.forward_train(
        &[[0.5, -1.0, 2.0, 0.0, 1.0, 3.0], [1.0; 6], [-2.0; 6]],
        &mut tape,
    )
    .unwrap();
    net
}

fn names_file(err: &WeightsError, path: &Path) {
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn round_trip_keeps_every_parameter_and_buffer() {
    let dir = scratch("round-trip");
    let path = dir.join("net.safetensors");
    let net = trained();
    assert_eq!(net.bn.num_batches_tracked, 1);
    net.save(&path).unwrap();
    let mut back = Named::new(99);
    back.load(&path).unwrap();
    assert_eq!(*back, *net);
    // Nothing but the file itself is left in the folder.
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["net.safetensors"]);
}

#[test]
fn keys_are_pytorch_state_dict_names() {
    let dir = scratch("keys");
    let path = dir.join("net.safetensors");
    trained().save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    for key in [
        "\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[5,6]",
        "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[5]",
        "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[5]",
        "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[]",
        "\"fc2.weight\":{\"dtype\":\"F32\",\"shape\":[3,5]",
    ] {
        assert!(header.contains(key), "{key} not in {header}");
    }
}

/// Loads `path` into a copy of `net` and checks that the copy is unchanged.
fn load_fails(net: &Named, path: &Path, options: LoadOptions) -> WeightsError {
    let mut copy = net.clone();
    let err = load_with(&mut copy, path, options).unwrap_err();
    assert_eq!(copy, *net, "a failed load changed the network");
    names_file(&err, path);
    err
}

#[test]
fn missing_tensor() {
    let dir = scratch("missing");
    let path = dir.join("smaller.safetensors");
    Smaller::new(0).save(&path).unwrap();
    let err = load_fails(&trained(), &path, LoadOptions::default());
    assert!(
        matches!(&err, WeightsError::Missing { tensor, .. } if tensor == "bn.weight"),
        "{err}"
    );
}

#[test]
fn wrong_shape_names_both_shapes() {
    let dir = scratch("shape");
    let path = dir.join("other.safetensors");
    Other::new(0).save(&path).unwrap();
    let err = load_fails(&trained(), &path, LoadOptions::default());
    assert!(
        matches!(&err, WeightsError::Shape { tensor, expected, found, .. }
            if tensor == "fc1.weight" && expected == &[5, 6] && found == &[4, 6]),
        "{err}"
    );
    assert!(err.to_string().contains("[4, 6]") && err.to_string().contains("[5, 6]"));
}

#[test]
fn unexpected_tensor_unless_allowed() {
    let dir = scratch("unexpected");
    let path = dir.join("bigger.safetensors");
    let bigger = Bigger::new(4);
    bigger.save(&path).unwrap();
    let err = load_fails(&trained(), &path, LoadOptions::default());
    assert!(
        matches!(&err, WeightsError::Unexpected { tensor, .. } if tensor == "out.bias"),
        "{err}"
    );
    let mut net = trained();
    load_with(&mut *net, &path, LoadOptions::new().allow_unexpected(true)).unwrap();
    assert_eq!(net.fc2.weight, bigger.fc2.weight);
}

/// A safetensors file written by hand: `(name, dtype, shape, bytes)`.
fn write_raw(path: &Path, tensors: &[(&str, &str, &[usize], Vec<u8>)]) {
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (i, (name, dtype, shape, bytes)) in tensors.iter().enumerate() {
        let start = data.len();
        data.extend_from_slice(bytes);
        let shape: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        header += &format!(
            "{}\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{start},{}]}}",
            if i == 0 { "" } else { "," },
            shape.join(","),
            data.len()
        );
    }
    header.push('}');
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&data);
    std::fs::write(path, file).unwrap();
}

#[test]
fn wrong_dtype() {
    let dir = scratch("dtype");
    let path = dir.join("f64.safetensors");
    let good = dir.join("good.safetensors");
    let net = trained();
    net.save(&good).unwrap();
    // The same tensors, with fc1.weight stored as F64.
    let mut tensors: Vec<(&str, &str, &[usize], Vec<u8>)> = Vec::new();
    let w64: Vec<u8> = net
        .fc1
        .weight
        .as_flattened()
        .iter()
        .flat_map(|v| (*v as f64).to_le_bytes())
        .collect();
    tensors.push(("fc1.weight", "F64", &[5, 6], w64));
    write_raw(&path, &tensors);
    let err = load_fails(&net, &path, LoadOptions::default());
    assert!(
        matches!(&err, WeightsError::Dtype { tensor, expected, found, .. }
            if tensor == "fc1.weight" && expected == "F32" && found == "F64"),
        "{err}"
    );
}

#[test]
fn truncated_file() {
    let dir = scratch("truncated");
    let path = dir.join("net.safetensors");
    let net = trained();
    net.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // Cut inside the header, then inside the data.
    std::fs::write(&path, &bytes[..40]).unwrap();
    let err = load_fails(&net, &path, LoadOptions::default());
    assert!(
        matches!(err, WeightsError::Truncated { found: 40, .. }),
        "{err}"
    );
    std::fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
    let err = load_fails(&net, &path, LoadOptions::default());
    let (whole, cut) = (bytes.len() as u64, bytes.len() as u64 - 7);
    assert!(
        matches!(err, WeightsError::Truncated { expected, found, .. } if expected == whole && found == cut),
        "{err}"
    );
    std::fs::write(&path, &bytes[..3]).unwrap();
    let err = load_fails(&net, &path, LoadOptions::default());
    assert!(
        matches!(
            err,
            WeightsError::Truncated {
                expected: 8,
                found: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn absurd_header_and_garbage() {
    let dir = scratch("absurd");
    let path = dir.join("net.safetensors");
    let net = trained();
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, &bytes).unwrap();
    let err = load_fails(&net, &path, LoadOptions::default());
    assert!(
        matches!(
            err,
            WeightsError::AbsurdHeader {
                claimed: u64::MAX,
                ..
            }
        ),
        "{err}"
    );

    let mut bytes = 5u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"nope!");
    std::fs::write(&path, &bytes).unwrap();
    let err = load_fails(&net, &path, LoadOptions::default());
    assert!(matches!(err, WeightsError::Corrupt { .. }), "{err}");
}

#[test]
fn missing_file_and_unwritable_destination() {
    let dir = scratch("io");
    let path = dir.join("absent.safetensors");
    let err = load_fails(&trained(), &path, LoadOptions::default());
    assert!(matches!(err, WeightsError::Io { .. }), "{err}");

    let target = dir.join("no-such-folder").join("net.safetensors");
    let err = trained().save(&target).unwrap_err();
    assert!(matches!(err, WeightsError::Io { .. }), "{err}");
    names_file(&err, &target);
    assert!(!target.exists());
}

#[test]
fn a_failed_save_leaves_what_was_there_and_no_temporary_file() {
    let dir = scratch("keep");
    let path = dir.join("net.safetensors");
    // A non-empty folder where the file should go: refused, as any non-regular target.
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep.txt"), "kept").unwrap();
    let err = trained().save(&path).unwrap_err();
    assert!(
        matches!(
            err,
            WeightsError::NotAFile {
                kind: "a directory",
                ..
            }
        ),
        "{err}"
    );
    names_file(&err, &path);
    assert_eq!(
        std::fs::read_to_string(path.join("keep.txt")).unwrap(),
        "kept"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        ["net.safetensors"],
        "a temporary file was left behind"
    );
}

#[test]
fn concurrent_saves_to_one_path_all_succeed_with_a_whole_file() {
    let dir = scratch("concurrent");
    let path = dir.join("net.safetensors");
    let a = trained();
    let b = Named::new(11);
    std::thread::scope(|s| {
        for net in [&a, &b] {
            let path = &path;
            s.spawn(move || {
                for _ in 0..50 {
                    net.save(path).unwrap();
                }
            });
        }
    });
    let mut back = Named::new(0);
    back.load(&path).unwrap();
    assert!(*back == *a || *back == *b, "the file is neither network");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["net.safetensors"]);
}

#[test]
fn negative_count_is_refused() {
    let dir = scratch("negative");
    let path = dir.join("net.safetensors");
    let net = trained();
    let mut tensors: Vec<(String, &str, Vec<usize>, Vec<u8>)> = Vec::new();
    net.named_state(&mut |layer, name, shape, value| {
        let (dtype, bytes) = match value {
            nn::Buffer::F32(v) => ("F32", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            nn::Buffer::Count(_) => ("I64", (-3i64).to_le_bytes().to_vec()),
        };
        tensors.push((format!("{layer}.{name}"), dtype, shape.to_vec(), bytes));
    });
    let raw: Vec<(&str, &str, &[usize], Vec<u8>)> = tensors
        .iter()
        .map(|(k, d, s, b)| (k.as_str(), *d, s.as_slice(), b.clone()))
        .collect();
    write_raw(&path, &raw);
    let err = load_fails(&net, &path, LoadOptions::default());
    assert!(
        matches!(&err, WeightsError::Corrupt { reason, .. } if reason.contains("bn.num_batches_tracked")),
        "{err}"
    );
}

nn::network! {
    #[input(1, 28, 28)]
    struct Cnn<Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>, Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>, Flatten, Linear<400, 10>>
}
nn::network! {
    #[weights("data/weights/cnn.safetensors")]
    #[input(1, 28, 28)]
    struct BakedCnn<Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>, Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>, Flatten, Linear<400, 10>>
}

/// Convolutions' kernels bake in as `nn::io::load` reads them.
#[test]
fn image_layers_bake_as_they_load() {
    let mut loaded = Cnn::new(0);
    loaded
        .load(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/weights/cnn.safetensors"))
        .unwrap();
    static BAKED: BakedCnn = BakedCnn::WEIGHTS;
    let state = |f: &dyn Fn(&mut nn::StateVisitor<'_>)| {
        let mut out = Vec::new();
        f(&mut |m, t, _, v| out.push(format!("{m}.{t} {v:?}")));
        out
    };
    assert_eq!(
        state(&|f| BAKED.named_state(f)),
        state(&|f| loaded.named_state(f))
    );
    let x: [f32; 784] = std::array::from_fn(|i| (i % 17) as f32 / 17.0);
    assert_eq!(BAKED.forward(&x), loaded.forward(&x));
}
