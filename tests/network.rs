//! The generated struct: construction, inference paths, batch norm's two modes, errors.

mod common;

use nn::{Layer, Rng, Tape, TrainError};

nn::network! { struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
nn::network! { struct Norm<BatchNorm<4>> }

fn batch<const D: usize>(rng: &mut Rng, rows: usize) -> Vec<[f32; D]> {
    (0..rows)
        .map(|_| core::array::from_fn(|_| rng.uniform(-2.0, 3.0)))
        .collect()
}

#[test]
fn a_400_kb_model_is_built_on_the_heap_not_the_stack() {
    // `Mnist` is 408 KB; a thread with a 64 KB stack would overflow if construction
    // passed it through the stack, in debug builds too.
    assert!(core::mem::size_of::<Mnist>() > 400_000);
    let handle = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            let net = Mnist::new(0);
            net.0.weight[127][783]
        })
        .unwrap();
    let w = handle.join().unwrap();
    assert!(w.abs() <= 1.0 / 28.0);
}

nn::network! {
    #[derive(Clone, Debug)]
    struct Huge { fc: Linear<1024, 3072>, act: ReLU, out: Linear<3072, 4> }
}
nn::network! {
    #[derive(Clone)]
    struct Holder { stem: Linear<16, 1024>, wide: Huge, res: Residual<Linear<4, 4>, Tanh> }
}

#[test]
fn a_12_mb_network_clones_on_the_heap_not_the_stack() {
    // 12.6 MB, cloned on a thread with a 64 KB stack, in debug builds too: the generated
    // `Clone` copies layer by layer in place (`clone_from`), and `clone_boxed` fills a new
    // network on the heap with it.
    assert!(core::mem::size_of::<Holder>() > 12_000_000);
    let handle = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            let net = Holder::new(0);
            let copy = net.clone_boxed();
            let mut other = Holder::new(1);
            other.clone_from(&net);
            let same = |a: &Holder, b: &Holder| {
                a.wide.fc.weight == b.wide.fc.weight
                    && a.stem.bias == b.stem.bias
                    && a.res.0 .0.weight == b.res.0 .0.weight
            };
            same(&net, &copy) && same(&net, &other)
        })
        .unwrap();
    assert!(handle.join().unwrap(), "the copies equal the original");
    // The other derives stay as written, and `clone` by value works for a small network.
    nn::network! { #[derive(Clone, Debug, PartialEq)] struct Small<Linear<3, 2>, Tanh> }
    let small = Small::new(2);
    assert_eq!((*small).clone(), *small);
    assert!(format!("{small:?}").contains("Linear"));
}

#[test]
fn initialisation_is_pytorch_default_and_seeded() {
    let a = Mnist::new(5);
    let b = Mnist::new(5);
    let c = Mnist::new(6);
    let bound = 1.0 / (784f32).sqrt();
    assert!(a.0.weight.as_flattened().iter().all(|w| w.abs() <= bound));
    assert!(a.0.bias.iter().all(|w| w.abs() <= bound));
    assert!(a
        .3
        .weight
        .as_flattened()
        .iter()
        .all(|w| w.abs() <= 1.0 / (128f32).sqrt()));
    // Uniform on ±bound: the sample variance is near bound² / 3.
    let n = a.0.weight.as_flattened().len() as f32;
    let var = a.0.weight.as_flattened().iter().map(|w| w * w).sum::<f32>() / n;
    assert!(
        (var / (bound * bound / 3.0) - 1.0).abs() < 0.02,
        "variance ratio {}",
        var / (bound * bound / 3.0)
    );
    assert_eq!(a.2.weight, [1.0; 128]);
    assert_eq!(a.2.bias, [0.0; 128]);
    assert_eq!(a.2.running_mean, [0.0; 128]);
    assert_eq!(a.2.running_var, [1.0; 128]);
    assert_eq!(a.0.weight, b.0.weight);
    assert_ne!(a.0.weight, c.0.weight);
}

