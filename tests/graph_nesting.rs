//! A network whose forward is written as code inside other networks, as a chain's layer
//! (among image layers too) and as a field of another forward written as code, called
//! twice; and two such networks chained by hand through their input and output gradients.

mod common;
use common::bits::{bits, param_bits, state_bits};
use common::by_hand::{call, stateless};
use common::random::rows;

use nn::loss::MseLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Network, ReLU, Rng, Tanh, Tape};

nn::network! {
    /// A gated linear unit written as code, to put inside other networks.
    #[derive(Clone)]
    struct Glu {
        fc: Linear<4, 6>,
    }
    fn forward(x: Features<4>) -> y {
        let (a, b) = chunk(self.fc(x), 2);
        a * sigmoid(b)
    }
}

nn::network! {
    /// A chain with a network written as code for its third layer.
    #[derive(Clone)]
    struct GluInChain<Linear<5, 4>, Tanh, Glu, Linear<3, 2>>
}

nn::network! {
    /// A network written as code calling another twice.
    #[derive(Clone)]
    struct GluInGraph {
        pre: Linear<5, 4>,
        glu: Glu,
        out: Linear<3, 2>,
    }
    fn forward(x: Features<5>) -> y {
        let h = tanh(self.pre(x));
        self.out(self.glu(h) - self.glu(-1.0 * h))
    }
}

nn::network! {
    /// A residual block written as code, for a chain of images.
    #[derive(Clone)]
    struct ResBlock {
        conv: Conv2d<2, 2, 3, padding = 1>,
        bn: BatchNorm2d<2>,
    }
    fn forward(x: Image<2, 5, 5>) -> y {
        relu(self.bn(self.conv(x)) + x)
    }
}

nn::network! {
    /// The block between image layers: the pool after it reads the image it makes.
    #[input(1, 6, 6)]
    struct ResCnn<Conv2d<1, 2, 2>, ReLU, ResBlock, MaxPool2d<2>, Flatten, Linear<8, 3>>
}

fn keys<N: Network>(net: &N) -> Vec<String> {
    state_bits(net).into_iter().map(|(k, _)| k).collect()
}

