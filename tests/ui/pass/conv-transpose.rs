// `ConvTranspose2d` grows an image as PyTorch's does, `(H − 1)·S − 2P + K + OP` a side:
// 7 × 7 to 14 × 14 to 28 × 28, as a DCGAN-style decoder; sizes may be const items.
const SIDE: usize = 7;

nn::network! {
    #[input(4, SIDE, SIDE)]
    pub struct Decoder {
        up1: ConvTranspose2d<4, 8, 3, stride = 2, padding = 1, output_padding = 1>,
        act: ReLU,
        up2: ConvTranspose2d<8, 1, 4, stride = 2, padding = 1, bias = false>,
        out: Sigmoid,
        flat: Flatten,
        head: Linear<784, 10>,
    }
}

fn main() {
    let net = Decoder::new(0);
    let _: &nn::ConvTranspose2d<4, 8, 3, 2, 1, 1, 7, 7> = &net.up1;
    let _: &nn::ConvTranspose2d<8, 1, 4, 2, 1, 0, 14, 14, false> = &net.up2;
    let _: [f32; 10] = net.forward(&[0.5; 4 * 7 * 7]);
    assert_eq!(Decoder::PARAMS, (4 * 8 * 9 + 8) + 8 * 16 + (784 * 10 + 10));
    let summary = Decoder::summary().to_string();
    for shown in ["[batch, 8, 14, 14]", "[batch, 1, 28, 28]", "output_padding = 1", "bias = false"] {
        assert!(summary.contains(shown), "{shown} in\n{summary}");
    }
}
