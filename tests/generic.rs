//! Networks generic over their sizes: `struct Mlp<const H: usize>`, alone and as blocks.

mod common;

use common::gradcheck::check_network;
use nn::{Layer, Network, Tape};

nn::network! { #[derive(Clone)] struct Mlp<const H: usize> { fc1: Linear<20, H>, act: ReLU, fc2: Linear<H, 4> } }
nn::network! { #[derive(Clone)] struct Block<const W: usize> { fc1: Linear<W, W>, act: Tanh, fc2: Linear<W, W> } }
nn::network! {
    #[derive(Clone)]
    struct ResNet { stem: Linear<6, 24>, act: Tanh, res: Residual<Block<24>>, head: Linear<24, 2> }
}
nn::network! {
    #[derive(Clone)]
    struct Wide<const W: usize, const OUT: usize> {
        stem: Linear<6, W>, Sigmoid, res: Residual<Block<W>>,
        inline: Residual<Linear<W, W>, Tanh>, norm: BatchNorm<W>, head: Linear<W, OUT>,
    }
}

#[test]
fn a_generic_network_takes_its_sizes_at_use() {
    let net = Mlp::<32>::new(0);
    let y: [f32; 4] = net.forward(&[0.5; 20]);
    assert!(y.iter().all(|v| v.is_finite()));
    assert_eq!(Mlp::<32>::PARAMS, 20 * 32 + 32 + 32 * 4 + 4);
    assert_eq!(Mlp::<7>::PARAMS, 20 * 7 + 7 + 7 * 4 + 4);
    assert!(Mlp::<32>::summary().to_string().contains("Mlp"));
    let mut tape = Tape::new();
    let batch = net
        .forward_batch(&[[0.5; 20], [0.5; 20]], &mut tape)
        .to_vec();
    assert_close!(
        batch[0],
        y,
        rel = 1e-5,
        abs = 1e-6,
        "batch against one sample"
    );
}

#[test]
fn a_generic_network_is_described_with_its_sizes() {
    struct Describe<L>(std::marker::PhantomData<L>);
    impl<L: Layer> std::fmt::Display for Describe<L> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            L::describe(f)
        }
    }
    assert_eq!(
        Describe::<Wide<8, 3>>(Default::default()).to_string(),
        "Wide<8, 3>"
    );
    let s = ResNet::summary().to_string();
    assert!(s.contains("res: Residual<Block<24>>"), "{s}");
}

#[test]
fn generic_blocks_nest_with_pytorch_names() {
    let mut keys = Vec::new();
    Wide::<8, 3>::new(0).named_state(&mut |m, n, _, _| keys.push(format!("{m}.{n}")));
    assert_eq!(
        keys,
        [
            "stem.weight",
            "stem.bias",
            "res.fc1.weight",
            "res.fc1.bias",
            "res.fc2.weight",
            "res.fc2.bias",
            "inline.0.weight",
            "inline.0.bias",
            "norm.weight",
            "norm.bias",
            "norm.running_mean",
            "norm.running_var",
            "norm.num_batches_tracked",
            "head.weight",
            "head.bias"
        ]
    );
}

nn::network! {
    #[derive(Clone)]
    struct Smooth<const W: usize> { stem: Linear<6, W>, Tanh, res: Residual<Block<W>>, head: Linear<W, 2> }
}

// The same layers as `Wide<5, 2>`, with the sizes written out.
nn::network! { #[derive(Clone)] struct Block5 { fc1: Linear<5, 5>, act: Tanh, fc2: Linear<5, 5> } }
nn::network! {
    #[derive(Clone)]
    struct Wide5x2 {
        stem: Linear<6, 5>, Sigmoid, res: Residual<Block5>,
        inline: Residual<Linear<5, 5>, Tanh>, norm: BatchNorm<5>, head: Linear<5, 2>,
    }
}

#[test]
fn generic_networks_have_the_right_gradients() {
    check_network::<ResNet>(1, 3);
    check_network::<Smooth<5>>(2, 4);
    check_network::<Smooth<3>>(3, 4);
}

/// A generic network runs exactly the code of the same network with its sizes written
/// out: same initial weights, outputs, gradients and input gradients, bit for bit.
#[test]
fn a_generic_network_computes_what_its_concrete_twin_does() {
    let x: Vec<f32> = (0..6 * 6).map(|i| (i as f32 * 0.37).sin()).collect();
    let c: Vec<f32> = (0..6 * 2).map(|i| (i as f32 * 0.91).cos()).collect();
    /// Output, parameter gradients and input gradient of one training pass.
    fn train<N: Network>(x: &[f32], c: &[f32]) -> [Vec<f32>; 3] {
        let mut net = N::zeroed();
        net.init_from_seed(4);
        let mut tape = Tape::<N>::new();
        tape.track_input_grad(true);
        let mut grads = nn::Gradients::new();
        let y = tape.forward(&mut net, x).unwrap().to_vec();
        tape.output_grad_mut().copy_from_slice(c);
        tape.backward(&net, x, &mut grads);
        [y, grads.as_slice().to_vec(), tape.input_grad().to_vec()]
    }
    let generic = train::<Wide<5, 2>>(&x, &c);
    let concrete = train::<Wide5x2>(&x, &c);
    let bits = |v: &Vec<f32>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&generic[0]), bits(&concrete[0]), "outputs");
    assert_eq!(bits(&generic[1]), bits(&concrete[1]), "parameter gradients");
    assert_eq!(bits(&generic[2]), bits(&concrete[2]), "input gradients");
    assert_eq!(
        Wide::<5, 2>::new(0).forward(&[0.1; 6]),
        Wide5x2::new(0).forward(&[0.1; 6])
    );
}