#[test]
fn one_sample_and_batch_inference_agree() {
    let mut rng = Rng::seed(1);
    let mut net = Mnist::new(2);
    // Non-trivial running statistics, so eval-mode batch norm is exercised.
    for j in 0..128 {
        net.2.running_mean[j] = rng.uniform(-0.5, 0.5);
        net.2.running_var[j] = rng.uniform(0.5, 2.0);
    }
    let x = batch::<784>(&mut rng, 9);
    let mut tape = Tape::new();
    let batched = net.forward_batch(&x, &mut tape).to_vec();
    for (row, want) in x.iter().zip(&batched) {
        let one = net.forward(row);
        // Different summation orders (matrix-vector vs matrixmultiply) over 784 terms.
        assert_close!(one, want, rel = 1e-5, abs = 1e-5);
    }
    assert_eq!(net.predict(&x), batched);
}

#[test]
fn batchnorm_training_uses_batch_statistics_and_updates_running_ones() {
    let mut rng = Rng::seed(3);
    let mut net = Norm::new(0);
    let x = batch::<4>(&mut rng, 6);
    let mut tape = Tape::new();
    let y = net.forward_train(&x, &mut tape).unwrap().to_vec();
    for j in 0..4 {
        let col: Vec<f64> = x.iter().map(|r| r[j] as f64).collect();
        let mean = col.iter().sum::<f64>() / 6.0;
        let biased = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
        let out: Vec<f32> = y.iter().map(|r| r[j]).collect();
        let want: Vec<f32> = col
            .iter()
            .map(|v| ((v - mean) / (biased + 1e-5).sqrt()) as f32)
            .collect();
        assert_close!(out, want, rel = 1e-5, abs = 1e-6, "feature {j}");
        // Running statistics: momentum 0.1 towards the batch mean and the unbiased variance.
        let rm = [net.0.running_mean[j]];
        let rv = [net.0.running_var[j]];
        assert_close!(rm, [(0.1 * mean) as f32], rel = 1e-5, abs = 1e-7);
        assert_close!(
            rv,
            [(0.9 + 0.1 * biased * 6.0 / 5.0) as f32],
            rel = 1e-5,
            abs = 1e-7
        );
    }
    assert_eq!(net.0.num_batches_tracked, 1);

    // Inference uses the running statistics, and does not change them.
    let before = net.0.clone();
    let z = net.forward(&x[0]);
    for j in 0..4 {
        let want = (x[0][j] - before.running_mean[j]) / (before.running_var[j] + 1e-5).sqrt();
        assert!((z[j] - want).abs() < 1e-6);
    }
    let _ = net.forward_batch(&x, &mut tape);
    assert_eq!(net.0, before);
}

#[test]
fn batchnorm_refuses_a_training_batch_of_one() {
    let mut net = Mnist::new(0);
    let mut tape = Tape::new();
    let err = net.forward_train(&[[0.0; 784]], &mut tape).unwrap_err();
    assert!(matches!(err, TrainError::BatchTooSmall { batch: 1, .. }));
    assert!(
        err.to_string().contains("more than 1 value per channel"),
        "{err}"
    );
    assert_eq!(
        net.2.num_batches_tracked, 0,
        "a refused batch changes nothing"
    );
    assert_eq!(
        net.forward_train(&[], &mut tape).unwrap_err(),
        TrainError::EmptyBatch
    );
}

#[test]
#[should_panic(expected = "backward needs the input of the training forward pass")]
fn backward_on_an_input_of_another_length_is_refused() {
    let mut net = Mnist::new(0);
    let mut tape = Tape::new();
    let mut grads = nn::Gradients::new();
    let a = vec![[0.1; 784]; 4];
    let b = vec![[0.1; 784]; 3];
    net.forward_train(&a, &mut tape).unwrap();
    tape.output_grad_mut().fill(1.0);
    net.backward(&b, &mut tape, &mut grads);
}

