// Every width-keeping layer: activations with PyTorch's defaults or a constant of their
// own, softmax, identity, dropout, and layer norm (checked like batch norm).
const HIDDEN: usize = 16;

nn::network! {
    struct Everything<
        Linear<4, HIDDEN>, LayerNorm<HIDDEN>, LeakyReLU, LeakyReLU<0.2>, ELU, ELU<0.5>, GELU,
        GELU<tanh>, SiLU, Identity, Dropout, Dropout<0.1>, Linear<HIDDEN, 3>, LogSoftmax, Softmax
    >
}

fn main() {
    let net = Everything::new(0);
    let _: &nn::LayerNorm<HIDDEN> = &net.1;
    let _: &nn::LeakyReLU<HIDDEN> = &net.2;
    let _: &nn::LeakyReLU<HIDDEN, { 0.2f32.to_bits() }> = &net.3;
    let _: &nn::ELU<HIDDEN, { 0.5f32.to_bits() }> = &net.5;
    let _: &nn::GeluTanh<HIDDEN> = &net.7;
    let _: &nn::Dropout<HIDDEN, { 0.1f32.to_bits() }> = &net.11;
    let y: [f32; 3] = net.forward(&[0.5, -1.0, 2.0, 0.0]);
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6, "softmax of log-softmax sums to 1");
    assert_eq!(Everything::PARAMS, (4 * HIDDEN + HIDDEN) + 2 * HIDDEN + (HIDDEN * 3 + 3));
    let summary = Everything::summary().to_string();
    for shown in ["LayerNorm<16>", "LeakyReLU<0.2>", "ELU<0.5>", "GELU<tanh>", "Dropout<0.1>"] {
        assert!(summary.contains(shown), "{shown} in\n{summary}");
    }
}
