// Tokens through an embedding, an LSTM over every step, a GRU's last step, a classifier.
nn::network! {
    struct Tagger {
        emb: Embedding<100, 16, 12, padding_idx = 0>,
        lstm: LSTM<16, 32, 12>,
        gru: GRU<32, 24, 12, last = true>,
        fc: Linear<24, 5>,
    }
}

fn main() {
    let net = Tagger::new(0);
    let _: [f32; 5] = net.forward(&[3.0; 12]);
    assert!(Tagger::summary().to_string().contains("GRU<32, 24, 12, last = true>"));
}
