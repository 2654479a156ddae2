// `#[weights]` bakes a transposed convolution (its weight in PyTorch's `[in, out, k, k]`) and
// layers built without bias, in the network itself and through a nested one, bit for bit what
// `nn::io` reads from the same files.
use nn::{Buffer, Network};

nn::network! {
    #[input(2, 3, 3)]
    #[weights("tests/ui/weights/conv-transpose.safetensors")]
    pub struct Gen<
        ConvTranspose2d<2, 3, 2, stride = 2>, ReLU,
        Conv2d<3, 4, 3, bias = false>, Flatten, Linear<64, 5, bias = false>,
    >
}
nn::network! {
    #[weights("tests/ui/weights/nested-conv-transpose.safetensors")]
    pub struct Top<Linear<4, 18>, Gen>
}

static GEN: Gen = Gen::WEIGHTS;
static TOP: Top = Top::WEIGHTS;

/// Every tensor of the state dict: its key and its values' bits.
fn bits<N: Network>(net: &N) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    net.named_state(&mut |layer, name, _, value| {
        if let Buffer::F32(v) = value {
            out.push((format!("{layer}.{name}"), v.iter().map(|x| x.to_bits()).collect()));
        }
    });
    out
}

/// `net` after `nn::io` loaded `file` into it.
fn loaded<N: Network>(mut net: Box<N>, file: &[u8]) -> Vec<(String, Vec<u32>)> {
    nn::io::load_bytes(&mut *net, file, "fixture", Default::default()).unwrap();
    bits(&*net)
}

fn main() {
    let gen = bits(&GEN);
    assert_eq!(gen, loaded(Gen::new(0), include_bytes!("../weights/conv-transpose.safetensors")));
    let keys: Vec<&str> = gen.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["0.weight", "0.bias", "2.weight", "4.weight"]);
    assert_eq!(GEN.2.bias, [0.0; 4], "a layer without bias holds zeros");
    let file = include_bytes!("../weights/nested-conv-transpose.safetensors");
    assert_eq!(bits(&TOP), loaded(Top::new(0), file));
    assert_eq!(TOP.1.4.bias, [0.0; 5]);
    let y: [f32; 5] = TOP.forward(&[0.5, -1.0, 0.25, 2.0]);
    assert!(y.iter().all(|v| v.is_finite()));
}
