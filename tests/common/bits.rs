//! Bit patterns, for results that must agree exactly: `assert_eq!` on them compares every
//! float's bits, and tells `0.0` from `-0.0` and one NaN from another.

use nn::{Buffer, Network};

/// Each value's bits.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Every tensor of the state dict, parameters and buffers: its key and its values' bits.
pub fn state_bits<N: Network>(net: &N) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    net.named_state(&mut |module, name, _, value| {
        let v = match value {
            Buffer::F32(v) => v.iter().map(|x| u64::from(x.to_bits())).collect(),
            Buffer::Count(c) => vec![c],
        };
        out.push((format!("{module}.{name}"), v));
    });
    out
}

/// Every parameter's bits, in the order of `Network::named_params`.
pub fn param_bits<N: Network>(net: &N) -> Vec<u32> {
    let mut out = Vec::new();
    net.named_params(&mut |_, _, _, v| out.extend(bits(v)));
    out
}
