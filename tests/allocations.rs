//! Heap allocations, counted by a global allocator (`tests/common/counting.rs`) on the
//! thread that runs the code under test.
//!
//! One-sample inference makes none: `forward` of the MNIST MLP, the example CNN and
//! pytorch/examples' MNIST `Net` (whose convolutions take the tiled AVX2 kernel on x86-64
//! CPUs that have it, and the direct loops elsewhere), a GRU reading MNIST row by row, and
//! the recurrent layers' and a causal convolution stack's streaming steps and whole-signal
//! one-sample pass.
//!
//! In a steady-state training step and in batch inference of the MLP and the CNN, nothing
//! allocates either: the convolutions work in a block on the stack, and the tiled product
//! kernels read their operands in place or pack a panel into a block on the stack. Only
//! where products run on `matrixmultiply` (`NN_KERNEL=matrixmultiply`, or a CPU with none of
//! the tiled kernels) does each product allocate one packing buffer inside `sgemm` (it offers
//! no way to pass a reusable one), and the tests pin that number: any other allocation fails
//! them. With the `threading` feature the same holds in a pool of two threads, counted on
//! both of them (the convolutions' chunks keep their partial gradients in the tape's cache).

#[path = "common/counting.rs"]
mod counting;

use std::hint::black_box;

use counting::{allocations, peak_bytes, Allocations};
use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Gradients, Rng, Tape};

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

nn::network! {
    /// MNIST read row by row by a GRU.
    struct RowGru { gru: GRU<28, 64, 28, last = true>, fc: Linear<64, 10> }
}

/// Matrix products in a training step of `Mlp`: each `Linear` forward (2), the last
/// `Linear`'s weight and input gradients (2), the first's weight gradient (1; no input
/// gradient is needed for the network's input).
const MLP_TRAIN_PRODUCTS: usize = 5;
/// Matrix products in batch inference of `Mlp`: one per `Linear`.
const MLP_INFER_PRODUCTS: usize = 2;

/// Allocations per matrix product: none on the tiled kernels, one packing buffer on
/// `matrixmultiply`.
fn per_product() -> usize {
    usize::from(nn::gemm::kernel() == nn::gemm::Kernel::Matrixmultiply)
}

/// Samples in a batch.
const BATCH: usize = 64;
/// Products in batch inference of `Cnn`: the first convolution (8 output channels)
/// multiplies two samples at a time, the second one sample at a time, the `Linear` the
/// whole batch.
const CNN_INFER_PRODUCTS: usize = BATCH / 2 + BATCH + 1;
/// Products in a training step of `Cnn`: the forward ones; the `Linear`'s two gradients;
/// per sample of the second convolution its weight gradient and its input gradient; per
/// pair of samples the first convolution's weight gradient (it needs no input gradient).
const CNN_TRAIN_PRODUCTS: usize = CNN_INFER_PRODUCTS + 2 + 2 * BATCH + BATCH / 2;

