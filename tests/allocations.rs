//! One-sample inference makes no heap allocation: `forward` of the MNIST MLP, the example
//! CNN and pytorch/examples' MNIST `Net` (whose convolutions take the tiled AVX2 kernel on
//! x86-64 CPUs that have it, and the direct loops elsewhere), counted by a global allocator
//! on the thread that runs them.

#[path = "common/counting.rs"]
mod counting;

use std::hint::black_box;

use counting::{allocations, Allocations};
use nn::Rng;

nn::network! {
    /// The MNIST network: 784-128 ReLU BatchNorm 128-10.
    struct Mlp<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

nn::network! {
    /// The CNN of `examples/cnn.rs`.
    #[input(1, 28, 28)]
    struct Cnn<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

nn::network! {
    /// pytorch/examples' MNIST `Net` in eval mode (its dropouts are the identity there).
    #[input(1, 28, 28)]
    struct Net<
        Conv2d<1, 32, 3>, ReLU, Conv2d<32, 64, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<9216, 128>, ReLU, Linear<128, 10>,
    >
}

/// Calls counted per network, after one uncounted call.
const CALLS: usize = 3;

/// Asserts that `CALLS` calls of `forward` on an image allocate nothing on this thread.
/// The network is built before, and one call runs uncounted first, so that only the steady
/// state is measured (the first call could fill a process-wide cache, such as the CPU
/// features found at run time, which the other tests of this binary may already have).
fn assert_allocates_nothing(name: &str, forward: impl Fn(&[f32; 784]) -> [f32; 10]) {
    let mut rng = Rng::seed(7);
    let x: [f32; 784] = core::array::from_fn(|_| rng.uniform(0.0, 1.0));
    let want = forward(&x);
    let mut outputs = [[0.0f32; 10]; CALLS];
    let Allocations { count, bytes } = allocations(|| {
        for y in &mut outputs {
            *y = black_box(forward(black_box(&x)));
        }
    });
    assert_eq!(
        count, 0,
        "`{name}`: {CALLS} one-sample inferences allocated {count} times ({bytes} bytes)"
    );
    // The counted calls ran in full: each gave the warm-up's answer, which depends on the
    // input (an optimiser that dropped the calls would leave zeros here).
    assert!(
        want.iter().any(|&v| v != 0.0),
        "`{name}`: an all-zero output"
    );
    for y in outputs {
        assert_eq!(y, want, "`{name}`: one input, two answers");
    }
}

#[test]
fn the_counter_sees_allocations() {
    let a = allocations(|| drop(black_box(vec![0u8; 10])));
    assert_eq!(
        a,
        Allocations {
            count: 1,
            bytes: 10
        }
    );
    let a = allocations(|| {
        let mut v = black_box(Vec::<u8>::with_capacity(4));
        v.extend_from_slice(&[0; 64]);
        drop(black_box(v));
    });
    assert_eq!(a.count, 2, "an allocation and a reallocation: {a:?}");
}

#[test]
fn mlp_one_sample_inference_allocates_nothing() {
    let net = Mlp::new(0);
    assert_allocates_nothing("Mlp", |x| net.forward(x));
}

#[test]
fn cnn_one_sample_inference_allocates_nothing() {
    let net = Cnn::new(0);
    assert_allocates_nothing("Cnn", |x| net.forward(x));
}

#[test]
fn net_one_sample_inference_allocates_nothing() {
    let net = Net::new(0);
    assert_allocates_nothing("Net", |x| net.forward(x));
}
