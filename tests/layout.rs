//! The one-sample forward's values, laid out at compile time: `Layer::ACTIVATIONS` is the
//! stack array the forward actually uses (layers of the test's own record where they read and
//! write), elementwise layers write over their input, values alive together never share
//! floats, and the outputs are those of the layers called one at a time, bit for bit, for
//! MLPerf Tiny's three chains and ResNet-8. A network called by a forward written as code
//! lays out its values in its caller's array, in the floats the caller leaves free.

#[macro_use]
mod common;
#[path = "../examples/mlperf/models.rs"]
#[allow(dead_code)]
mod models;

use std::cell::RefCell;
use std::ops::Range;

use common::bits::bits;
use common::by_hand::{call, stateless};
use models::{AutoEncoder, DsCnn, MobileNetV1, ResNet8};
use nn::{Backward, Layer, Network, Rng};

/// One call of a probe: the addresses it read and wrote (one range for a call in place).
#[derive(Clone, Debug)]
struct Call {
    read: Range<usize>,
    written: Range<usize>,
    in_place: bool,
}

thread_local! {
    static CALLS: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
}

fn span(s: &[f32]) -> Range<usize> {
    let start = s.as_ptr() as usize;
    start..start + std::mem::size_of_val(s)
}

/// `IN` features to `OUT`: `y[j] = x[j % IN] + 1`, recording where it read and wrote.
#[derive(Clone, Copy, Default)]
struct Probe<const IN: usize, const OUT: usize>;

/// `N` features, each plus one, written over its input where the network lets it.
#[derive(Clone, Copy, Default)]
struct InPlace<const N: usize>;

// SAFETY: zero-sized types have exactly one value, which all-zero (no) bytes represent.
unsafe impl<const IN: usize, const OUT: usize> nn::Zeroable for Probe<IN, OUT> {}
// SAFETY: as above.
unsafe impl<const N: usize> nn::Zeroable for InPlace<N> {}

impl<const IN: usize, const OUT: usize> Layer for Probe<IN, OUT> {
    const IN: usize = IN;
    const OUT: usize = OUT;
    const PARAMS: usize = 0;

    fn describe(f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probe<{IN}, {OUT}>")
    }

    fn init(&mut self, _: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let (x, y) = (&x[..IN], &mut y[..OUT]);
        for (j, y) in y.iter_mut().enumerate() {
            *y = x[j % IN] + 1.0;
        }
        let call = Call {
            read: span(x),
            written: span(y),
            in_place: false,
        };
        CALLS.with(|c| c.borrow_mut().push(call));
    }

    fn backward(&self, _: Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}

impl<const N: usize> Layer for InPlace<N> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = 0;
    const IN_PLACE: bool = true;

    fn describe(f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InPlace<{N}>")
    }

    fn init(&mut self, _: &mut Rng) {}

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let (x, y) = (&x[..N], &mut y[..N]);
        for (y, x) in y.iter_mut().zip(x) {
            *y = x + 1.0;
        }
        let call = Call {
            read: span(x),
            written: span(y),
            in_place: false,
        };
        CALLS.with(|c| c.borrow_mut().push(call));
    }

    fn forward_in_place(&self, xy: &mut [f32]) {
        let xy = &mut xy[..N];
        for v in xy.iter_mut() {
            *v += 1.0;
        }
        let call = Call {
            read: span(xy),
            written: span(xy),
            in_place: true,
        };
        CALLS.with(|c| c.borrow_mut().push(call));
    }

    fn backward(&self, _: Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}

nn::network! {
    /// Outputs of 32 (and 32 over it), 64, 16 (and 16 over it): at most 32 + 64 floats are
    /// alive together, while two buffers of the widest would take 128.
    struct Probed<
        Probe<4, 32>, InPlace<32>, Probe<32, 64>, Probe<64, 16>, InPlace<16>, Probe<16, 8>,
    >
}

#[test]
fn the_constant_is_the_stack_array_the_forward_uses() {
    assert_eq!(Probed::ACTIVATIONS, 32 + 64);
    assert_eq!(Probed::ACTIVATION_BYTES, 4 * (32 + 64));
    let net = Probed::new(0);
    let x = [0.5, 1.5, 2.5, 3.5];
    CALLS.with(|c| c.borrow_mut().clear());
    let mut y = [0.0; 8];
    Layer::forward(&*net, &x, &mut y);
    let calls = CALLS.with(|c| c.borrow().clone());
    assert_eq!(calls.len(), 6);
    // Each value is its input plus one, whichever way it was laid out.
    let expect: Vec<f32> = (0..8).map(|j| x[j % 4] + 6.0).collect();
    assert_eq!(y.to_vec(), expect);
    // The first layer reads the input, the last writes the output; every value between
    // lies in one array of exactly `ACTIVATION_BYTES`.
    assert_eq!(calls[0].read, span(&x));
    assert_eq!(calls[5].written, span(&y));
    let inner: Vec<&Range<usize>> = calls[..5].iter().map(|c| &c.written).collect();
    let low = inner.iter().map(|r| r.start).min().unwrap();
    let high = inner.iter().map(|r| r.end).max().unwrap();
    assert_eq!(high - low, Probed::ACTIVATION_BYTES);
    // The elementwise layers were called in place, on the value before them.
    for i in [1, 4] {
        assert!(calls[i].in_place, "layer {i} in place");
        assert_eq!(calls[i].written, calls[i - 1].written);
    }
    // A layer's input and output never overlap where it writes beside its input, and each
    // layer reads what the one before it wrote.
    for (i, c) in calls.iter().enumerate().filter(|(_, c)| !c.in_place) {
        assert!(
            c.read.end <= c.written.start || c.written.end <= c.read.start,
            "layer {i} reads {:?} and writes {:?}",
            c.read,
            c.written
        );
        if i > 0 {
            assert_eq!(c.read, calls[i - 1].written, "layer {i} reads its input");
        }
    }
}

