//! The 1-D layers in use: a network of sequences declared with `#[input(C, L)]`, its lengths
//! computed by the macro, PyTorch's state-dict names and shapes; and a causal convolution
//! streamed one step at a time, which gives the whole-sequence pass's bits exactly; PyTorch's
//! weights baked in with `#[weights]`, bit for bit as `nn::io::load` reads them; `BatchNorm1d`
//! on a sequence, each channel normalised over the batch and the length; a stack of cells
//! stepped in one call as a tuple.

#[macro_use]
mod common;
use common::random::random;

use nn::{Conv1dCell, Conv1dContext, Layer, Network, Stream};

nn::network! {
    /// Keyword spotting's shape: strided and dilated convolutions, pools, a global average.
    #[input(2, 40)]
    struct Spotter {
        conv1: Conv1d<2, 8, 5, stride = 2, padding = 2>,
        act1: ReLU,
        pool: MaxPool1d<2>,
        conv2: Conv1d<8, 8, 3, dilation = 2, groups = 4, bias = false>,
        avg: AvgPool1d<3, stride = 1, padding = 1>,
        gap: AdaptiveAvgPool1d<1>,
        flat: Flatten,
        fc: Linear<8, 3>,
    }
}

nn::network! {
    /// RTNeural's stack: two causal convolutions with a tanh between, and a dense layer on
    /// each step (a 1 × 1 convolution).
    #[input(1, 200)]
    struct Stack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

nn::network! {
    /// A convolution into a GRU: the channels × length turned into steps, as PyTorch's
    /// `x.transpose(1, 2)`.
    #[input(3, 20)]
    struct ConvGru<Conv1d<3, 6, 3, padding = 1>, ReLU, Transpose, GRU<6, 8, 20, last = true>, Linear<8, 2>>
}

#[test]
fn lengths_and_names_are_pytorch_s() {
    // 40 → (40 + 4 − 5) / 2 + 1 = 20 → pool 10 → dilated 3 taps: 10 − 4 = 6 → 6 → 1.
    assert_eq!((Spotter::IN, Spotter::OUT), (80, 3));
    let mut names = Vec::new();
    Spotter::new(0).named_params(&mut |path, name, shape, _| {
        names.push((format!("{}", path.child(name)), shape.to_vec()))
    });
    assert_eq!(
        names,
        [
            ("conv1.weight".to_string(), vec![8, 2, 5]),
            ("conv1.bias".to_string(), vec![8]),
            ("conv2.weight".to_string(), vec![8, 2, 3]),
            ("fc.weight".to_string(), vec![3, 8]),
            ("fc.bias".to_string(), vec![3]),
        ]
    );
    assert_eq!((Stack::IN, Stack::OUT), (200, 200));
    assert_eq!((ConvGru::IN, ConvGru::OUT), (60, 2));
    let summary = format!("{}", Spotter::summary());
    assert!(
        summary.contains("Conv1d<8, 8, 3, dilation = 2, groups = 4, bias = false>"),
        "{summary}"
    );
    assert!(
        summary.contains("AvgPool1d<3, stride = 1, padding = 1>"),
        "{summary}"
    );
    let summary = format!("{}", Stack::summary());
    assert!(
        summary.contains("Conv1d<16, 16, 3, padding = causal, dilation = 2>"),
        "{summary}"
    );
}

/// The stack one step at a time: each causal convolution's cell, the same `Tanh`, and the
/// dense step, from the network's own weights.
struct Streamed {
    conv1: Conv1dCell<1, 16, 3, 1, 1, 1>,
    conv2: Conv1dCell<16, 16, 3, 2, 1, 16>,
    dense: Conv1dCell<16, 1, 1, 1, 1, 16>,
    ctx1: Conv1dContext<1, 3, 1>,
    ctx2: Conv1dContext<16, 3, 2>,
    ctx3: Conv1dContext<16, 1, 1>,
}

impl Streamed {
    fn new(net: &Stack) -> Self {
        Streamed {
            conv1: Conv1dCell::new(&net.conv1),
            conv2: Conv1dCell::new(&net.conv2),
            dense: Conv1dCell::new(&net.dense),
            ctx1: Conv1dContext::default(),
            ctx2: Conv1dContext::default(),
            ctx3: Conv1dContext::default(),
        }
    }

    fn step(&mut self, x: f32) -> f32 {
        let h = self.conv1.step(&[x], &mut self.ctx1);
        let mut a = [0.0; 16];
        <nn::Tanh<16> as nn::Zeroable>::zeroed().forward(&h, &mut a);
        let h = self.conv2.step(&a, &mut self.ctx2);
        self.dense.step(&h, &mut self.ctx3)[0]
    }
}

#[test]
fn a_causal_stack_streams_the_whole_sequence_s_bits() {
    let net = Stack::new(3);
    // Long enough that the whole-sequence pass runs its blocks of outputs side by side.
    let x = random(&mut nn::Rng::seed(5), 200);
    let mut whole = [0.0; 200];
    Layer::forward(&*net, &x, &mut whole);
    let mut s = Streamed::new(&net);
    let stepped: Vec<f32> = x.iter().map(|v| s.step(*v)).collect();
    assert_eq!(common::bits::bits(&stepped), common::bits::bits(&whole));
    // A reset context starts the sequence again.
    s.ctx1.reset();
    s.ctx2.reset();
    s.ctx3.reset();
    assert_eq!(s.step(x[0]).to_bits(), whole[0].to_bits());
}

#[test]
fn a_tuple_of_cells_streams_the_stack_in_one_call() {
    let net = Stack::new(3);
    let x = random(&mut nn::Rng::seed(5), 200);
    let mut whole = [0.0; 200];
    Layer::forward(&*net, &x, &mut whole);
    let stack = (
        Conv1dCell::new(&net.conv1),
        nn::Tanh::<16>::default(),
        Conv1dCell::new(&net.conv2),
        Conv1dCell::new(&net.dense),
    );
    let mut state = Default::default();
    let stepped: Vec<f32> = x.iter().map(|v| stack.step(&[*v], &mut state)[0]).collect();
    assert_eq!(common::bits::bits(&stepped), common::bits::bits(&whole));
    // A tuple of references steps as the tuple does, its state the same type.
    let refs = (&stack.0, &stack.1, &stack.2, &stack.3);
    let mut again = Default::default();
    for (t, v) in x.iter().enumerate() {
        assert_eq!(
            refs.step(&[*v], &mut again)[0].to_bits(),
            whole[t].to_bits(),
            "step {t}"
        );
    }
    assert_eq!(again, state);
}

#[test]
fn a_causal_layer_streams_with_groups_and_dilation() {
    // 12 channels in 2 groups to 6, kernel 4, dilation 3: 9 zeros before the sequence. A
    // group's 6 channels sum in two parts, of four channels and of two.
    type C = nn::Conv1d<12, 6, 4, 1, 9, 0, 3, 2, 150, 6>;
    let mut conv: Box<C> = nn::__private::zeroed_box();
    conv.init(&mut nn::Rng::seed(7));
    let x = random(&mut nn::Rng::seed(8), 12 * 150);
    let mut whole = vec![0.0; 6 * 150];
    conv.forward(&x, &mut whole);
    let cell = Conv1dCell::new(&*conv);
    let mut ctx = Conv1dContext::default();
    for t in 0..150 {
        let y = cell.step(&core::array::from_fn(|c| x[c * 150 + t]), &mut ctx);
        let want: [f32; 6] = core::array::from_fn(|o| whole[o * 150 + t]);
        assert_eq!(
            common::bits::bits(&y),
            common::bits::bits(&want),
            "step {t}"
        );
    }
}

nn::network! {
    /// The stack of `tests/fixtures/sequences_stack.safetensors` (PyTorch's, written by
    /// `tools/make_sequence_fixtures.py`), its weights baked in: `[COUT, CIN, K]` in the file
    /// and in the layer.
    #[weights("tests/fixtures/sequences_stack.safetensors")]
    #[input(1, 48)]
    struct BakedStack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

nn::network! {
    #[input(1, 48)]
    struct LoadedStack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

#[test]
fn baked_weights_are_the_loaded_ones() {
    static BAKED: BakedStack = BakedStack::WEIGHTS;
    let mut loaded = LoadedStack::new(0);
    nn::io::load(
        &mut *loaded,
        common::fixture::path("sequences_stack.safetensors"),
    )
    .unwrap();
    let (mut baked_bits, mut loaded_bits) = (Vec::new(), Vec::new());
    BAKED.named_params(&mut |_, _, _, v| baked_bits.extend(common::bits::bits(v)));
    loaded.named_params(&mut |_, _, _, v| loaded_bits.extend(common::bits::bits(v)));
    assert_eq!(baked_bits.len(), LoadedStack::PARAMS);
    assert_eq!(baked_bits, loaded_bits);
    let x: [f32; 48] = core::array::from_fn(|t| (t as f32 * 0.2).cos());
    assert_eq!(
        common::bits::bits(&BAKED.forward(&x)),
        common::bits::bits(&loaded.forward(&x))
    );
    // The cells of baked weights are constants too, in flash on a microcontroller.
    static CELL: Conv1dCell<16, 16, 3, 2, 1, 16> = Conv1dCell::new(&BAKED.conv2);
    assert_eq!(CELL, Conv1dCell::new(&loaded.conv2));
}

nn::network! {
    /// A residual block of sequences, its forward written as code: WaveNet's and TCN's block.
    struct Block {
        dilated: Conv1d<4, 4, 3, dilation = 2, padding = causal>,
        mix: Conv1d<4, 4, 1>,
    }
    fn forward(x: Sequence<4, 16>) -> out {
        x + self.mix(tanh(self.dilated(x)))
    }
}

#[test]
fn a_forward_written_as_code_takes_a_sequence() {
    let net = Block::new(4);
    let x = random(&mut nn::Rng::seed(9), 64);
    let y = net.forward(&x.clone().try_into().unwrap());
    // By hand: the two layers' own passes, the tanh, the sum.
    let mut h = [0.0; 64];
    Layer::forward(&net.dilated, &x, &mut h);
    let a: Vec<f32> = h.iter().map(|v| v.tanh()).collect();
    let mut m = [0.0; 64];
    Layer::forward(&net.mix, &a, &mut m);
    let want: Vec<f32> = x.iter().zip(&m).map(|(x, m)| x + m).collect();
    assert_close!(y, want, rel = 1e-6, abs = 1e-6, "block");
    assert_eq!(<Block as Layer>::IN_IMAGE, Some([4, 1, 16]));
}

nn::network! {
    /// The network of `tests/fixtures/sequences_conv_bn.safetensors` (PyTorch's
    /// `nn.Sequential`), its weights baked in, `BatchNorm1d`'s among them.
    #[weights("tests/fixtures/sequences_conv_bn.safetensors")]
    #[input(2, 16)]
    struct BakedConvBn<
        Conv1d<2, 6, 3, padding = 1, bias = false>,
        BatchNorm1d<6>,
        ReLU,
        Conv1d<6, 4, 3, bias = false>,
        BatchNorm1d<4>,
        Tanh,
        AdaptiveAvgPool1d<1>,
        Flatten,
        Linear<4, 2>,
    >
}

nn::network! {
    #[input(2, 16)]
    struct LoadedConvBn<
        Conv1d<2, 6, 3, padding = 1, bias = false>,
        BatchNorm1d<6>,
        ReLU,
        Conv1d<6, 4, 3, bias = false>,
        BatchNorm1d<4>,
        Tanh,
        AdaptiveAvgPool1d<1>,
        Flatten,
        Linear<4, 2>,
    >
}

#[test]
fn batch_norm_over_a_sequence_bakes_as_loaded() {
    static BAKED: BakedConvBn = BakedConvBn::WEIGHTS;
    let mut loaded = LoadedConvBn::new(0);
    nn::io::load(
        &mut *loaded,
        common::fixture::path("sequences_conv_bn.safetensors"),
    )
    .unwrap();
    let (mut baked_bits, mut loaded_bits) = (Vec::new(), Vec::new());
    BAKED.named_params(&mut |_, _, _, v| baked_bits.extend(common::bits::bits(v)));
    loaded.named_params(&mut |_, _, _, v| loaded_bits.extend(common::bits::bits(v)));
    assert_eq!(baked_bits.len(), LoadedConvBn::PARAMS);
    assert_eq!(baked_bits, loaded_bits);
    let x: [f32; 32] = core::array::from_fn(|t| (t as f32 * 0.3).sin());
    assert_eq!(
        common::bits::bits(&BAKED.forward(&x)),
        common::bits::bits(&loaded.forward(&x))
    );
}

nn::network! {
    /// `BatchNorm1d` first, on the network's input sequence.
    #[input(3, 10)]
    struct NormFirst<BatchNorm1d<3>, Conv1d<3, 2, 3>>
}

#[test]
fn batch_norm_first_normalises_each_channel_over_batch_and_length() {
    let mut net = NormFirst::new(0);
    assert_eq!(<NormFirst as Layer>::IN, 30);
    // Two samples of 3 channels × 10, each channel on its own scale and offset.
    let x: Vec<f32> = (0..60)
        .map(|i| {
            let c = (i / 10) % 3;
            (c as f32 + 1.0) * ((i as f32 * 0.7).sin() + 3.0 * c as f32)
        })
        .collect();
    let mut y = vec![0.0; 60];
    let mut cache = vec![0.0; <NormFirst as Layer>::cache_len(2)];
    net.0.forward_train(&x, &mut y, 2, &mut cache).unwrap();
    // Each value normalised with its channel's mean and biased variance over both samples'
    // ten steps (γ = 1 and β = 0 as initialised), not with statistics per position.
    for c in 0..3 {
        let at = |s: usize, t: usize| s * 30 + c * 10 + t;
        let xs: Vec<f64> = (0..20).map(|i| x[at(i / 10, i % 10)] as f64).collect();
        let mean = xs.iter().sum::<f64>() / 20.0;
        let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 20.0;
        for (i, xi) in xs.iter().enumerate() {
            let want = (xi - mean) / (var + 1e-5).sqrt();
            let got = y[at(i / 10, i % 10)] as f64;
            assert!(
                (got - want).abs() < 1e-4,
                "channel {c}, value {i}: {got}, want {want}"
            );
        }
    }
}