#[test]
fn backward_on_an_equal_copy_of_the_input_works() {
    let mut net = Mnist::new(0);
    let (mut tape, mut grads, mut again) =
        (Tape::new(), nn::Gradients::new(), nn::Gradients::new());
    let a: Vec<[f32; 784]> = (0..4).map(|i| [0.1 * i as f32; 784]).collect();
    let copy = a.clone();
    net.forward_train(&a, &mut tape).unwrap();
    tape.output_grad_mut().fill(1.0);
    net.backward(&a, &mut tape, &mut grads);
    tape.output_grad_mut().fill(1.0);
    net.backward(&copy, &mut tape, &mut again);
    assert_eq!(grads.as_slice(), again.as_slice());
}

#[test]
#[should_panic(expected = "backward needs the input of the training forward pass")]
fn backward_after_inference_is_refused() {
    let mut net = Mnist::new(0);
    let (mut tape, mut grads) = (Tape::new(), nn::Gradients::new());
    let a = vec![[0.1; 784]; 4];
    net.forward_train(&a, &mut tape).unwrap();
    net.forward_batch(&a, &mut tape);
    tape.output_grad_mut().fill(1.0);
    net.backward(&a, &mut tape, &mut grads);
}

#[test]
fn summary_lists_layers_shapes_and_parameter_counts() {
    let s = Mnist::summary().to_string();
    for needle in [
        "0: Linear<784, 128>",
        "1: ReLU",
        "2: BatchNorm<128>",
        "3: Linear<128, 10>",
        "100,480",
        "1,290",
        "Total params: 102,026",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
    assert_eq!(Mnist::PARAMS, 102_026);
    assert_eq!(<Mnist as Layer>::LAYERS.len(), 4);
}

#[test]
fn the_tape_is_reused_across_batch_sizes() {
    let mut rng = Rng::seed(4);
    let mut net = Mnist::new(0);
    let mut tape = Tape::new();
    for rows in [64, 7, 64, 2] {
        let x = batch::<784>(&mut rng, rows);
        let y = net.forward_train(&x, &mut tape).unwrap();
        assert_eq!(y.len(), rows);
        let mut fresh = Tape::new();
        let want = net.forward_batch(&x, &mut fresh).to_vec();
        assert_eq!(net.forward_batch(&x, &mut tape), &want[..]);
    }
}

nn::network! {
    #[input(3, 8, 8)]
    struct Wide<Conv2d<3, 4, 3, stride = 2, padding = 1>, ReLU, Flatten, Linear<64, 2>>
}

#[test]
fn summary_columns_stay_aligned_with_long_layer_names() {
    let s = Wide::summary().to_string();
    let column = s
        .lines()
        .find_map(|l| l.find("Output Shape"))
        .expect("a header");
    let rows: Vec<&str> = s.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(rows.len(), 4, "{s}");
    for row in &rows {
        assert_eq!(
            row.find("[batch,"),
            Some(column),
            "misaligned row {row:?} in\n{s}"
        );
    }
    assert!(
        s.contains("0: Conv2d<3, 4, 3, stride = 2, padding = 1>"),
        "{s}"
    );
    assert!(
        s.contains("[batch, 4, 4, 4]") && s.contains("Input: [batch, 3, 8, 8]"),
        "{s}"
    );
}

/// A loss takes its targets as a slice, a `Vec` or an array, with the same result.
#[test]
fn targets_in_a_vec_an_array_or_a_slice_agree() {
    let mut net = Mnist::new(0);
    let x = vec![[0.25; 784]; 3];
    let mut tape = Tape::new();
    net.forward_train(&x, &mut tape).unwrap();
    let ce = nn::loss::CrossEntropyLoss::default();
    let labels = vec![3usize, 1, 7];
    let from_vec = tape.loss(&ce, &labels);
    let from_array = tape.loss(&ce, &[3usize, 1, 7]);
    let from_slice = tape.loss(&ce, &labels[..]);
    let from_i64 = tape.loss(&ce, &vec![3i64, 1, 7]);
    assert_eq!(from_vec, from_slice);
    assert_eq!(from_array, from_slice);
    assert_eq!(from_i64, from_slice);
}

/// A layer of the user's that declares a parameter but forgets its visitors.
#[derive(Clone, Copy)]
struct Forgetful {
    scale: f32,
}
// SAFETY: an all-zero `f32` is a valid value (0.0).
unsafe impl nn::Zeroable for Forgetful {}
impl Layer for Forgetful {
    const IN: usize = 2;
    const OUT: usize = 2;
    const PARAMS: usize = 1;
    fn describe(f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Forgetful")
    }
    fn init(&mut self, _: &mut Rng) {
        self.scale = 1.0;
    }
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = x * self.scale;
        }
    }
    fn backward(&self, _: nn::Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
}

