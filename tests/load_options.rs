//! Loading as PyTorch users do: from memory, under a key prefix (a checkpoint that wraps the
//! network, a sub-network's slice of a bigger file), and non-strictly, with the missing and
//! unexpected names returned as `load_state_dict(strict=False)` returns them. A strict load
//! that fails on names says what the file holds, and where a layer's bias is on one side only
//! (PyTorch's `bias=False`), how to declare the layer; any failed load leaves the network as it
//! was.

mod common;
use common::scratch::scratch;

use std::path::Path;

use nn::io::{load_bytes, load_with, LoadOptions, Loaded, WeightsError};

nn::network! {
    #[derive(Clone, PartialEq, Debug)]
    struct Net { fc1: Linear<6, 5>, act: ReLU, bn: BatchNorm<5>, fc2: Linear<5, 2> }
}
nn::network! { #[derive(Clone, PartialEq, Debug)] struct Head { fc1: Linear<6, 5>, act: ReLU } }
nn::network! { #[derive(Clone, PartialEq, Debug)] struct Encoder<Linear<6, 5>, ReLU, Linear<5, 3>> }
nn::network! { #[derive(Clone, PartialEq, Debug)] struct Decoder<Linear<3, 5>, Tanh, Linear<5, 6>> }
nn::network! { #[derive(Clone, PartialEq, Debug)] struct AutoEncoder { enc: Encoder, dec: Decoder } }

/// The float32 tensor `name` of a safetensors file, with its shape.
fn read_f32(path: &Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let t = &header[name];
    assert_eq!(t["dtype"], "F32", "{name}");
    let shape = t["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize);
    let offsets: Vec<usize> = t["data_offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = &bytes[8 + n + offsets[0]..8 + n + offsets[1]];
    let values = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()));
    (shape.collect(), values.collect())
}

/// Loads into a copy of `net` and checks that a failure leaves it unchanged.
fn load_fails<N: nn::Network + Clone + PartialEq + std::fmt::Debug>(
    net: &N,
    path: &Path,
    options: LoadOptions<'_>,
) -> WeightsError {
    let mut copy = net.clone();
    let err = load_with(&mut copy, path, options).unwrap_err();
    assert_eq!(copy, *net, "a failed load changed the network");
    err
}

/// A checkpoint written by PyTorch around the network (`model.fc1.weight`, ...) loads with
/// the prefix stripped, and the network then gives PyTorch's output.
#[test]
fn pytorch_checkpoint_with_a_model_prefix() {
    let path = common::fixture::path("load_checkpoint.safetensors");
    let mut net = Net::new(0);
    let loaded = load_with(&mut *net, &path, LoadOptions::new().prefix("model.")).unwrap();
    // `check.input` and `check.output` lie outside the prefix: neither loaded nor unexpected.
    assert_eq!(loaded, Loaded::default());
    assert_eq!(net.bn.num_batches_tracked, 3);
    let (shape, x) = read_f32(&path, "check.input");
    let (_, want) = read_f32(&path, "check.output");
    assert_eq!(shape, [4, 6]);
    let rows: Vec<[f32; 6]> = x.chunks_exact(6).map(|r| r.try_into().unwrap()).collect();
    let got: Vec<f32> = net.predict(&rows).into_iter().flatten().collect();
    // Float32 on both sides over three small layers: a few units in the last place.
    assert_close!(
        got,
        want,
        rel = 1e-5,
        abs = 1e-6,
        "PyTorch's eval-mode output"
    );
}

/// Without the prefix, the strict load fails, lists what the file holds and names the
/// prefix to load with.
#[test]
fn prefixed_file_without_the_prefix_says_which_prefix() {
    let path = common::fixture::path("load_checkpoint.safetensors");
    let err = load_fails(&*Net::new(0), &path, LoadOptions::new());
    let WeightsError::Missing {
        tensor,
        others,
        file,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(tensor, "fc1.weight");
    assert_eq!(others.len(), 8, "{others:?}");
    assert_eq!(file[0], "check.input");
    let text = err.to_string();
    assert!(text.contains("the file has `check.input`, `check.output`, `model.bn.bias`, `model.bn.num_batches_tracked`, 7 more"), "{text}");
    assert!(
        text.ends_with("load with `LoadOptions::new().prefix(\"model.\")`"),
        "{text}"
    );
}

/// An `Encoder` loads from the file PyTorch wrote for a whole `AutoEncoder` (its `enc.`
/// keys), and gets exactly what the `AutoEncoder` loaded whole gets.
#[test]
fn sub_network_from_a_bigger_pytorch_file() {
    let path = common::fixture::path("nesting_autoencoder.safetensors");
    let mut whole = AutoEncoder::new(0);
    whole.load(&path).unwrap();
    let mut enc = Encoder::new(1);
    let loaded = load_with(&mut *enc, &path, LoadOptions::new().prefix("enc.")).unwrap();
    assert_eq!(
        loaded,
        Loaded::default(),
        "`dec.` keys lie outside the prefix"
    );
    assert_eq!(*enc, whole.enc);
    let mut dec = Decoder::new(1);
    load_with(&mut *dec, &path, LoadOptions::new().prefix("dec.")).unwrap();
    assert_eq!(*dec, whole.dec);
    // And the other way: a file of the encoder alone, into the autoencoder's field.
    let dir = scratch("into-field");
    let alone = dir.join("encoder.safetensors");
    enc.save(&alone).unwrap();
    let mut other = AutoEncoder::new(2);
    nn::io::load(&mut other.enc, &alone).unwrap();
    assert_eq!(other.enc, whole.enc);
}

/// PyTorch's `strict=False`: what the file lacks keeps its value, what the network lacks is
/// skipped; both come back by name.
#[test]
fn non_strict_returns_missing_and_unexpected_names() {
    let dir = scratch("non-strict");
    // A file with fc1 and an extra layer, but without bn and fc2.
    nn::network! { struct Saved { fc1: Linear<6, 5>, act: ReLU, extra: Linear<5, 5> } }
    let saved = Saved::new(7);
    let path = dir.join("saved.safetensors");
    saved.save(&path).unwrap();

    let before = Net::new(0);
    let mut net = before.clone();
    let loaded = load_with(&mut *net, &path, LoadOptions::new().strict(false)).unwrap();
    assert_eq!(
        loaded.missing_keys,
        [
            "bn.weight",
            "bn.bias",
            "bn.running_mean",
            "bn.running_var",
            "bn.num_batches_tracked",
            "fc2.weight",
            "fc2.bias"
        ]
    );
    assert_eq!(loaded.unexpected_keys, ["extra.bias", "extra.weight"]);
    assert_eq!(net.fc1, saved.fc1, "what the file has is loaded");
    assert_eq!(
        (&net.bn, &net.fc2),
        (&before.bn, &before.fc2),
        "the rest is kept"
    );

    // Strict, the same file fails on the first missing name and lists all of them.
    let err = load_fails(&*before, &path, LoadOptions::new());
    assert!(
        matches!(&err, WeightsError::Missing { tensor, others, .. }
        if tensor == "bn.weight" && others.len() == 6),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("tensor `bn.weight` is missing (and 6: `bn.bias`, `bn.running_mean`, `bn.running_var`, `bn.num_batches_tracked`, 2 more); the file has `extra.bias`, `extra.weight`, `fc1.bias`, `fc1.weight`; load with `LoadOptions::new().strict(false)`"), "{text}");
}

/// A shape mismatch is an error even when not strict, as in PyTorch, and changes nothing.
#[test]
fn non_strict_still_refuses_a_wrong_shape() {
    let dir = scratch("non-strict-shape");
    nn::network! { struct Wider { fc1: Linear<6, 7>, act: ReLU } }
    let path = dir.join("wider.safetensors");
    Wider::new(0).save(&path).unwrap();
    let err = load_fails(&*Net::new(0), &path, LoadOptions::new().strict(false));
    assert!(
        matches!(&err, WeightsError::Shape { tensor, .. } if tensor == "fc1.weight"),
        "{err}"
    );
    // Under a prefix, the error names the tensor as the file does.
    let err = load_fails(
        &*Head::new(0),
        &path,
        LoadOptions::new().prefix("").strict(false),
    );
    assert!(
        err.to_string()
            .contains("tensor `fc1.weight` has shape [7, 6]"),
        "{err}"
    );
}

/// Unexpected tensors, strictly, are listed together.
#[test]
fn strict_lists_every_unexpected_tensor() {
    let path = common::fixture::path("load_checkpoint.safetensors");
    let err = load_fails(&*Head::new(0), &path, LoadOptions::new().prefix("model."));
    let text = err.to_string();
    assert!(
        matches!(&err, WeightsError::Unexpected { tensor, others, .. }
        if tensor == "model.bn.bias" && others.len() == 6),
        "{err}"
    );
    assert!(text.contains("tensor `model.bn.bias` is not in the network (nor are 6 more: `model.bn.num_batches_tracked`, `model.bn.running_mean`, `model.bn.running_var`, `model.bn.weight`, 2 more)"), "{text}");
    let mut head = Head::new(0);
    let loaded = load_with(
        &mut *head,
        &path,
        LoadOptions::new().prefix("model.").allow_unexpected(true),
    )
    .unwrap();
    assert_eq!(loaded.unexpected_keys.len(), 7);
    assert!(loaded.missing_keys.is_empty());
}

/// From memory: the bytes of a file, named in errors by the name given.
#[test]
fn from_bytes_in_memory() {
    let bytes = std::fs::read(common::fixture::path("load_checkpoint.safetensors")).unwrap();
    let mut net = Net::new(0);
    load_bytes(
        &mut *net,
        &bytes,
        "checkpoint",
        LoadOptions::new().prefix("model."),
    )
    .unwrap();
    let mut from_file = Net::new(1);
    load_with(
        &mut *from_file,
        common::fixture::path("load_checkpoint.safetensors"),
        LoadOptions::new().prefix("model."),
    )
    .unwrap();
    assert_eq!(net, from_file);

    let before = net.clone();
    let err = load_bytes(&mut *net, &bytes[..100], "checkpoint", LoadOptions::new()).unwrap_err();
    assert!(
        err.to_string().starts_with("checkpoint: truncated"),
        "{err}"
    );
    assert_eq!(net, before);
}

/// A plain file (keys `fc1.weight`, ...) loaded under a prefix it lacks finds nothing: the
/// prefix is not dropped to match the plain keys. Strictly, every tensor is missing and
/// the network is unchanged; not strictly, every key comes back missing, weights as built.
#[test]
fn a_plain_file_under_a_prefix_it_lacks_loads_nothing() {
    use nn::Network;
    let dir = scratch("plain-under-prefix");
    let path = dir.join("plain.safetensors");
    nn::io::save(&*Net::new(0), &path).unwrap();
    let built = Net::new(1);
    let err = load_fails(&*built, &path, LoadOptions::new().prefix("model."));
    assert!(
        matches!(&err, WeightsError::Missing { tensor, others, .. }
        if tensor == "fc1.weight" && others.len() == 8),
        "{err}"
    );
    let mut net = built.clone();
    let loaded = load_with(
        &mut *net,
        &path,
        LoadOptions::new().prefix("model.").strict(false),
    )
    .unwrap();
    let mut keys = Vec::new();
    net.named_state(&mut |m, t, _, _| keys.push(format!("{m}.{t}")));
    assert_eq!(loaded.missing_keys, keys);
    assert!(
        loaded.unexpected_keys.is_empty(),
        "plain keys lie outside the prefix"
    );
    assert_eq!(net, built, "nothing was loaded");
    std::fs::remove_dir_all(&dir).unwrap();
}

// PyTorch's `nn.Sequential(ConvTranspose2d(2, 3, 2, stride=2, bias=False), ReLU(),
// Conv2d(3, 4, 3, bias=False), Flatten(), Linear(64, 5, bias=False))`, declared as PyTorch
// built it, and declared with the biases PyTorch's defaults would have.
nn::network! {
    #[input(2, 3, 3)]
    #[derive(Clone, PartialEq, Debug)]
    struct NoBias<
        ConvTranspose2d<2, 3, 2, stride = 2, bias = false>, ReLU,
        Conv2d<3, 4, 3, bias = false>, Flatten, Linear<64, 5, bias = false>,
    >
}
nn::network! {
    #[input(2, 3, 3)]
    #[derive(Clone, PartialEq, Debug)]
    struct WithBias<
        ConvTranspose2d<2, 3, 2, stride = 2>, ReLU,
        Conv2d<3, 4, 3, bias = false>, Flatten, Linear<64, 5>,
    >
}
nn::network! { #[derive(Clone, PartialEq, Debug)] struct Outer { gen: WithBias } }
nn::network! { #[derive(Clone, PartialEq, Debug)] struct OuterNoBias { gen: NoBias } }

/// A state dict of layers built with `bias=False` loads strictly into layers declared
/// `bias = false`, and the network gives PyTorch's output. Into layers declared with a bias,
/// the strict load says that PyTorch's layer was built without one and how to declare it,
/// at any depth.
#[test]
fn a_pytorch_file_without_biases_needs_layers_declared_without() {
    let path = common::fixture::path("conv_transpose_no_bias.safetensors");
    // `check.input` and `check.output` are the test's, not the network's.
    let options = LoadOptions::new().allow_unexpected(true);
    let mut net = NoBias::new(0);
    let loaded = load_with(&mut *net, &path, options).unwrap();
    assert!(loaded.missing_keys.is_empty());
    let (shape, x) = read_f32(&path, "check.input");
    let (_, want) = read_f32(&path, "check.output");
    assert_eq!(shape, [4, 2, 3, 3]);
    let rows: Vec<[f32; 18]> = x.chunks_exact(18).map(|r| r.try_into().unwrap()).collect();
    let got: Vec<f32> = net.predict(&rows).into_iter().flatten().collect();
    // Float32 on both sides through three layers of sums of both signs: a floor.
    assert_close!(got, want, rel = 1e-5, abs = 1e-6, "PyTorch's output");

    let err = load_fails(&*WithBias::new(0), &path, options);
    assert!(
        matches!(&err, WeightsError::Bias { tensor, layer, in_file: false, others, .. }
            if tensor == "0.bias"
                && layer == "ConvTranspose2d<2, 3, 2, stride = 2>"
                && others == &["4.bias"]),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.ends_with(
            "tensor `0.bias` is missing (and 1: `4.bias`); the file has the layer's weight but \
             no bias: PyTorch's layer was built without bias (`bias=False`); declare it \
             `ConvTranspose2d<2, 3, 2, stride = 2, bias = false>`"
        ),
        "{text}"
    );
    // In a nested network, the layer is found under its path.
    let dir = scratch("no-bias-nested");
    let nested = dir.join("nested.safetensors");
    nn::io::save(&*OuterNoBias::new(0), &nested).unwrap();
    let err = load_fails(&*Outer::new(0), &nested, LoadOptions::new());
    assert!(
        matches!(&err, WeightsError::Bias { tensor, layer, .. }
            if tensor == "gen.0.bias" && layer == "ConvTranspose2d<2, 3, 2, stride = 2>"),
        "{err:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The reverse: a file with a bias, for a layer declared `bias = false`, names the tensor and
/// the declaration that has one.
#[test]
fn a_file_with_a_bias_for_a_layer_declared_without() {
    let dir = scratch("bias-for-no-bias");
    let path = dir.join("with-bias.safetensors");
    nn::io::save(&*WithBias::new(0), &path).unwrap();
    let mut net = NoBias::new(0);
    let err = load_with(&mut *net, &path, LoadOptions::new()).unwrap_err();
    assert!(
        matches!(&err, WeightsError::Bias { tensor, in_file: true, .. } if tensor == "0.bias"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.ends_with(
            "tensor `0.bias` is not in the network (nor are 1 more: `4.bias`); \
             `ConvTranspose2d<2, 3, 2, stride = 2, bias = false>` has no bias, but PyTorch's \
             layer was built with one; declare it `ConvTranspose2d<2, 3, 2, stride = 2>`"
        ),
        "{text}"
    );
    // Ignoring it loads the weights, as PyTorch's `strict=False` would.
    let loaded = load_with(&mut *net, &path, LoadOptions::new().allow_unexpected(true)).unwrap();
    assert_eq!(loaded.unexpected_keys, ["0.bias", "4.bias"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
