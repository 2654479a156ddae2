//! A network whose forward is written as code goes everywhere a chain goes: its summary,
//! the state dict saved and loaded, a checkpoint resumed, weights baked in at compile time,
//! the one-sample forward beside the batched one, and `randn_like`'s draws. Networks inside
//! networks are in `tests/graph_nesting.rs`, gradients in `tests/gradients_graph.rs`.

mod common;
use common::bits::{bits, state_bits};
use common::by_hand::{call, stateless};
use common::random::rows;
use common::scratch::scratch;

use std::path::Path;

use nn::data::{DataLoader, Dataset};
use nn::loss::CrossEntropyLoss;
use nn::optim::{LrSchedule, OneCycleLr, Optimizer, Sgd};
use nn::{Gradients, Network, ReLU, Rng, Sigmoid, StateDict, Tanh, Tape};

nn::network! {
    /// Two inputs and two outputs, a batch norm (buffers to save), a chunk, a value used twice.
    #[derive(Clone, Debug, PartialEq)]
    struct Mixer {
        a: Linear<6, 8>,
        b: Linear<3, 8>,
        bn: BatchNorm<16>,
        head: Linear<8, 3>,
    }
    fn forward(x: Features<6>, y: Features<3>) -> (out, gate) {
        let h = self.bn(cat([relu(self.a(x)), tanh(self.b(y))]));
        let (p, q) = chunk(h, 2);
        let g = sigmoid(q);
        (self.head(p * g + p), g)
    }
}

/// A `Mixer` whose running statistics have moved off their defaults.
fn trained_mixer() -> Box<Mixer> {
    let mut net = Mixer::new(3);
    let x = rows::<9>(&mut Rng::seed(1), 5);
    net.forward_train(&x, &mut Tape::new()).unwrap();
    net
}

#[test]
fn summary_shows_the_layers() {
    let s = Mixer::summary().to_string();
    for needle in [
        "Mixer",
        "  a: Linear<6, 8>",
        "  b: Linear<3, 8>",
        "  bn: BatchNorm<16>",
        "  head: Linear<8, 3>",
        "Input: [batch, 9]",
        "Output: [batch, 11]",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from\n{s}");
    }
    assert_eq!(Mixer::PARAMS, 6 * 8 + 8 + 3 * 8 + 8 + 2 * 16 + 8 * 3 + 3);
    assert!(
        s.contains(&format!("Total params: {}", Mixer::PARAMS)),
        "{s}"
    );
    // An image network's layers, each with its output's shape.
    let s = TwoBranch::summary().to_string();
    for needle in [
        "  conv: Conv2d<1, 8, 3>",
        "[batch, 8, 26, 26]",
        "  res: Conv2d<8, 8, 3, padding = 1>",
        "  pool2: MaxPool2d<2>",
        "[batch, 8, 6, 6]",
        "  head: Linear<320, 10>",
        "Input: [batch, 1, 28, 28]   Output: [batch, 10]",
        "Total params: 29,010",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from\n{s}");
    }
}

#[test]
fn state_saves_and_loads_bit_identically() {
    let dir = scratch("state_saves_and_loads_bit_identically");
    let path = dir.join("mixer.safetensors");
    let net = trained_mixer();
    assert_eq!(net.bn.num_batches_tracked, 1);
    net.save(&path).unwrap();
    let mut other = Mixer::new(99);
    nn::io::load(&mut *other, &path).unwrap();
    assert_eq!(*other, *net);
    assert_eq!(state_bits(&*other), state_bits(&*net));
    let x = rows::<9>(&mut Rng::seed(2), 4);
    for row in &x {
        assert_eq!(bits(&other.forward(row)), bits(&net.forward(row)));
    }
    let (a, b) = (net.predict(&x), other.predict(&x));
    assert_eq!(bits(a.as_flattened()), bits(b.as_flattened()));
    std::fs::remove_dir_all(&dir).unwrap();
}

