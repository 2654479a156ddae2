//! With the `threading` feature, training steps and batched inference in a pool of two
//! threads, where large products split in halves, give what one thread gives, bit for bit:
//! each output element is the same sum in the same order, whichever thread computes it.
#![cfg(feature = "threading")]

mod common;

use nn::loss::{BceLoss, CrossEntropyLoss, Loss, MseLoss, Reduction};
use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Gradients, Network, Rng, Tape};

nn::network! { struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
nn::network! { struct Wide<Linear<784, 512>, ReLU, BatchNorm<512>, Linear<512, 10>> }
nn::network! {
    #[input(1, 28, 28)]
    struct Cnn<Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>, Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>, Flatten, Linear<400, 10>>
}

/// Every parameter after three SGD steps on `batch` random rows, then the logits of a
/// batch, in a pool of `threads` threads.
fn train_and_infer<N: Network>(
    threads: usize,
    batch: usize,
    new: fn(u64) -> Box<N>,
) -> (Vec<u32>, Vec<u32>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        nn::gemm::parallel(|| {
            let mut rng = Rng::seed(3);
            let x: Vec<f32> = (0..batch * N::IN).map(|_| rng.uniform(0.0, 1.0)).collect();
            let y: Vec<usize> = (0..batch).map(|i| i % N::OUT).collect();
            // Built on the heap: the wide network's 1.6 MB would not fit a pool thread's stack.
            let mut net = new(1);
            let (mut tape, mut grads) = (Tape::<N>::new(), Gradients::<N>::new());
            let mut opt = Sgd::new(0.05).momentum(0.9);
            for _ in 0..3 {
                opt.zero_grad(&mut grads);
                tape.forward(&mut net, &x).unwrap();
                tape.loss(&CrossEntropyLoss::default(), &y[..]);
                tape.backward(&net, &x, &mut grads);
                opt.step(&mut *net, &grads);
            }
            let mut params = Vec::new();
            net.named_params(&mut |_, _, _, v| params.extend(v.iter().map(|f| f.to_bits())));
            let logits = tape.infer(&net, &x).iter().map(|f| f.to_bits()).collect();
            (params, logits)
        })
    })
}

#[test]
fn two_threads_train_and_infer_as_one_thread_does() {
    // 256 rows: the first layer's products (256 × 784 × 128) split over the threads, and so
    // do BatchNorm's features, in pools of two to four; the wider network's SGD update
    // (407,050 parameters) and its activations and Linear layers' bias passes split too.
    let mnist = train_and_infer(1, 256, Mnist::new);
    let wide = train_and_infer(1, 256, Wide::new);
    let cnn = train_and_infer(1, 64, Cnn::new);
    for threads in [2, 3, 4] {
        assert!(
            train_and_infer(threads, 256, Mnist::new) == mnist,
            "{threads} threads, MLP"
        );
        assert!(
            train_and_infer(threads, 256, Wide::new) == wide,
            "{threads} threads, wide MLP"
        );
        assert!(
            train_and_infer(threads, 64, Cnn::new) == cnn,
            "{threads} threads, CNN"
        );
    }
}

/// The gradient of one batch of 40 samples, which backward takes in chunks of 16 whose
/// sums are reduced (16 + 16 + 8), against the same samples in batches of 8, each one
/// chunk with nothing to reduce: the chunks' sums are added once each, all of them.
#[test]
fn a_chunked_backward_sums_what_unchunked_batches_sum() {
    let (batch, small) = (40, 8);
    let mut rng = Rng::seed(5);
    let x: Vec<f32> = (0..batch * Cnn::IN)
        .map(|_| rng.uniform(0.0, 1.0))
        .collect();
    let y: Vec<usize> = (0..batch).map(|i| (i * 7) % Cnn::OUT).collect();
    let gradient = |threads: usize, rows: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(|| {
            nn::gemm::parallel(|| {
                let mut net = Cnn::new(2);
                let (mut tape, mut grads) = (Tape::<Cnn>::new(), Gradients::<Cnn>::new());
                for (x, y) in x.chunks(rows * Cnn::IN).zip(y.chunks(rows)) {
                    tape.forward(&mut net, x).unwrap();
                    tape.loss(&CrossEntropyLoss::default(), y);
                    tape.backward(&net, x, &mut grads);
                }
                // The loss is a mean over each batch: batches of `rows` sum to `batch / rows`
                // times the mean over all.
                let scale = rows as f32 / batch as f32;
                grads
                    .as_slice()
                    .iter()
                    .map(|g| g * scale)
                    .collect::<Vec<f32>>()
            })
        })
    };
    let unchunked = gradient(1, small);
    assert!(unchunked.iter().any(|g| *g != 0.0));
    for threads in [1, 2] {
        // The same sums grouped by chunk rather than by batch, and the batches' means
        // scaled back: a few roundings of f32 sums of 40 terms.
        assert_close!(
            gradient(threads, batch),
            unchunked,
            rel = 1e-4,
            abs = 1e-6,
            "{threads} thread(s), chunked against unchunked"
        );
    }
}

nn::network! {
    /// pytorch/examples' VAE: its passes over a batch of 128 are large enough to split.
    struct Vae {
        fc1: Linear<784, 400>,
        fc21: Linear<400, 20>,
        fc22: Linear<400, 20>,
        fc3: Linear<20, 400>,
        fc4: Linear<400, 784>,
    }
    fn forward(x: Features<784>) -> (recon, mu, logvar) {
        let h1 = relu(self.fc1(x));
        let mu = self.fc21(h1);
        let logvar = self.fc22(h1);
        let std = exp(0.5 * logvar);
        let z = mu + randn_like(std) * std;
        (sigmoid(self.fc4(relu(self.fc3(z)))), mu, logvar)
    }
    fn loss(target: Features<784>) {
        let bce = binary_cross_entropy(recon, target, reduction = sum);
        let kld = -0.5 * sum(1.0 + logvar - mu.pow(2) - logvar.exp());
        bce + kld
    }
}

