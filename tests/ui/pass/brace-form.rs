// Named layers in Rust's own struct syntax, with a trailing comma and per-layer docs.
nn::network! {
    struct Regressor {
        /// The hidden layer.
        hidden: Linear<10, 32>,
        act: Sigmoid,
        out: Linear<32, 1>,
    }
}

fn main() {
    let net = Regressor::new(3);
    let _: [f32; 1] = net.forward(&[0.1; 10]);
    assert_eq!(Regressor::PARAMS, 10 * 32 + 32 + 32 + 1);
}
