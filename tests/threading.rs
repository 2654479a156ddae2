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

/// A `Linear` layer's batched passes, with the bias written into every row and its gradient
/// summed down the columns split over the pool (widths of every remainder of 16 columns,
/// and of a part's columns), against float64 in pools of one to four threads: the output
/// `X Wᵀ + b`, the bias gradient `Σ dY` added to what was there (exactly), the weight
/// gradient and the input gradient; and the same bits as outside any pool.
#[test]
fn a_linear_layers_passes_match_float64_in_pools_of_one_to_four_threads() {
    fn check<const OUT: usize>() {
        use nn::{Backward, Layer, Linear, Zeroable};
        const IN: usize = 5;
        // Enough rows that four threads each take a part of the bias passes (2^15
        // elements per part at least), not a whole number of any part.
        let batch = 4 * (1 << 15) / OUT + 13;
        let mut rng = Rng::seed(OUT as u64);
        let mut fc = Linear::<IN, OUT>::zeroed();
        fc.init(&mut rng);
        let x: Vec<f32> = (0..batch * IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
        // Multiples of 2^-8 in [-1, 1]: every partial sum of a column (fewer than 2^16
        // terms) is one in float32 too, so the bias gradient must equal float64's exactly,
        // and a row lost or added twice by a part shows.
        let dyadic = |rng: &mut Rng| (rng.uniform(-1.0, 1.0) * 256.0).round() / 256.0;
        let dy: Vec<f32> = (0..batch * OUT).map(|_| dyadic(&mut rng)).collect();
        let start: Vec<f32> = (0..IN * OUT + OUT).map(|_| dyadic(&mut rng)).collect();
        let run = || {
            let mut y = vec![f32::NAN; batch * OUT];
            fc.forward_batch(&x, &mut y, batch, &mut []);
            let mut dx = vec![f32::NAN; batch * IN];
            let mut g = start.clone();
            let io = Backward {
                x: &x,
                y: &y,
                dy: &dy,
                batch,
                cache: &mut [],
            };
            fc.backward(io, Some(&mut dx), &mut g);
            (y, dx, g)
        };
        // Float64: each value with the bound on the rounding of its sum in float32,
        // `(terms + 2) ε Σ|term|` (a term lost or counted twice is off by a whole term).
        let close = |got: f32, want: f64, size: f64, terms: usize, what: &str| {
            let bound = (terms as f64 + 2.0) * f64::from(f32::EPSILON) * size;
            assert!(
                (f64::from(got) - want).abs() <= bound,
                "{OUT} outputs, {what}: {got} against float64's {want} (bound {bound:e})"
            );
        };
        let alone = run();
        for threads in [1, 2, 3, 4] {
            let (y, dx, g) = in_pool(threads, run);
            for r in 0..batch {
                for o in 0..OUT {
                    let terms = (0..IN).map(|i| f64::from(x[r * IN + i] * fc.weight[o][i]));
                    let (want, size) = terms.fold((f64::from(fc.bias[o]), 0.0), |(s, a), t| {
                        (s + t, a + t.abs())
                    });
                    let size = size + f64::from(fc.bias[o]).abs();
                    close(y[r * OUT + o], want, size, IN + 1, "output");
                }
                for i in 0..IN {
                    let (want, size) = (0..OUT)
                        .map(|o| f64::from(dy[r * OUT + o]) * f64::from(fc.weight[o][i]))
                        .fold((0.0, 0.0), |(s, a), t| (s + t, a + t.abs()));
                    close(dx[r * IN + i], want, size, OUT, "input gradient");
                }
            }
            let (gw, gb) = g.split_at(IN * OUT);
            for o in 0..OUT {
                let column = (0..batch).map(|r| f64::from(dy[r * OUT + o]));
                let (want, size) = column
                    .fold((f64::from(start[IN * OUT + o]), 0.0), |(s, a), t| {
                        (s + t, a + t.abs())
                    });
                let _ = size;
                assert!(
                    f64::from(gb[o]) == want,
                    "{OUT} outputs, {threads} threads: bias gradient {o}: {} against \
                     float64's {want}",
                    gb[o]
                );
                for i in 0..IN {
                    let (want, size) = (0..batch)
                        .map(|r| f64::from(dy[r * OUT + o]) * f64::from(x[r * IN + i]))
                        .fold((f64::from(start[o * IN + i]), 0.0), |(s, a), t| {
                            (s + t, a + t.abs())
                        });
                    let size = size + f64::from(start[o * IN + i]).abs();
                    close(gw[o * IN + i], want, size, batch + 1, "weight gradient");
                }
            }
            assert!(
                (bits(&y), bits(&dx), bits(&g)) == (bits(&alone.0), bits(&alone.1), bits(&alone.2)),
                "{OUT} outputs: {threads} threads against none"
            );
        }
    }
    check::<1>();
    check::<15>();
    check::<17>();
    check::<37>();
    check::<130>();
}

/// Cross-entropy over rows (class indices, with and without label smoothing) and BCE and
/// MSE over elements, split over the pool by blocks: the loss under `sum` and `mean` and
/// the gradient against float64 in pools of one to four threads, on sizes whose last block
/// and last part are short (rows not a whole number of blocks, widths that do not divide a
/// block).
#[test]
fn losses_match_float64_in_pools_of_one_to_four_threads() {
    let eps = f64::from(f32::EPSILON);
    for (rows, width) in [(2000, 37), (700, 100), (4 * 443 + 5, 37), (3, 5)] {
        let mut rng = Rng::seed(rows as u64);
        let out: Vec<f32> = (0..rows * width).map(|_| rng.uniform(-4.0, 4.0)).collect();
        let classes: Vec<usize> = (0..rows).map(|i| (i * 7) % width).collect();
        for smoothing in [0.0f32, 0.1] {
            // Each row's term and its gradient in float64.
            let s = f64::from(smoothing);
            let mut want_terms = Vec::with_capacity(rows);
            let mut size = 0.0;
            let mut want_grad = vec![0.0f64; rows * width];
            for (r, row) in out.chunks_exact(width).enumerate() {
                let row: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
                let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
                let t = classes[r];
                let mean = row.iter().sum::<f64>() / width as f64;
                want_terms.push((1.0 - s) * (lse - row[t]) + s * (lse - mean));
                size += lse.abs() + row.iter().map(|v| v.abs()).fold(0.0, f64::max);
                for (k, v) in row.iter().enumerate() {
                    let p = (v - lse).exp();
                    let hot = if k == t { 1.0 } else { 0.0 };
                    want_grad[r * width + k] = p - (1.0 - s) * hot - s / width as f64;
                }
            }
            let total: f64 = want_terms.iter().sum();
            for (reduction, scale) in [(Reduction::Sum, 1.0), (Reduction::Mean, rows as f64)] {
                let ce = CrossEntropyLoss {
                    label_smoothing: smoothing,
                }
                .reduction(reduction);
                let run = || {
                    let mut g = vec![f32::NAN; rows * width];
                    let l = ce.loss(&out, width, &classes[..], Some(&mut g));
                    (l, g)
                };
                for threads in [1, 2, 3, 4] {
                    let (l, g) = in_pool(threads, run);
                    // Rows are summed in order within blocks of `4096 / width`, the
                    // blocks pairwise over a tree: each term within a few roundings of its
                    // size, the sum within `(rows a block + tree depth) ε` of the sum of the
                    // sizes. A block lost or counted twice is off by far more.
                    let block = (4096 / width).max(1);
                    let depth = block as f64 + f64::from(rows.div_ceil(block).ilog2() + 1);
                    let bound = (depth + 16.0) * eps * size / scale;
                    assert!(
                        (f64::from(l) - total / scale).abs() <= bound,
                        "{rows}×{width}, smoothing {smoothing}, {reduction:?}, {threads} \
                         threads: loss {l} against float64's {} (bound {bound:e})",
                        total / scale
                    );
                    for (k, (g, w)) in g.iter().zip(&want_grad).enumerate() {
                        let w = w / scale;
                        // A softmax through exp and a sum of `width` terms.
                        let bound = (width as f64 + 16.0) * eps / scale;
                        assert!(
                            (f64::from(*g) - w).abs() <= bound,
                            "{rows}×{width}, smoothing {smoothing}, {reduction:?}, \
                             {threads} threads: gradient {k}: {g} against float64's {w}"
                        );
                    }
                }
            }
        }
    }
    // Losses of each element: blocks of 4,096 summed over a tree, a short last block.
    for n in [5 * 4096 * 4 + 77, 4096 + 1, 3] {
        let mut rng = Rng::seed(n as u64);
        let p: Vec<f32> = (0..n).map(|_| rng.uniform(0.01, 0.99)).collect();
        let t: Vec<f32> = (0..n).map(|i| [0.0, 1.0, 0.3][i % 3]).collect();
        let (mut bce, mut bce_size, mut mse, mut mse_size) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (p, t) in p.iter().zip(&t) {
            let (p, t) = (f64::from(*p), f64::from(*t));
            let b = -(t * p.ln() + (1.0 - t) * (1.0 - p).ln());
            bce += b;
            bce_size += b.abs() + p.ln().abs() + (1.0 - p).ln().abs();
            mse += (p - t) * (p - t);
            mse_size += (p - t) * (p - t);
        }
        // A block's 4,096 terms in 16 lanes of 256 in order, the lanes and the tail in
        // order, the blocks pairwise over a tree.
        let depth = 256.0 + 16.0 + 16.0 + f64::from(n.div_ceil(4096).ilog2() + 1);
        for (reduction, scale) in [(Reduction::Sum, 1.0), (Reduction::Mean, n as f64)] {
            for threads in [1, 2, 3, 4] {
                let (b, m) = in_pool(threads, || {
                    let mut g = vec![0.0; n];
                    (
                        BceLoss
                            .reduction(reduction)
                            .loss(&p, 1, &t[..], Some(&mut g)),
                        MseLoss
                            .reduction(reduction)
                            .loss(&p, 1, &t[..], Some(&mut g)),
                    )
                });
                for (what, got, want, size) in
                    [("BCE", b, bce, bce_size), ("MSE", m, mse, mse_size)]
                {
                    let bound = (depth + 16.0) * eps * size / scale;
                    assert!(
                        (f64::from(got) - want / scale).abs() <= bound,
                        "{what} over {n}, {reduction:?}, {threads} threads: {got} against \
                         float64's {} (bound {bound:e})",
                        want / scale
                    );
                }
            }
        }
    }
}