/// `f` in a pool of `threads` threads, inside `nn::gemm::parallel`.
fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(|| nn::gemm::parallel(f))
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// Three Adam steps of the VAE on 128 rows (its ReLU, Sigmoid, binary cross-entropy and
/// Adam's update split over the pool), then the losses, every parameter, the optimizer's
/// state and the batch's inference: the same bits in pools of one to four threads.
#[test]
fn the_vae_trains_to_the_same_bits_on_one_to_four_threads() {
    let run = |threads: usize| {
        in_pool(threads, || {
            let mut rng = Rng::seed(9);
            let x: Vec<f32> = (0..128 * 784).map(|_| rng.uniform(0.0, 1.0)).collect();
            let rows: Vec<[f32; 784]> =
                x.chunks_exact(784).map(|r| r.try_into().unwrap()).collect();
            let mut net = Vae::new(1);
            let (mut tape, mut grads) = (Tape::new(), Gradients::new());
            let mut opt = Adam::new(1e-3);
            let mut losses = Vec::new();
            for _ in 0..3 {
                opt.zero_grad(&mut grads);
                net.forward_train(&rows, &mut tape).unwrap();
                losses.push(net.loss(&mut tape, &x[..]));
                net.backward(&rows, &mut tape, &mut grads);
                opt.step(&mut *net, &grads);
            }
            let mut params = Vec::new();
            net.named_params(&mut |_, _, _, v| params.extend(bits(v)));
            let mut state = nn::StateDict::new();
            opt.save_state(&*net, &mut state);
            let moments = bits(state.f32s("fc4.weight.exp_avg_sq", &[784, 400]).unwrap());
            let out = bits(tape.infer(&*net, &x));
            (bits(&losses), params, moments, out)
        })
    };
    let one = run(1);
    for threads in [2, 3, 4] {
        assert!(run(threads) == one, "{threads} threads against one");
    }
}

/// Losses of each element over a large output, with their gradients and under every
/// reduction: the same bits in pools of one to four threads as outside any pool, the sum's
/// blocks added in the same order whoever computes them.
#[test]
fn losses_of_each_element_sum_to_the_same_bits_on_one_to_four_threads() {
    let n = 5 * 4096 * 4 + 77;
    let mut rng = Rng::seed(10);
    let p: Vec<f32> = (0..n).map(|_| rng.uniform(0.0, 1.0)).collect();
    let t: Vec<f32> = (0..n).map(|i| [0.0, 1.0, 0.3][i % 3]).collect();
    let run = || {
        let mut out = Vec::new();
        for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let mut g = vec![0.0; n];
            out.push(vec![BceLoss
                .reduction(r)
                .loss(&p, 1, &t[..], Some(&mut g))
                .to_bits()]);
            out.push(bits(&g));
            out.push(bits(&BceLoss.reduction(r).losses(&p, 1, &t[..], None)));
            out.push(vec![MseLoss
                .reduction(r)
                .loss(&p, 1, &t[..], Some(&mut g))
                .to_bits()]);
            out.push(bits(&g));
        }
        out
    };
    let alone = run();
    for threads in [1, 2, 3, 4] {
        assert!(
            in_pool(threads, run) == alone,
            "{threads} threads against none"
        );
    }
}

/// Cross-entropy (class indices and probabilities, with and without smoothing) and NLL over
/// 3,000 rows of 100 classes, their gradients and terms under every reduction: the same
/// bits in pools of one to four threads as outside any pool, the rows' blocks summed in the
/// same order whoever computes them.
#[test]
fn losses_over_rows_sum_to_the_same_bits_on_one_to_four_threads() {
    use nn::loss::NllLoss;
    let (rows, width) = (3000, 100);
    let mut rng = Rng::seed(11);
    let out: Vec<f32> = (0..rows * width).map(|_| rng.uniform(-4.0, 4.0)).collect();
    let classes: Vec<usize> = (0..rows).map(|i| (i * 37) % width).collect();
    let probs: Vec<f32> = (0..rows * width)
        .map(|i| {
            if i % width == (i / width) % width {
                0.7
            } else {
                0.3 / 99.0
            }
        })
        .collect();
    let run = || {
        let mut got = Vec::new();
        for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            for eps in [0.0, 0.1] {
                let ce = CrossEntropyLoss {
                    label_smoothing: eps,
                }
                .reduction(r);
                let mut g = vec![0.0; rows * width];
                got.push(vec![ce
                    .loss(&out, width, &classes[..], Some(&mut g))
                    .to_bits()]);
                got.push(bits(&g));
                got.push(vec![ce
                    .loss(&out, width, &probs[..], Some(&mut g))
                    .to_bits()]);
                got.push(bits(&g));
                got.push(bits(&ce.losses(&out, width, &classes[..], None)));
            }
            let nll = NllLoss.reduction(r);
            let mut g = vec![1.0; rows * width];
            got.push(vec![nll
                .loss(&out, width, &classes[..], Some(&mut g))
                .to_bits()]);
            got.push(bits(&g));
            got.push(bits(&nll.losses(&out, width, &classes[..], None)));
        }
        got
    };
    let alone = run();
    for threads in [1, 2, 3, 4] {
        assert!(
            in_pool(threads, run) == alone,
            "{threads} threads against none"
        );
    }
}