nn::network! {
    /// ResNet-8's stack in shape, of probes: two layers, added to the input.
    struct Block {
        a: Probe<16, 16>,
        b: Probe<16, 16>,
    }
    fn forward(x: Features<16>) -> out {
        let y = self.b(self.a(x));
        x + y
    }
}

nn::network! {
    /// ResNet-8's stack that changes size, of probes: two layers, added to a projection of
    /// the input.
    struct DownBlock {
        a: Probe<16, 8>,
        b: Probe<8, 8>,
        shortcut: Probe<16, 8>,
    }
    fn forward(x: Features<16>) -> out {
        let y = self.b(self.a(x));
        self.shortcut(x) + y
    }
}

nn::network! {
    /// ResNet-8 in shape, of probes: a layer, the two stacks, a layer.
    struct Nested {
        first: Probe<4, 16>,
        block1: Block,
        block2: DownBlock,
        last: Probe<8, 2>,
    }
    fn forward(x: Features<4>) -> out {
        let h = self.first(x);
        let h = self.block2(self.block1(h));
        self.last(h)
    }
}

#[test]
fn a_nested_network_lays_out_its_values_in_its_callers_array() {
    // A block alone: two values of 16 alive together (the input is its caller's); the
    // sum goes where the first was.
    assert_eq!(Block::ACTIVATIONS, 2 * 16);
    // Its widest moment: the first block's input, kept for the sum, and the block's two
    // values, where two arrays of their own would take 16 + 16 + 32.
    assert_eq!(Nested::ACTIVATIONS, 3 * 16);
    let net = Nested::new(0);
    let x = [0.5, 1.5, 2.5, 3.5];
    CALLS.with(|c| c.borrow_mut().clear());
    let mut y = [0.0; 2];
    Layer::forward(&*net, &x, &mut y);
    let calls = CALLS.with(|c| c.borrow().clone());
    // first, block1.a, block1.b, block2.a, block2.b, block2.shortcut, last.
    assert_eq!(calls.len(), 7);
    // Each probe adds one; a block adds its input to what its layers made.
    let h: Vec<f32> = (0..16).map(|j| x[j % 4] + 1.0).collect();
    let h: Vec<f32> = h.iter().map(|v| v + (v + 2.0)).collect();
    let h: Vec<f32> = (0..8).map(|j| (h[j] + 1.0) + (h[j] + 2.0)).collect();
    let expect: Vec<f32> = (0..2).map(|j| h[j] + 1.0).collect();
    assert_eq!(bits(&y), bits(&expect));
    // Every value read or written but the input and the output lies in one array of
    // exactly `ACTIVATION_BYTES`.
    let (x_at, y_at) = (span(&x), span(&y));
    let inner: Vec<&Range<usize>> = calls
        .iter()
        .flat_map(|c| [&c.read, &c.written])
        .filter(|r| **r != x_at && **r != y_at)
        .collect();
    let low = inner.iter().map(|r| r.start).min().unwrap();
    let high = inner.iter().map(|r| r.end).max().unwrap();
    assert_eq!(high - low, Nested::ACTIVATION_BYTES);
    let apart = |a: &Range<usize>, b: &Range<usize>| a.end <= b.start || b.end <= a.start;
    for (i, c) in calls.iter().enumerate() {
        assert!(apart(&c.read, &c.written), "call {i} reads what it writes");
    }
    // Each block's input stays whole while its layers run, and its shortcut reads it.
    let block1_in = &calls[1].read;
    assert_eq!(block1_in, &calls[0].written);
    for (i, c) in calls.iter().enumerate().take(3).skip(1) {
        assert!(
            apart(&c.written, block1_in),
            "call {i} writes over block1's input"
        );
    }
    let block2_in = &calls[3].read;
    assert_eq!(&calls[5].read, block2_in);
    for (i, c) in calls.iter().enumerate().take(6).skip(3) {
        assert!(
            apart(&c.written, block2_in),
            "call {i} writes over block2's input"
        );
    }
}

/// The layers of `$net` (by index) called one at a time on `$x`, each into a buffer of its
/// own.
macro_rules! by_hand {
    ($net:expr, $x:expr; $($i:tt)*) => {{
        let v: Vec<f32> = $x.to_vec();
        $( let v = call(&$net.$i, &v); )*
        v
    }};
}

