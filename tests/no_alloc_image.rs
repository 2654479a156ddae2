//! Heap allocations of the image layers, counted as `tests/no_alloc.rs` counts the MNIST
//! network's: in a steady-state training step and in inference of the example CNN, our own
//! code allocates nothing (the convolutions work in a block on the stack), so the only
//! allocations are `matrixmultiply`'s packing buffers, one inside every matrix product, and
//! the tests pin their number. One-sample inference allocates nothing at all.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nn::loss::CrossEntropyLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Rng, Tape};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; counting touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.alloc(layout) }
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
    struct Cnn<
        nn::Conv2d<1, 8, 3, 1, 0, 28, 28>, ReLU, nn::MaxPool2d<8, 2, 26, 26>,
        nn::Conv2d<8, 16, 3, 1, 0, 13, 13>, ReLU, nn::MaxPool2d<16, 2, 11, 11>,
        nn::Flatten<400>, Linear<400, 10>
    >
}

const BATCH: usize = 64;
/// Products in batch inference: the first convolution (8 output channels) multiplies two
/// samples at a time, the second one sample at a time, the `Linear` the whole batch.
const INFER_PRODUCTS: usize = BATCH / 2 + BATCH + 1;
/// Products in a training step: the forward ones; the `Linear`'s two gradients; per sample
/// of the second convolution its weight gradient and its input gradient; per pair of
/// samples the first convolution's weight gradient (it needs no input gradient).
const TRAIN_PRODUCTS: usize = INFER_PRODUCTS + 2 + 2 * BATCH + BATCH / 2;

fn data() -> (Vec<[f32; 784]>, Vec<usize>) {
    let mut rng = Rng::seed(1);
    let x = (0..BATCH)
        .map(|_| core::array::from_fn(|_| rng.uniform(0.0, 1.0)))
        .collect();
    let y = (0..BATCH).map(|_| rng.below(10)).collect();
    (x, y)
}

#[test]
fn training_step_allocates_only_packing_buffers() {
    let mut net = Cnn::new(0);
    let (x, y) = data();
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
    });
    assert_eq!(
        n,
        3 * TRAIN_PRODUCTS,
        "3 training steps allocated {n} times"
    );
}

#[test]
fn inference_allocates_only_packing_buffers() {
    let net = Cnn::new(0);
    let (x, _) = data();
    let mut tape = Tape::new();
    let _ = net.forward_batch(&x, &mut tape);
    let batched = allocations(|| {
        std::hint::black_box(net.forward_batch(&x, &mut tape));
    });
    assert_eq!(
        batched, INFER_PRODUCTS,
        "batch inference allocated {batched} times"
    );
    let one = allocations(|| {
        std::hint::black_box(net.forward(&x[0]));
    });
    assert_eq!(one, 0, "one-sample inference allocated {one} times");
}
