//! Networks inside networks: state-dict names, passes, residual blocks around networks,
//! inline sequences, the input gradient and backward passes chained by hand.

mod common;
use common::scratch::scratch;

use common::gradcheck::{check_network, numeric_input, ABS, REL};
use common::random::random;
use nn::loss::MseLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Layer, Network, Rng, Tape};

nn::network! { #[derive(Clone)] struct Encoder<Linear<6, 5>, ReLU, Linear<5, 3>> }
nn::network! { #[derive(Clone)] struct Decoder<Linear<3, 5>, Tanh, Linear<5, 6>> }
nn::network! { #[derive(Clone)] struct AutoEncoder { enc: Encoder, dec: Decoder } }

nn::network! { #[derive(Clone)] struct Inner { a: Linear<4, 4>, b: Sigmoid } }
nn::network! { #[derive(Clone)] struct Body<Inner, ReLU, Inner> }
nn::network! { #[derive(Clone)] struct Outer { body: Body, out: Linear<4, 2> } }

nn::network! { #[derive(Clone)] struct Block { fc1: Linear<5, 5>, act: ReLU, fc2: Linear<5, 5> } }
nn::network! {
    #[derive(Clone)]
    struct ResNet {
        stem: Linear<4, 5>, ReLU, res1: Residual<Block>, res2: Residual<Block>,
        res: Residual<Linear<5, 5>, Tanh, Residual<Linear<5, 5>>>,
        norm: BatchNorm<5>, head: Linear<5, 2>,
    }
}
nn::network! {
    #[derive(Clone)]
    struct Quickstart {
        linear_relu_stack: Sequential<Linear<12, 8>, ReLU, Linear<8, 8>, ReLU, Linear<8, 3>>,
    }
}

fn keys<N: Network>(net: &N) -> Vec<String> {
    let mut out = Vec::new();
    net.named_state(&mut |module, name, _, _| out.push(format!("{module}.{name}")));
    out
}

fn values<N: Network>(net: &N) -> Vec<f32> {
    let mut out = Vec::new();
    net.named_params(&mut |_, _, _, v| out.extend_from_slice(v));
    out
}

#[test]
fn state_dict_names_nest_as_pytorch() {
    let ae = AutoEncoder::new(0);
    assert_eq!(
        keys(&*ae),
        [
            "enc.0.weight",
            "enc.0.bias",
            "enc.2.weight",
            "enc.2.bias",
            "dec.0.weight",
            "dec.0.bias",
            "dec.2.weight",
            "dec.2.bias"
        ]
    );
    assert_eq!(
        keys(&*Body::new(0)),
        ["0.a.weight", "0.a.bias", "2.a.weight", "2.a.bias"]
    );
    assert_eq!(
        keys(&*Outer::new(0)),
        [
            "body.0.a.weight",
            "body.0.a.bias",
            "body.2.a.weight",
            "body.2.a.bias",
            "out.weight",
            "out.bias"
        ]
    );
    let res = keys(&*ResNet::new(0));
    for k in [
        "stem.weight",
        "res1.fc1.weight",
        "res1.fc2.bias",
        "res2.fc1.weight",
        "res.0.weight",
        "res.2.0.weight",
        "norm.running_var",
        "norm.num_batches_tracked",
        "head.bias",
    ] {
        assert!(res.contains(&k.to_string()), "{k} missing from {res:?}");
    }
    assert_eq!(res.len(), 2 + 4 + 4 + 4 + 5 + 2);
    assert_eq!(
        keys(&*Quickstart::new(0)),
        [
            "linear_relu_stack.0.weight",
            "linear_relu_stack.0.bias",
            "linear_relu_stack.2.weight",
            "linear_relu_stack.2.bias",
            "linear_relu_stack.4.weight",
            "linear_relu_stack.4.bias"
        ]
    );
}

#[test]
fn sizes_and_parameters_add_up() {
    assert_eq!((AutoEncoder::IN, AutoEncoder::OUT), (6, 6));
    assert_eq!(AutoEncoder::PARAMS, Encoder::PARAMS + Decoder::PARAMS);
    assert_eq!(Outer::PARAMS, 2 * Inner::PARAMS + 4 * 2 + 2);
    assert_eq!(ResNet::PARAMS, 25 + 2 * Block::PARAMS + 2 * 30 + 10 + 12);
}

/// The same seed gives a nested network the weights its layers get declared flat: PyTorch
/// initialises modules in registration order, at any depth.
#[test]
fn nested_forward_is_the_composition() {
    let ae = AutoEncoder::new(7);
    let x = [0.3, -0.2, 0.9, 0.1, -0.5, 0.4];
    let y = ae.forward(&x);
    let by_hand = ae.dec.forward(&ae.enc.forward(&x));
    assert_eq!(y, by_hand);
    // The batched path agrees with the one-sample path.
    let mut tape = Tape::new();
    let rows = ae.forward_batch(&[x, x], &mut tape).to_vec();
    for row in rows {
        assert_close!(row, y, rel = 1e-5, abs = 1e-6, "batched nested forward");
    }
}

// Central differences cannot see through ReLU's kink (an input within the step of 0
// gives a wrong slope), so the networks checked here are smooth; the ReLU networks are
// checked against PyTorch's gradients in `parity_nesting.rs`.
nn::network! { #[derive(Clone)] struct SmoothBlock { fc1: Linear<5, 5>, act: Tanh, fc2: Linear<5, 5> } }
nn::network! { #[derive(Clone)] struct SmoothEncoder<Linear<6, 5>, Tanh, Linear<5, 3>> }
nn::network! { #[derive(Clone)] struct SmoothAutoEncoder { enc: SmoothEncoder, dec: Decoder } }
nn::network! {
    #[derive(Clone)]
    struct SmoothResNet {
        stem: Linear<4, 5>, Tanh, res1: Residual<SmoothBlock>, res2: Residual<SmoothBlock>,
        res: Residual<Linear<5, 5>, Sigmoid, Residual<Linear<5, 5>>>,
        norm: BatchNorm<5>, head: Linear<5, 2>,
    }
}
nn::network! { #[derive(Clone)] struct SmoothInner { a: Linear<4, 4>, b: Sigmoid } }
nn::network! { #[derive(Clone)] struct SmoothBody<SmoothInner, Tanh, SmoothInner> }
nn::network! { #[derive(Clone)] struct SmoothOuter { body: SmoothBody, out: Linear<4, 2> } }

#[test]
fn gradients_match_finite_differences() {
    for seed in 0..4 {
        check_network::<SmoothAutoEncoder>(seed, 3);
        check_network::<SmoothOuter>(seed, 3);
        check_network::<SmoothResNet>(seed, 8);
    }
}

/// The input gradient against central differences of the same objective.
#[test]
fn input_gradient_matches_finite_differences() {
    let mut rng = Rng::seed(5);
    let mut net = SmoothResNet::new(9);
    let x = random(&mut rng, 8 * SmoothResNet::IN);
    let c = random(&mut rng, 8 * SmoothResNet::OUT);
    let mut tape = Tape::<SmoothResNet>::new();
    tape.track_input_grad(true);
    let mut grads = Gradients::new();
    tape.forward(&mut net, &x).unwrap();
    tape.output_grad_mut().copy_from_slice(&c);
    tape.backward(&net, &x, &mut grads);
    let got = tape.input_grad().to_vec();
    assert_eq!(got.len(), x.len());
    let objective = |x: &[f32]| -> f64 {
        let mut probe = net.clone();
        let mut t = Tape::new();
        let y = t.forward(&mut *probe, x).unwrap();
        y.iter().zip(&c).map(|(y, c)| *y as f64 * *c as f64).sum()
    };
    let inputs: Vec<usize> = (0..x.len()).collect();
    let numeric = numeric_input(&x, &inputs, objective);
    assert_close!(got, numeric, rel = REL, abs = ABS, "input gradient");
}

/// An encoder and a decoder declared apart, chained by hand through the decoder's input
/// gradient, train to the same bits as the composed network.
#[test]
fn chained_backward_trains_like_the_composed_network() {
    let mut ae = AutoEncoder::new(3);
    let mut enc = Box::new(ae.enc.clone());
    let mut dec = Box::new(ae.dec.clone());
    let mut rng = Rng::seed(11);
    let x: Vec<[f32; 6]> = (0..8)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();

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
        let h = enc.forward_train(&x, &mut enc_tape).unwrap().to_vec();
        dec.forward_train(&h, &mut dec_tape).unwrap();
        let chained = dec_tape.loss(&MseLoss, &x[..]);
        dec.backward(&h, &mut dec_tape, &mut dec_grads);
        enc_tape
            .output_grad_mut()
            .copy_from_slice(dec_tape.input_grad());
        enc.backward(&x, &mut enc_tape, &mut enc_grads);
        opt_enc.step(&mut *enc, &enc_grads);
        opt_dec.step(&mut *dec, &dec_grads);
        assert_eq!(loss.to_bits(), chained.to_bits());
    }
    let composed: Vec<u32> = values(&*ae).iter().map(|v| v.to_bits()).collect();
    let by_hand: Vec<u32> = values(&*enc)
        .iter()
        .chain(&values(&*dec))
        .map(|v| v.to_bits())
        .collect();
    assert_eq!(composed, by_hand);
    assert!(
        values(&*ae) != values(&*AutoEncoder::new(3)),
        "training moved the weights"
    );
}

#[test]
fn summary_shows_the_nesting() {
    let s = ResNet::summary().to_string();
    for needle in [
        "  stem: Linear<4, 5>",
        "  ReLU",
        "  res1: Residual<Block>",
        "    fc1: Linear<5, 5>",
        "  res: Residual<Sequential>",
        "    1: Tanh",
        "    2: Residual<Sequential>",
        "      0: Linear<5, 5>",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from\n{s}");
    }
    assert!(s.contains(&format!("Total params: {}", ResNet::PARAMS)));
}

#[test]
fn nested_state_saves_and_loads() {
    let dir = scratch("nested_state_saves_and_loads");
    let path = dir.join("resnet.safetensors");
    let mut net = ResNet::new(1);
    // Move the running statistics off their defaults, so that buffers are checked too.
    let x: Vec<[f32; 4]> = (0..4).map(|i| [i as f32, 1.0, -1.0, 0.5]).collect();
    net.forward_train(&x, &mut Tape::new()).unwrap();
    net.save(&path).unwrap();
    let mut other = ResNet::new(2);
    other.load(&path).unwrap();
    assert_eq!(keys(&*other), keys(&*net));
    let mut a = Vec::new();
    let mut b = Vec::new();
    net.named_state(&mut |_, _, _, v| a.push(format!("{v:?}")));
    other.named_state(&mut |_, _, _, v| b.push(format!("{v:?}")));
    assert_eq!(a, b);
    assert_eq!(net.forward(&x[1]), other.forward(&x[1]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batch_norm_errors_name_the_inner_layer() {
    nn::network! { struct WithNorm { fc: Linear<2, 2>, norm: BatchNorm<2> } }
    nn::network! { struct Wrapper { stem: Linear<3, 2>, inner: WithNorm } }
    let mut net = Wrapper::new(0);
    let err = net
        .forward_train(&[[1.0, 2.0, 3.0]], &mut Tape::new())
        .unwrap_err();
    assert!(err.to_string().contains("norm"), "{err}");
}

#[test]
fn parameter_visit_orders_agree() {
    let mut net = ResNet::new(0);
    let mut walked = Vec::new();
    net.named_params(&mut |_, _, _, v| walked.push(v.len()));
    let mut visited = Vec::new();
    net.walk_params_mut(&mut |v| visited.push(v.len()));
    assert_eq!(walked, visited);
    assert_eq!(walked.iter().sum::<usize>(), <ResNet as Layer>::PARAMS);
}