nn::network! {
    /// A classifier written as code: a chunk gating the other half, noise in training, a
    /// skip from the input.
    struct Classifier {
        fc1: Linear<4, 8>,
        bn: BatchNorm<8>,
        fc2: Linear<4, 3>,
        skip: Linear<4, 3>,
    }
    fn forward(x: Features<4>) -> logits {
        let (a, b) = chunk(self.bn(self.fc1(x)), 2);
        self.fc2(relu(a) * tanh(b) + 0.1 * randn_like(b)) + self.skip(x)
    }
}

/// 23 samples: batches of 5 leave a last batch of 3, so epochs and batches do not align.
fn dataset() -> Dataset<4, usize> {
    let x: Vec<[f32; 4]> = (0..23)
        .map(|i| {
            let t = i as f32;
            [
                (t * 0.7).sin(),
                (t * 1.3).cos(),
                t / 23.0 - 0.5,
                (t * 0.3).sin(),
            ]
        })
        .collect();
    let y: Vec<usize> = (0..23).map(|i| (i * 7) % 3).collect();
    Dataset::new(x, y).unwrap()
}

/// Trains `Classifier` for `total` steps with everything built afresh, as a new process
/// would; saves a checkpoint after step `save_after` and stops, or starts from `resume`.
fn run(total: u64, save_after: Option<(u64, &Path)>, resume: Option<&Path>) -> Box<Classifier> {
    let mut net = Classifier::new(7);
    let mut opt = Sgd::new(0.1).momentum(0.9).nesterov(true);
    let mut sched = OneCycleLr::new(0.2, total);
    let mut loader = DataLoader::new(dataset(), 5, 11).unwrap();
    let (mut tape, mut grads) = (Tape::new(), Gradients::new());
    let mut step = 0;
    if let Some(path) = resume {
        let state = nn::io::load_state(path).unwrap();
        state.load_network(&mut *net).unwrap();
        opt.load_state(&*net, &state).unwrap();
        sched.load_state(&state).unwrap();
        loader.load_state(&state).unwrap();
        step = state.count("step").unwrap();
    }
    while step < total {
        let Some((x, y)) = loader.next_batch() else {
            continue; // the end of an epoch
        };
        sched.apply(&mut opt);
        opt.zero_grad(&mut grads);
        net.forward_train(&x, &mut tape).unwrap();
        tape.loss(&CrossEntropyLoss::default(), &y);
        net.backward(&x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
        sched.step();
        step += 1;
        if let Some((k, path)) = save_after {
            if step == k {
                let mut state = StateDict::new();
                state.add_network(&*net);
                opt.save_state(&*net, &mut state);
                sched.save_state(&mut state);
                loader.save_state(&mut state);
                state.insert_i64("step", step as i64);
                nn::io::save_state(&state, path).unwrap();
                break;
            }
        }
    }
    net
}

#[test]
fn checkpoint_resumes_on_the_same_trajectory() {
    let dir = scratch("checkpoint_resumes_on_the_same_trajectory");
    let path = dir.join("checkpoint.safetensors");
    let straight = run(20, None, None);
    run(20, Some((7, &path)), None);
    let state = nn::io::load_state(&path).unwrap();
    for key in [
        "fc1.weight",
        "bn.running_mean",
        "bn.num_batches_tracked",
        "skip.bias.momentum_buffer",
        "loader.order",
        // The noise's seed and step: the resumed run draws what the straight one drew.
        "generator.streams",
    ] {
        assert!(
            state.get(key).is_some(),
            "{key} missing from the checkpoint"
        );
    }
    let resumed = run(20, None, Some(&path));
    assert_eq!(state_bits(&*resumed), state_bits(&*straight));
    assert_ne!(state_bits(&*Classifier::new(7)), state_bits(&*straight));
    std::fs::remove_dir_all(&dir).unwrap();
}

nn::network! {
    /// `examples/two_branch.rs`'s network, loaded at run time.
    struct TwoBranch {
        conv: Conv2d<1, 8, 3>,
        pool1: MaxPool2d<2>,
        res: Conv2d<8, 8, 3, padding = 1>,
        bn: BatchNorm2d<8>,
        pool2: MaxPool2d<2>,
        lin: Linear<784, 32>,
        head: Linear<320, 10>,
    }
    fn forward(x: Image<1, 28, 28>) -> logits {
        let h = self.pool1(relu(self.conv(x)));
        let r = relu(self.bn(self.res(h)) + h);
        let strokes = flatten(self.pool2(r));
        let whole = relu(self.lin(flatten(x)));
        self.head(cat([strokes, whole]))
    }
}

nn::network! {
    /// The same network with its trained weights baked in when the test compiles.
    #[weights("data/weights/two_branch.safetensors")]
    struct BakedTwoBranch {
        conv: Conv2d<1, 8, 3>,
        pool1: MaxPool2d<2>,
        res: Conv2d<8, 8, 3, padding = 1>,
        bn: BatchNorm2d<8>,
        pool2: MaxPool2d<2>,
        lin: Linear<784, 32>,
        head: Linear<320, 10>,
    }
    fn forward(x: Image<1, 28, 28>) -> logits {
        let h = self.pool1(relu(self.conv(x)));
        let r = relu(self.bn(self.res(h)) + h);
        let strokes = flatten(self.pool2(r));
        let whole = relu(self.lin(flatten(x)));
        self.head(cat([strokes, whole]))
    }
}

/// The embedded example's digits, scaled as `nn::data` scales MNIST.
fn digits() -> Vec<[f32; 784]> {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/embedded/digits.u8"))
            .unwrap();
    bytes
        .chunks_exact(784)
        .map(|d| std::array::from_fn(|j| f32::from(d[j]) / 255.0))
        .collect()
}

#[test]
fn baked_weights_forward_as_loaded() {
    static BAKED: BakedTwoBranch = BakedTwoBranch::WEIGHTS;
    let mut loaded = TwoBranch::new(0);
    loaded
        .load(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/weights/two_branch.safetensors"))
        .unwrap();
    assert_eq!(state_bits(&BAKED), state_bits(&*loaded));
    let x = digits();
    let labels =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/embedded/labels.u8"))
            .unwrap();
    for (x, label) in x.iter().zip(labels) {
        let y = BAKED.forward(x);
        assert_eq!(bits(&y), bits(&loaded.forward(x)));
        let best = (0..10).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap();
        assert_eq!(
            best,
            usize::from(label),
            "the trained network misreads a digit"
        );
    }
    let mut tape = Tape::new();
    let a = BAKED.forward_batch(&x, &mut tape).to_vec();
    assert_eq!(
        bits(a.as_flattened()),
        bits(loaded.predict(&x).as_flattened())
    );
}

nn::network! {
    /// `tests/parity_graph.rs`'s siamese pair: an inline block inside a forward written as
    /// code, one encoder used twice.
    struct Siamese {
        encoder: Sequential<Linear<16, 32>, ReLU, Linear<32, 8>>,
    }
    fn forward(x1: Features<16>, x2: Features<16>) -> (e1, e2) {
        (self.encoder(x1), self.encoder(x2))
    }
}

nn::network! {
    /// The same, with PyTorch's weights baked in.
    #[weights("tests/fixtures/graph_siamese.safetensors")]
    struct BakedSiamese {
        encoder: Sequential<Linear<16, 32>, ReLU, Linear<32, 8>>,
    }
    fn forward(x1: Features<16>, x2: Features<16>) -> (e1, e2) {
        (self.encoder(x1), self.encoder(x2))
    }
}

#[test]
fn an_inline_block_bakes_inside_a_network_written_as_code() {
    let mut loaded = Siamese::new(0);
    loaded
        .load(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph_siamese.safetensors"),
        )
        .unwrap();
    let baked = BakedSiamese::WEIGHTS;
    assert_eq!(state_bits(&baked), state_bits(&*loaded));
    let x: [f32; 32] = std::array::from_fn(|i| (i as f32 * 0.37).sin());
    assert_eq!(bits(&baked.forward(&x)), bits(&loaded.forward(&x)));
}

nn::network! {
    /// Only operations whose one-sample and batched code are the same: no matrix product.
    struct Elementwise {
        bn: BatchNorm<6>,
    }
    fn forward(x: Features<4>, y: Features<2>) -> (a, b) {
        let h = self.bn(cat([x, tanh(y)]));
        let (p, q) = chunk(h, 2);
        (softmax(p * q + 0.5 * p), log_softmax(exp(q) - p))
    }
}

/// The one-sample forward, the batched one and `Tape::infer`, row by row.
fn three_ways<N: Network>(net: &N, x: &[f32]) -> [Vec<f32>; 3] {
    let one: Vec<f32> = x
        .chunks_exact(N::IN)
        .flat_map(|row| {
            let mut y = vec![0.0; N::OUT];
            net.forward_slice(row, &mut y);
            y
        })
        .collect();
    let batch = x.len() / N::IN;
    let mut y = vec![0.0; batch * N::OUT];
    let mut cache = vec![0.0; N::cache_len(batch)];
    nn::Layer::forward_batch(net, x, &mut y, batch, &mut cache);
    let infer = Tape::<N>::new().infer(net, x).to_vec();
    [one, y, infer]
}

#[test]
fn one_sample_forward_is_the_batched_forward_row_by_row() {
    let mut rng = Rng::seed(4);
    // Every operation of the forward and every stateless function: the same bits.
    let mut net = Elementwise::new(0);
    net.forward_train(&rows::<6>(&mut rng, 8), &mut Tape::new())
        .unwrap();
    let x: Vec<f32> = rows::<6>(&mut rng, 5).concat();
    let [one, batch, infer] = three_ways(&*net, &x);
    assert_eq!(bits(&one), bits(&batch), "one sample and forward_batch");
    assert_eq!(bits(&one), bits(&infer), "one sample and Tape::infer");

    // With matrix products, the one-sample kernel (a matrix-vector product) and the
    // batched one (a blocked matrix product) add in other orders: the same to rounding.
    let net = trained_mixer();
    let x: Vec<f32> = rows::<9>(&mut rng, 5).concat();
    let [one, batch, infer] = three_ways(&*net, &x);
    assert_eq!(bits(&batch), bits(&infer), "forward_batch and Tape::infer");
    assert_close!(one, batch, rel = 1e-5, abs = 1e-6, "one sample and a batch");
    // The one-sample forward is the layers' own one-sample forwards, bit for bit.
    for (x, y) in x.chunks_exact(9).zip(one.chunks_exact(11)) {
        let a = stateless::<ReLU<8>>(&call(&net.a, &x[..6]));
        let b = stateless::<Tanh<8>>(&call(&net.b, &x[6..]));
        let h = call(&net.bn, &[a, b].concat());
        let g = stateless::<Sigmoid<8>>(&h[8..]);
        let mixed: Vec<f32> = h[..8].iter().zip(&g).map(|(p, g)| p * g + p).collect();
        assert_eq!(bits(&y[..3]), bits(&call(&net.head, &mixed)), "out");
        assert_eq!(bits(&y[3..]), bits(&g), "gate");
    }
}

nn::network! {
    /// A variational autoencoder's reparameterisation; its noise is an output too.
    #[derive(Clone)]
    struct Noisy {
        enc: Linear<4, 6>,
        dec: Linear<3, 4>,
    }
    fn forward(x: Features<4>) -> (recon, z, mu, std) {
        let (mu, logvar) = chunk(self.enc(x), 2);
        let std = exp(0.5 * logvar);
        let z = mu + randn_like(std) * std;
        (self.dec(z), z, mu, std)
    }
}

/// The noise each row drew, `(z − mu) / std`, from `Noisy`'s output `[recon, z, mu, std]`.
fn noise(out: &[f32]) -> Vec<f32> {
    out.chunks_exact(13)
        .flat_map(|r| (0..3).map(move |j| (r[4 + j] - r[7 + j]) / r[10 + j]))
        .collect()
}

#[test]
fn randn_like_is_zero_in_inference() {
    let net = Noisy::new(5);
    let x = rows::<4>(&mut Rng::seed(6), 4);
    let flat = x.concat();
    let [one, batch, infer] = three_ways(&*net, &flat);
    for out in [&one, &batch, &infer] {
        for r in out.chunks_exact(13) {
            assert_eq!(bits(&r[4..7]), bits(&r[7..10]), "z is mu");
        }
    }
    for (row, x) in one.chunks_exact(13).zip(&x) {
        let mu = &call(&net.enc, x)[..3];
        assert_eq!(
            bits(&row[..4]),
            bits(&call(&net.dec, mu)),
            "the decoder decodes mu"
        );
    }
}

#[test]
fn randn_like_draws_from_the_seed_anew_each_step() {
    let x = rows::<4>(&mut Rng::seed(7), 200);
    let draws = |seed| {
        let mut net = Noisy::new(seed);
        let mut tape = Tape::new();
        (0..2)
            .map(|_| noise(net.forward_train(&x, &mut tape).unwrap().as_flattened()))
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (draws(5), draws(5), draws(6));
    assert_eq!(
        bits(&a[0]),
        bits(&b[0]),
        "the same seed draws the same noise"
    );
    assert_eq!(
        bits(&a[1]),
        bits(&b[1]),
        "and the same again at the next step"
    );
    assert_ne!(a[0], a[1], "each training pass draws anew");
    assert_ne!(a[0], c[0], "another seed draws other noise");
    // Standard normal: 600 draws, mean within 4 standard errors of 0, variance near 1.
    for eps in a.iter().chain(&c) {
        let n = eps.len() as f32;
        let mean = eps.iter().sum::<f32>() / n;
        let var = eps.iter().map(|e| (e - mean) * (e - mean)).sum::<f32>() / n;
        assert!(mean.abs() < 4.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 0.25, "variance {var}");
    }
}

nn::network! { struct Chain<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
nn::network! { struct Outer { stem: Linear<4, 300>, body: Chain2, head: Linear<10, 2> } }
nn::network! { struct Chain2<Linear<300, 512>, ReLU, Linear<512, 10>> }

#[test]
fn the_activation_memory_of_one_inference_is_a_constant() {
    use nn::Layer;
    // A chain: the first layer's 128 outputs, which ReLU and the batch norm write over.
    assert_eq!(Chain::ACTIVATIONS, 128);
    // Nested: the outer chain's 300 outputs of `stem` beside the 10 of `body`, and while
    // `body` runs, its own 512.
    assert_eq!(Outer::ACTIVATIONS, 300 + 10 + 512);
    // The two-branch network: its widest moment holds the first convolution's output and
    // its ReLU, 8 × 26 × 26 each; every later value fits in the floats freed before it.
    assert_eq!(TwoBranch::ACTIVATIONS, 2 * 8 * 26 * 26);
}

nn::network! {
    /// Two inputs and two outputs.
    struct Pair {
        enc: Linear<3, 4>,
        head: Linear<4, 2>,
    }
    fn forward(a: Features<3>, b: Features<3>) -> (za, score) {
        let za = self.enc(a);
        (za, self.head(tanh(za - self.enc(b))))
    }
}

#[test]
fn several_inputs_and_outputs_are_side_by_side_or_apart_by_name() {
    let net = Pair::new(5);
    let (a, b) = ([0.5, -1.0, 2.0], [1.5, 0.25, -0.75]);
    let (za, score) = net.forward_parts(&a, &b);
    // The same as the row of both inputs side by side, split after the first output.
    let mut row = [0.0f32; 6];
    row[..3].copy_from_slice(&a);
    row[3..].copy_from_slice(&b);
    let y = net.forward(&row);
    assert_eq!((&y[..4], &y[4..]), (&za[..], &score[..]));
    assert_eq!((Pair::IN, Pair::OUT), (6, 6));
}