/// A batch of `BATCH` random images and labels.
fn batch() -> (Vec<[f32; 784]>, Vec<usize>) {
    let mut rng = Rng::seed(1);
    let x = (0..BATCH)
        .map(|_| core::array::from_fn(|_| rng.uniform(0.0, 1.0)))
        .collect();
    let y = (0..BATCH).map(|_| rng.below(10)).collect();
    (x, y)
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

#[test]
fn gru_one_sample_inference_allocates_nothing() {
    let net = RowGru::new(0);
    assert_allocates_nothing("RowGru", |x| net.forward(x));
}

/// A step of a cell, and of a layer reading its weights in place, with the state carried.
#[test]
fn streaming_steps_allocate_nothing() {
    let mut gru: nn::GRU<1, 32, 1> = nn::Zeroable::zeroed();
    let mut lstm: nn::LSTM<1, 32, 1> = nn::Zeroable::zeroed();
    nn::Layer::init(&mut gru, &mut Rng::seed(1));
    nn::Layer::init(&mut lstm, &mut Rng::seed(2));
    let (gru_cell, lstm_cell) = (gru.cell(), lstm.cell());
    let (mut g, mut l, mut p) = Default::default();
    let mut run = |t: usize| {
        let x = [(t as f32 * 0.1).sin()];
        gru_cell.step(black_box(&x), &mut g);
        lstm_cell.step(black_box(&x), &mut l);
        gru.step(black_box(&x), &mut p);
    };
    run(0);
    let a = allocations(|| (1..100).for_each(&mut run));
    assert_eq!(a.count, 0, "100 steps allocated {} times", a.count);
    let (g, l, p): (nn::GruState<32>, nn::LstmState<32>, nn::GruState<32>) = (g, l, p);
    assert!(g.h.iter().any(|&v| v != 0.0) && l.c.iter().any(|&v| v != 0.0));
    assert_eq!(g, p);
    // A stack of three layers, every layer's state carried.
    let mut stack: nn::GRU<1, 8, 1, false, 2> = nn::Zeroable::zeroed();
    nn::Layer::init(&mut stack, &mut Rng::seed(3));
    let mut s = nn::GruState::default();
    let a = allocations(|| (1..100).for_each(|t| _ = stack.step(&[t as f32 * 0.1], &mut s)));
    assert_eq!(
        a.count, 0,
        "100 steps of a stack allocated {} times",
        a.count
    );
}

/// Five steady-state training steps of `Mlp` under `opt`, one of them on a smaller batch,
/// make no allocation (one per matrix product on `matrixmultiply`).
fn assert_mlp_step_allocates_only_packing_buffers<O: Optimizer>(mut opt: O) {
    let mut net = Mlp::new(0);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let loss_fn = CrossEntropyLoss::default();
    let (x, y) = batch();
    let mut step = |x: &[[f32; 784]], y: &[usize]| {
        opt.zero_grad(&mut grads);
        net.forward_train(x, &mut tape).unwrap();
        tape.loss(&loss_fn, y);
        net.backward(x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
    };
    // The first step sizes the tape and the optimizer's state.
    step(&x, &y);
    // Later steps, including a smaller last batch of an epoch, allocate nothing (but
    // matrixmultiply's packing buffers).
    let n = allocations(|| {
        for _ in 0..3 {
            step(&x, &y);
        }
        step(&x[..17], &y[..17]);
        step(&x, &y);
    })
    .count;
    assert_eq!(
        n,
        5 * MLP_TRAIN_PRODUCTS * per_product(),
        "5 steady-state training steps allocated {n} times"
    );
}

#[test]
fn mlp_sgd_step_allocates_only_packing_buffers() {
    assert_mlp_step_allocates_only_packing_buffers(Sgd::new(0.01).momentum(0.9));
}

#[test]
fn mlp_adam_step_allocates_only_packing_buffers() {
    assert_mlp_step_allocates_only_packing_buffers(Adam::new(1e-3));
}

#[test]
fn mlp_batch_inference_allocates_only_packing_buffers() {
    let net = Mlp::new(0);
    let (x, _) = batch();
    let mut tape = Tape::new();
    // The first call sizes the tape.
    let _ = net.forward_batch(&x, &mut tape);
    let n = allocations(|| {
        for _ in 0..3 {
            black_box(net.forward_batch(&x, &mut tape));
        }
    })
    .count;
    assert_eq!(
        n,
        3 * MLP_INFER_PRODUCTS * per_product(),
        "3 batch inferences allocated {n} times"
    );
}

#[test]
fn cnn_sgd_step_allocates_only_packing_buffers() {
    let mut net = Cnn::new(0);
    let (x, y) = batch();
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut opt = Sgd::new(0.01).momentum(0.9);
    let loss_fn = CrossEntropyLoss::default();
    let mut step = || {
        opt.zero_grad(&mut grads);
        net.forward_train(&x, &mut tape).unwrap();
        tape.loss(&loss_fn, &y[..]);
        net.backward(&x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
    };
    // The first step sizes the tape and the optimizer's state.
    step();
    let n = allocations(|| {
        for _ in 0..3 {
            step();
        }
    })
    .count;
    assert_eq!(
        n,
        3 * CNN_TRAIN_PRODUCTS * per_product(),
        "3 training steps allocated {n} times"
    );
}

#[test]
fn cnn_batch_inference_allocates_only_packing_buffers() {
    let net = Cnn::new(0);
    let (x, _) = batch();
    let mut tape = Tape::new();
    // The first call sizes the tape.
    let _ = net.forward_batch(&x, &mut tape);
    let n = allocations(|| {
        black_box(net.forward_batch(&x, &mut tape));
    })
    .count;
    assert_eq!(
        n,
        CNN_INFER_PRODUCTS * per_product(),
        "batch inference allocated {n} times"
    );
}

nn::network! {
    /// A network wide inside and cheap to run: 2 · 8,192 inner outputs per row.
    struct Wide<Linear<4, 8192>, ReLU, Linear<8192, 4>>
}

/// Batch inference of 2,000 rows holds the cache of one chunk of rows, not of the whole batch
/// (which would be 2,000 rows of 4 · 8,192 floats: 262 MB).
#[test]
fn predict_on_a_large_batch_holds_one_chunk_of_cache() {
    let net = Wide::new(0);
    let mut rng = Rng::seed(3);
    let x: Vec<[f32; 4]> = (0..2000)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let peak = peak_bytes(|| {
        black_box(net.predict(&x));
    });
    let cache = Tape::<Wide>::INFER_CACHE * 4;
    // The chunk's cache, and room for the products' packing buffers and the outputs.
    let bound = cache + (8 << 20);
    assert!(
        peak <= bound,
        "predict on 2,000 rows held {peak} bytes at once; one chunk's cache is {cache}"
    );
}

nn::network! {
    /// RTNeural's causal convolution stack over 256 samples.
    #[input(1, 256)]
    struct ConvStack {
        conv1: Conv1d<1, 16, 3, padding = causal>,
        act: Tanh,
        conv2: Conv1d<16, 16, 3, dilation = 2, padding = causal>,
        dense: Conv1d<16, 1, 1>,
    }
}

/// A causal convolution stack: its cells' steps with their contexts carried, one by one and
/// as a tuple, and the network's one-sample pass over a whole signal.
#[test]
fn conv1d_streaming_and_one_sample_pass_allocate_nothing() {
    let net = ConvStack::new(3);
    let (c1, c2, c3) = (
        nn::Conv1dCell::new(&net.conv1),
        nn::Conv1dCell::new(&net.conv2),
        nn::Conv1dCell::new(&net.dense),
    );
    let (mut k1, mut k2, mut k3) = Default::default();
    let tanh: nn::Tanh<16> = nn::Zeroable::zeroed();
    let mut out = 0.0;
    let mut run = |t: usize| {
        let h = c1.step(black_box(&[(t as f32 * 0.1).sin()]), &mut k1);
        let mut a = [0.0; 16];
        nn::Layer::forward(&tanh, &h, &mut a);
        out = c3.step(&c2.step(&a, &mut k2), &mut k3)[0];
    };
    run(0);
    let a = allocations(|| (1..100).for_each(&mut run));
    assert_eq!(a.count, 0, "100 steps allocated {} times", a.count);
    // The same cells as a tuple, stepped in one call.
    let stack = (&c1, &tanh, &c2, &c3);
    let mut state = Default::default();
    let mut last = [0.0];
    let a = allocations(|| {
        (0..100).for_each(|t| {
            last = nn::Stream::step(&stack, black_box(&[(t as f32 * 0.1).sin()]), &mut state)
        })
    });
    assert_eq!(
        a.count, 0,
        "100 steps of the tuple allocated {} times",
        a.count
    );
    assert!(last[0].is_finite() && last[0] != 0.0);
    let x: [f32; 256] = core::array::from_fn(|t| (t as f32 * 0.1).sin());
    let a = allocations(|| {
        black_box(net.forward(black_box(&x)));
    });
    assert_eq!(a.count, 0, "the whole signal allocated {} times", a.count);
}

/// A steady-state training step of `Mlp` (whose products split over the threads at this
/// batch) and of `Cnn` (whose convolutions run in chunks on both threads), and batched
/// inference of both, in a pool of two threads, counted on both threads.
#[cfg(feature = "threading")]
#[test]
fn steps_and_batch_inference_on_two_threads_allocate_nothing() {
    // `matrixmultiply` allocates in each part of a split product, not once per product.
    if per_product() != 0 {
        return;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .start_handler(|_| counting::join_counted_pool())
        .build()
        .expect("a thread pool");
    // The count sees each thread of the pool.
    let seen = counting::pool_allocations(|| {
        pool.broadcast(|_| drop(black_box(vec![0u8; 8])));
    });
    assert!(
        seen >= 2,
        "one allocation on each of two threads, counted {seen}"
    );
    let mut rng = Rng::seed(5);
    let x: Vec<[f32; 784]> = (0..256)
        .map(|_| core::array::from_fn(|_| rng.uniform(0.0, 1.0)))
        .collect();
    let y: Vec<usize> = (0..256).map(|_| rng.below(10)).collect();
    let loss_fn = CrossEntropyLoss::default();
    let (mut mlp, mut cnn) = (Mlp::new(0), Cnn::new(0));
    let (mut mlp_tape, mut cnn_tape) = (Tape::new(), Tape::new());
    let (mut mlp_grads, mut cnn_grads) = (Gradients::new(), Gradients::new());
    let (mut mlp_opt, mut cnn_opt) = (Adam::new(1e-3), Sgd::new(0.01).momentum(0.9));
    let (products, outputs) = pool.install(|| {
        nn::gemm::parallel(|| {
            let mut steps = || {
                mlp_opt.zero_grad(&mut mlp_grads);
                mlp.forward_train(&x, &mut mlp_tape).unwrap();
                mlp_tape.loss(&loss_fn, &y[..]);
                mlp.backward(&x, &mut mlp_tape, &mut mlp_grads);
                mlp_opt.step(&mut *mlp, &mlp_grads);
                cnn_opt.zero_grad(&mut cnn_grads);
                cnn.forward_train(&x[..64], &mut cnn_tape).unwrap();
                cnn_tape.loss(&loss_fn, &y[..64]);
                cnn.backward(&x[..64], &mut cnn_tape, &mut cnn_grads);
                cnn_opt.step(&mut *cnn, &cnn_grads);
                let a = mlp.forward_batch(&x[..64], &mut mlp_tape).to_vec();
                let b = cnn.forward_batch(&x[..64], &mut cnn_tape).to_vec();
                (a, b)
            };
            // The first steps size the tapes and optimizer states, and start both threads.
            for _ in 0..3 {
                steps();
            }
            let mut outputs = Vec::with_capacity(6);
            let n = counting::pool_allocations(|| {
                for _ in 0..3 {
                    let (a, b) = steps();
                    // The outputs' copies are the test's own: two per step.
                    outputs.push(black_box(a));
                    outputs.push(black_box(b));
                }
            });
            (n, outputs)
        })
    });
    let own = 2 * 3;
    let want = own;
    assert_eq!(
        products, want,
        "3 steps of both networks on two threads allocated {products} times, {own} of them \
         the test's copies of outputs"
    );
    // The counted steps ran: training between them changed both networks' outputs.
    assert_ne!(outputs[0], outputs[4], "`Mlp`'s outputs did not change");
    assert_ne!(outputs[1], outputs[5], "`Cnn`'s outputs did not change");
}
