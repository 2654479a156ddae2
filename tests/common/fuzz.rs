//! The checks that the fuzz targets (`fuzz/`) run on random input and `tests/fuzz_corpus.rs`
//! replays on the kept corpus: any input is a value or a typed error, never a panic, and a
//! failed load leaves the network as it was.

use std::path::PathBuf;

use nn::data::{read_csv, read_idx_images, read_idx_labels, Separator};
use nn::io::{load_bytes, LoadOptions};
use nn::{Buffer, Network};

nn::network! {
    /// A small network with parameters and buffers (a counter among them), whose names a
    /// fuzzed file may or may not hold.
    pub struct Probe { fc: Linear<2, 3>, bn: BatchNorm<3> }
}

/// Every tensor of `net`'s state dict, as text, to compare before and after a load.
fn state(net: &Probe) -> Vec<String> {
    let mut out = Vec::new();
    net.named_state(&mut |m, t, _, v| {
        let v = match v {
            Buffer::F32(v) => format!("{:?}", v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
            Buffer::Count(c) => c.to_string(),
        };
        out.push(format!("{m}.{t} {v}"));
    });
    out
}

/// A safetensors file: parsed by the shared reader, and loaded strictly and not.
pub fn safetensors(data: &[u8]) {
    let _ = nn_safetensors::File::parse(data);
    for options in [LoadOptions::new(), LoadOptions::new().strict(false)] {
        let mut net = Probe::new(0);
        let before = state(&net);
        if load_bytes(&mut *net, data, "fuzz.safetensors", options).is_err() {
            assert_eq!(state(&net), before, "a failed load changed the network");
        }
    }
}

/// A file of this process's own, for the readers that take a path.
fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("nn-fuzz-{}-{name}", std::process::id()));
    std::fs::write(&path, data).expect("the temporary folder is writable");
    path
}

/// An IDX file, gzip or not, read as images of 4 pixels and as labels.
pub fn idx(data: &[u8]) {
    let path = scratch("idx", data);
    let _ = read_idx_images::<4>(&path);
    let _ = read_idx_labels(&path);
    let _ = std::fs::remove_file(&path);
}

/// A CSV file, gzip or not, read as rows of 3 cells, comma and whitespace separated.
pub fn csv(data: &[u8]) {
    let path = scratch("csv", data);
    let _ = read_csv::<3>(&path, Separator::COMMA);
    let _ = read_csv::<3>(&path, Separator::Whitespace);
    let _ = std::fs::remove_file(&path);
}