/// A network with every parameter moved a little and its batch norms' running statistics
/// drawn, so that no batch norm is the identity.
fn drawn<N: Network>(seed: u64) -> Box<N> {
    let mut net: Box<N> = nn::__private::zeroed_box();
    net.init_from_seed(seed);
    let mut rng = Rng::seed(seed + 1);
    net.walk_params_mut(&mut |p| p.iter_mut().for_each(|v| *v += rng.uniform(-0.1, 0.1)));
    net.walk_state_mut(&nn::Path::ROOT, &mut |_, name, value| {
        if let nn::BufferMut::F32(v) = value {
            let (lo, hi) = if name == "running_var" {
                (0.5, 1.5)
            } else {
                (-0.5, 0.5)
            };
            v.iter_mut().for_each(|v| *v = rng.uniform(lo, hi));
        }
    });
    net
}

fn input(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::seed(seed);
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

#[test]
fn the_ds_cnn_computes_what_its_layers_do() {
    let net = drawn::<DsCnn>(3);
    // Two of 64 × 25 × 5 outputs alive at once: a convolution's input and output.
    assert_eq!(DsCnn::ACTIVATIONS, 2 * 64 * 25 * 5);
    let x = input(DsCnn::IN, 4);
    let mut y = vec![0.0; DsCnn::OUT];
    Layer::forward(&*net, &x, &mut y);
    let hand = by_hand!(net, x;
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29);
    assert_eq!(bits(&y), bits(&hand));
}

#[test]
fn mobilenet_computes_what_its_layers_do() {
    let net = drawn::<MobileNetV1>(5);
    // The widest two values alive together: the first pointwise convolution's 16 × 48 × 48
    // outputs and its input, 8 × 48 × 48 (two buffers of the widest would be 73,728).
    assert_eq!(MobileNetV1::ACTIVATIONS, 16 * 48 * 48 + 8 * 48 * 48);
    let x = input(MobileNetV1::IN, 6);
    let mut y = vec![0.0; MobileNetV1::OUT];
    Layer::forward(&*net, &x, &mut y);
    let hand = by_hand!(net, x;
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30
        31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58
        59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83);
    assert_eq!(bits(&y), bits(&hand));
}

#[test]
fn the_autoencoder_computes_what_its_layers_do() {
    let net = drawn::<AutoEncoder>(7);
    // Its widest two: 128 and 128 (the 640 inputs are read in place, the 640 outputs
    // written to the caller's array).
    assert_eq!(AutoEncoder::ACTIVATIONS, 2 * 128);
    let x = input(AutoEncoder::IN, 8);
    let mut y = vec![0.0; AutoEncoder::OUT];
    Layer::forward(&*net, &x, &mut y);
    let hand = by_hand!(net, x;
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27);
    assert_eq!(bits(&y), bits(&hand));
}

/// One of ResNet-8's stacks called one layer at a time: `relu(shortcut(x) + bn2(conv2(relu(
/// bn1(conv1(x))))))`, the shortcut the identity where there is none, `$n` features wide.
macro_rules! stack_by_hand {
    ($s:expr, $x:expr, $shortcut:expr, $n:expr) => {{
        let x: &[f32] = $x;
        let y = call(&$s.bn1, &call(&$s.conv1, x));
        let y = stateless::<nn::ReLU<{ $n }>>(&y);
        let y = call(&$s.bn2, &call(&$s.conv2, &y));
        let s: Vec<f32> = $shortcut(x);
        let sum: Vec<f32> = s.iter().zip(&y).map(|(a, b)| a + b).collect();
        stateless::<nn::ReLU<{ $n }>>(&sum)
    }};
}

#[test]
fn resnet8_computes_what_its_layers_do() {
    let net = drawn::<ResNet8>(9);
    // Its widest moment, in its first stack: the stack's input, kept for the shortcut, the
    // second convolution's input and its output, each 16 × 32 × 32 (two arrays of their
    // own, the network's and the stack's, took 4 × 16 × 32 × 32).
    assert_eq!(ResNet8::ACTIVATIONS, 3 * 16 * 32 * 32);
    let x = input(ResNet8::IN, 10);
    let mut y = vec![0.0; ResNet8::OUT];
    Layer::forward(&*net, &x, &mut y);
    let h = call(&net.bn1, &call(&net.conv1, &x));
    let h = stateless::<nn::ReLU<{ 16 * 32 * 32 }>>(&h);
    let h = stack_by_hand!(net.stack1, &h, |x: &[f32]| x.to_vec(), 16 * 32 * 32);
    let h = stack_by_hand!(
        net.stack2,
        &h,
        |x: &[f32]| call(&net.stack2.shortcut, x),
        32 * 16 * 16
    );
    let h = stack_by_hand!(
        net.stack3,
        &h,
        |x: &[f32]| call(&net.stack3.shortcut, x),
        64 * 8 * 8
    );
    let h = call(&net.fc, &call(&net.pool, &h));
    assert_eq!(bits(&y), bits(&h));
}
