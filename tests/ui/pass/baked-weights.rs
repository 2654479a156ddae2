// `#[weights]` bakes a safetensors file into the constant `WEIGHTS`, bit for bit what
// `nn::io` reads from the same file, so that a `static` model needs no parsing.
use nn::{Buffer, Network};

nn::network! {
    #[weights("tests/ui/weights/named.safetensors")]
    struct Named<fc1: Linear<3, 4>, act: ReLU, bn: BatchNorm<4>, fc2: Linear<4, 2>>
}
nn::network! { #[weights("tests/ui/weights/tiny.safetensors")] pub struct Tiny<Linear<2, 3>, ReLU, Linear<3, 1>> }

nn::network! {
    #[weights("tests/ui/weights/tiny-layernorm.safetensors")]
    struct Normed<Linear<2, 3>, LayerNorm<3>, Linear<3, 1>>
}

static NAMED: Named = Named::WEIGHTS;
static NORMED: Normed = Normed::WEIGHTS;
static TINY: Tiny = Tiny::WEIGHTS;

/// Every tensor of the state dict: its key and its values' bits.
fn bits<N: Network>(net: &N) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    net.named_state(&mut |layer, name, _, value| {
        let bits = match value {
            Buffer::F32(v) => v.iter().map(|x| u64::from(x.to_bits())).collect(),
            Buffer::Count(c) => vec![c],
        };
        out.push((format!("{layer}.{name}"), bits));
    });
    out
}

/// `net` after `nn::io` loaded `file` into it.
fn loaded<N: Network>(mut net: Box<N>, file: &[u8]) -> Vec<(String, Vec<u64>)> {
    let path = std::path::Path::new("fixture.safetensors");
    nn::io::load_bytes(&mut *net, file, path, Default::default()).unwrap();
    bits(&*net)
}

fn main() {
    let named = bits(&NAMED);
    assert_eq!(named, loaded(Named::new(0), include_bytes!("../weights/named.safetensors")));
    assert_eq!(named[0].1[0], u64::from((-0.0f32).to_bits()));
    assert_eq!(NAMED.bn.num_batches_tracked, 7);
    assert_eq!(NAMED.fc2.bias[1].to_bits(), 0x7fc0_1234);
    assert_eq!(bits(&TINY), loaded(Tiny::new(0), include_bytes!("../weights/tiny.safetensors")));
    let normed = bits(&NORMED);
    assert_eq!(normed, loaded(Normed::new(0), include_bytes!("../weights/tiny-layernorm.safetensors")));
    assert!(NORMED.1.weight.iter().all(|w| *w != 0.0 && *w != 1.0), "layer norm weights baked");
    let y: [f32; 1] = TINY.forward(&[0.5, -1.0]);
    assert!(y[0].is_finite());
}
