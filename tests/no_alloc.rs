//! Heap allocations in a steady-state training step and in inference, counted by a global
//! allocator that records the allocations of the thread under test.
//!
//! One-sample inference allocates nothing. In the batched paths our own code allocates
//! nothing either, but `matrixmultiply` allocates one packing buffer inside every call to
//! `sgemm` (it offers no way to pass a reusable one), so those paths make exactly one
//! allocation per matrix product, and the tests pin that number: any other allocation
//! fails them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nn::loss::CrossEntropyLoss;
use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Gradients, Rng, Tape};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    if COUNTING.with(Cell::get) {
        COUNT.with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every call is passed to the system allocator unchanged; counting touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

nn::network! {
    /// The MNIST network: 784-128 ReLU BatchNorm 128-10.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

/// Matrix products in a training step of `Mnist`: each `Linear` forward (2), the last
/// `Linear`'s weight and input gradients (2), the first's weight gradient (1; no input
/// gradient is needed for the network's input).
const TRAIN_PRODUCTS: usize = 5;
/// Matrix products in batch inference: one per `Linear`.
const INFER_PRODUCTS: usize = 2;

fn data(rows: usize) -> (Vec<[f32; 784]>, Vec<usize>) {
    let mut rng = Rng::seed(1);
    let x = (0..rows)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let y = (0..rows).map(|_| rng.below(10)).collect();
    (x, y)
}

#[test]
fn the_counter_sees_allocations() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![0u8; 10]))), 1);
}

fn steady_state_step<O: Optimizer>(mut opt: O) {
    let mut net = Mnist::new(0);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let loss_fn = CrossEntropyLoss::default();
    let (x, y) = data(64);
    let mut step = |x: &[[f32; 784]], y: &[usize]| {
        opt.zero_grad(&mut grads);
        net.forward_train(x, &mut tape).unwrap();
        tape.loss(&loss_fn, y);
        net.backward(x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
    };
    // The first step sizes the tape and the optimizer's state.
    step(&x, &y);
    // Later steps, including a smaller last batch of an epoch, allocate only
    // matrixmultiply's packing buffers.
    let n = allocations(|| {
        for _ in 0..3 {
            step(&x, &y);
        }
        step(&x[..17], &y[..17]);
        step(&x, &y);
    });
    assert_eq!(
        n,
        5 * TRAIN_PRODUCTS,
        "5 steady-state training steps allocated {n} times"
    );
}

#[test]
fn sgd_step_allocates_only_packing_buffers() {
    steady_state_step(Sgd::new(0.01).momentum(0.9));
}

#[test]
fn adam_step_allocates_only_packing_buffers() {
    steady_state_step(Adam::new(1e-3));
}

#[test]
fn one_sample_inference_allocates_nothing() {
    let net = Mnist::new(0);
    let (x, _) = data(64);
    let mut tape = Tape::new();
    let _ = net.forward_batch(&x, &mut tape);
    let one = allocations(|| {
        for _ in 0..3 {
            std::hint::black_box(net.forward(&x[0]));
        }
    });
    assert_eq!(one, 0, "one-sample inference allocated {one} times");
    let batched = allocations(|| {
        for _ in 0..3 {
            std::hint::black_box(net.forward_batch(&x, &mut tape));
        }
    });
    assert_eq!(
        batched,
        3 * INFER_PRODUCTS,
        "3 batch inferences allocated {batched} times"
    );
}