/// Its parameter would be neither trained nor saved: building the network says so.
#[test]
#[should_panic(
    expected = "layer `scale` (`Forgetful`) declares PARAMS = 1 but its visitors visit 0 values"
)]
fn a_layer_that_forgets_its_visitors_is_refused_when_the_network_is_built() {
    nn::network! { struct WithForgetful { fc: Linear<2, 2>, scale: Forgetful } }
    let _ = WithForgetful::new(0);
}

/// A layer of the user's whose visitors visit its two parameters in opposite orders.
#[derive(Clone, Copy)]
struct Crossed {
    weight: [f32; 2],
    bias: [f32; 2],
}
// SAFETY: all-zero `f32` arrays are valid values (0.0).
unsafe impl nn::Zeroable for Crossed {}
impl Layer for Crossed {
    const IN: usize = 2;
    const OUT: usize = 2;
    const PARAMS: usize = 4;
    fn describe(f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crossed")
    }
    fn init(&mut self, _: &mut Rng) {
        self.weight = [1.0; 2];
    }
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for i in 0..2 {
            y[i] = x[i] * self.weight[i] + self.bias[i];
        }
    }
    fn backward(&self, _: nn::Backward<'_>, _: Option<&mut [f32]>, _: &mut [f32]) {}
    fn visit_params(&self, f: &mut nn::ParamVisitor<'_>) {
        f("weight", &[2], &self.weight);
        f("bias", &[2], &self.bias);
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
        f("bias", &mut self.bias);
        f("weight", &mut self.weight);
    }
}

/// Its weight would be stepped with its bias's gradient: building the network says so.
#[test]
#[should_panic(
    expected = "layer `mix` (`Crossed`) visits other arrays, or the same in another order, in \
                `visit_params` than in `visit_params_mut`"
)]
fn a_layer_whose_visitors_disagree_on_the_order_is_refused_when_the_network_is_built() {
    nn::network! { struct WithCrossed { fc: Linear<2, 2>, mix: Crossed } }
    let _ = WithCrossed::new(0);
}

nn::network! {
    /// Wide enough inside that batch inference of 600 rows runs in several chunks.
    struct Broad<Linear<4, 8192>, ReLU, BatchNorm<8192>, Linear<8192, 3>>
}

/// Batch inference in chunks of rows gives every row the bits of one pass over the whole
/// batch.
#[test]
fn batch_inference_in_chunks_matches_one_pass_over_the_batch() {
    let net = Broad::new(0);
    let mut rng = Rng::seed(5);
    let rows = 600;
    let x: Vec<[f32; 4]> = (0..rows)
        .map(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    assert!(
        rows * <Broad as Layer>::cache_len(1) > Tape::<Broad>::INFER_CACHE,
        "the batch must need more than one chunk"
    );
    let chunked = net.predict(&x);
    let mut whole = vec![0.0; rows * 3];
    let mut cache = vec![0.0; <Broad as Layer>::cache_len(rows)];
    Layer::forward_batch(&*net, x.as_flattened(), &mut whole, rows, &mut cache);
    assert_eq!(chunked.as_flattened(), &whole[..]);
}

#[path = "common/visits_twice.rs"]
mod visits_twice;

/// One name visited twice and another never passes the count of values: building the
/// network refuses it as it refuses a missing visit.
#[test]
#[should_panic(expected = "layer `odd` (`VisitsTwice`) visits `weight` twice")]
fn a_layer_that_visits_one_name_twice_is_refused_when_the_network_is_built() {
    nn::network! { struct WithTwice { fc: Linear<2, 1>, odd: visits_twice::VisitsTwice } }
    let _ = WithTwice::new(0);
}