/// The gradient of `key` after one training step of `net` on a fixed batch and MSE loss:
/// nonzero where the inner network's parameters train through the outer network.
fn trains_through<N: Network + Clone>(net: &N, key: &str) {
    let mut net = Box::new(net.clone());
    let mut rng = Rng::seed(3);
    let x: Vec<f32> = (0..4 * N::IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let t: Vec<f32> = (0..4 * N::OUT).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let (mut tape, mut grads) = (Tape::new(), Gradients::new());
    tape.forward(&mut *net, &x).unwrap();
    tape.loss(&MseLoss, &t[..]);
    tape.backward(&net, &x, &mut grads);
    let g = grads.get(&net, key).unwrap();
    assert!(
        g.iter().any(|g| *g != 0.0),
        "{}: no gradient reaches {key}",
        N::NAME
    );
}

#[test]
fn in_a_chain_it_is_a_layer() {
    let chain = GluInChain::new(1);
    assert_eq!(
        keys(&*chain),
        [
            "0.weight",
            "0.bias",
            "2.fc.weight",
            "2.fc.bias",
            "3.weight",
            "3.bias"
        ]
    );
    assert_eq!(GluInChain::PARAMS, 24 + Glu::PARAMS + 8);
    let x = [0.3, -0.2, 0.9, 0.1, -0.5];
    let h = stateless::<Tanh<4>>(&call(&chain.0, &x));
    let y = call(&chain.3, &call(&chain.2, &h));
    assert_eq!(bits(&chain.forward(&x)), bits(&y));
    trains_through(&*chain, "2.fc.weight");
}

#[test]
fn among_image_layers_it_passes_its_image_on() {
    let cnn = ResCnn::new(2);
    let s = ResCnn::summary().to_string();
    for needle in [
        "  2: ResBlock                  ",
        "    conv: Conv2d<2, 2, 3, padding = 1>",
        "[batch, 2, 5, 5]",
        "  3: MaxPool2d<2>                       [batch, 2, 2, 2]",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from\n{s}");
    }
    assert!(keys(&*cnn).contains(&"2.bn.running_var".to_string()));
    let x: [f32; 36] = std::array::from_fn(|i| ((i * 7) % 11) as f32 / 11.0 - 0.4);
    let h = stateless::<ReLU<50>>(&call(&cnn.0, &x));
    let y = call(&cnn.5, &call(&cnn.3, &call(&cnn.2, &h)));
    assert_eq!(bits(&cnn.forward(&x)), bits(&y));
    trains_through(&*cnn, "2.conv.weight");
}

#[test]
fn in_a_network_written_as_code_it_is_a_field_called_twice() {
    let graph = GluInGraph::new(1);
    assert_eq!(
        keys(&*graph),
        [
            "pre.weight",
            "pre.bias",
            "glu.fc.weight",
            "glu.fc.bias",
            "out.weight",
            "out.bias"
        ]
    );
    let x = [0.3, -0.2, 0.9, 0.1, -0.5];
    let h = stateless::<Tanh<4>>(&call(&graph.pre, &x));
    let minus_h: Vec<f32> = h.iter().map(|v| -v).collect();
    let (a, b) = (call(&graph.glu, &h), call(&graph.glu, &minus_h));
    let d: Vec<f32> = a.iter().zip(&b).map(|(a, b)| a - b).collect();
    assert_eq!(bits(&graph.forward(&x)), bits(&call(&graph.out, &d)));
    trains_through(&*graph, "glu.fc.weight");
}

nn::network! {
    #[derive(Clone)]
    struct Encoder {
        fc: Linear<6, 8>,
        mix: Linear<4, 3>,
    }
    fn forward(x: Features<6>) -> z {
        let (a, b) = chunk(self.fc(x), 2);
        self.mix(tanh(a) + b * a)
    }
}

nn::network! {
    #[derive(Clone)]
    struct Decoder {
        fc: Linear<3, 6>,
        skip: Linear<3, 6>,
    }
    fn forward(z: Features<3>) -> y {
        sigmoid(self.fc(z)) * self.skip(z) - 0.1
    }
}

nn::network! {
    /// The encoder and the decoder composed, as a network written as code.
    #[derive(Clone)]
    struct AutoEncoder {
        enc: Encoder,
        dec: Decoder,
    }
    fn forward(x: Features<6>) -> y {
        self.dec(self.enc(x))
    }
}

/// An encoder and a decoder declared apart, chained by hand through the decoder's input
/// gradient (`Tape::input_grad`) and the encoder's output gradient
/// (`Tape::output_grad_mut`), train to the same bits as the composed network.
#[test]
fn chained_backward_trains_like_the_composed_network() {
    let mut ae = AutoEncoder::new(3);
    let mut enc = ae.enc.clone_boxed();
    let mut dec = ae.dec.clone_boxed();
    let x = rows::<6>(&mut Rng::seed(11), 8);

    let mut opt = Sgd::new(0.1).momentum(0.9);
    let (mut opt_enc, mut opt_dec) = (opt.clone(), opt.clone());
    let (mut tape, mut grads) = (Tape::new(), Gradients::new());
    let (mut enc_tape, mut enc_grads) = (Tape::new(), Gradients::new());
    let (mut dec_tape, mut dec_grads) = (Tape::<Decoder>::new(), Gradients::new());
    dec_tape.track_input_grad(true);
    for _ in 0..5 {
        grads.zero();
        ae.forward_train(&x, &mut tape).unwrap();
        let loss = tape.loss(&MseLoss, &x[..]);
        ae.backward(&x, &mut tape, &mut grads);
        opt.step(&mut *ae, &grads);

        enc_grads.zero();
        dec_grads.zero();
        let z = enc.forward_train(&x, &mut enc_tape).unwrap().to_vec();
        dec.forward_train(&z, &mut dec_tape).unwrap();
        let chained = dec_tape.loss(&MseLoss, &x[..]);
        dec.backward(&z, &mut dec_tape, &mut dec_grads);
        enc_tape
            .output_grad_mut()
            .copy_from_slice(dec_tape.input_grad());
        enc.backward(&x, &mut enc_tape, &mut enc_grads);
        opt_enc.step(&mut *enc, &enc_grads);
        opt_dec.step(&mut *dec, &dec_grads);
        assert_eq!(loss.to_bits(), chained.to_bits());
    }
    let by_hand: Vec<u32> = param_bits(&*enc)
        .into_iter()
        .chain(param_bits(&*dec))
        .collect();
    assert_eq!(param_bits(&*ae), by_hand);
    assert_ne!(
        param_bits(&*ae),
        param_bits(&*AutoEncoder::new(3)),
        "training moved the weights"
    );
}
