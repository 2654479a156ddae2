//! Parity with PyTorch for the image layers: `Conv2d` (stride 1 and 2, padding 0 and 1),
//! `MaxPool2d`, `AvgPool2d`, `BatchNorm2d` (training and eval), each alone, and a small MNIST
//! CNN as one `network!`: outputs and every gradient against `tests/fixtures/image_layers.json`,
//! which `tools/make_image_fixtures.py` wrote with PyTorch (see its header for how to rerun
//! it); `ConvTranspose2d` (stride 1, 2 and 3, padding, output padding, without bias) and
//! `Conv2d` without bias against `tests/fixtures/conv_transpose.json`, which
//! `tools/make_conv_transpose_fixture.py` wrote the same way; `Upsample` against
//! `tests/fixtures/upsample.json`. No Python runs here. PyTorch's NCHW tensors, flattened
//! row-major, are exactly the flat samples the layers take.
//!
//! Tolerances, as in `tests/parity_layers.rs`: `rel = 1e-5` everywhere (f32 rounds at 6e-8, so
//! 1e-5 leaves room for a few hundred roundings in another order, not for a wrong formula),
//! plus an absolute floor of 1e-5 times the tensor's largest magnitude where an element is a
//! sum of terms of both signs, which can cancel to near zero, so that its own size says nothing
//! of the rounding it carries; each floor is stated below with its reason. The fixture script
//! certifies these tolerances as fair: it recomputes every case in float64 and refuses it where
//! PyTorch's float32 result is more than half a tolerance from float64's, with the same floors,
//! and it prints how far PyTorch's own float32 would be without each floor (up to 4.2
//! tolerances for a convolution's input gradient, 123 for batch norm's output, 116 for the
//! CNN's gradients: the floors are needed). It also keeps the CNN's ReLU inputs and pooling
//! windows away from their kinks, so that rounding cannot send a gradient down another path.
//! So a failure here means a wrong formula, not rounding.

#[macro_use]
mod common;
use common::fixture::{fixture, shaped, tensor};
use common::layer_parity::{check, floor, Floors, REL};

use nn::loss::CrossEntropyLoss;
use nn::{
    AvgPool2d, Backward, BatchNorm2d, Conv2d, ConvTranspose2d, Gradients, Layer, MaxPool2d,
    Network, Tape,
};

/// A convolution's output, input gradient, weight gradient and bias gradient are each a sum
/// of products of both signs (over the taps, over the output positions a pixel feeds, over the
/// batch and positions): all with floors.
const CONV: Floors = Floors {
    output: true,
    input_grad: true,
    param_grads: true,
};

#[test]
fn conv2d_stride_1_padding_0_matches_pytorch() {
    check::<Conv2d<2, 3, 3, 1, 0, 6, 5>>(&fixture("image_layers.json"), "conv_s1_p0", CONV);
}

#[test]
fn conv2d_stride_1_padding_1_matches_pytorch() {
    check::<Conv2d<3, 4, 3, 1, 1, 5, 5>>(&fixture("image_layers.json"), "conv_s1_p1", CONV);
}

#[test]
fn conv2d_stride_2_padding_0_matches_pytorch() {
    check::<Conv2d<2, 3, 3, 2, 0, 8, 7>>(&fixture("image_layers.json"), "conv_s2_p0", CONV);
}

#[test]
fn conv2d_stride_2_padding_1_matches_pytorch() {
    check::<Conv2d<2, 4, 3, 2, 1, 7, 6>>(&fixture("image_layers.json"), "conv_s2_p1", CONV);
}

/// `ConvTranspose2d` at every setting of the fixture, without bias among them. Its output,
/// input gradient and weight and bias gradients are sums of products of both signs, as a
/// convolution's: floors.
#[test]
fn conv_transpose_2d_matches_pytorch() {
    let fx = fixture("conv_transpose.json");
    check::<ConvTranspose2d<2, 3, 3, 1, 0, 0, 3, 4>>(&fx, "convt_s1", CONV);
    check::<ConvTranspose2d<3, 2, 3, 2, 1, 0, 4, 5>>(&fx, "convt_s2_p1", CONV);
    check::<ConvTranspose2d<2, 4, 3, 2, 1, 1, 3, 5>>(&fx, "convt_s2_p1_op1", CONV);
    check::<ConvTranspose2d<4, 2, 4, 2, 1, 0, 4, 3, false>>(&fx, "convt_k4_s2_p1_no_bias", CONV);
    check::<ConvTranspose2d<2, 3, 2, 3, 1, 2, 3, 2>>(&fx, "convt_s3_p1_op2", CONV);
}

/// `Conv2d` built without bias, PyTorch's `bias=False`: the weight alone, on the direct and
/// the batched paths (17 output channels takes the product that fills whole tiles). Floors,
/// as for every convolution.
#[test]
fn conv2d_without_bias_matches_pytorch() {
    let fx = fixture("conv_transpose.json");
    check::<Conv2d<3, 4, 3, 1, 1, 5, 6, false>>(&fx, "conv_p1_no_bias", CONV);
    check::<Conv2d<2, 17, 3, 2, 0, 7, 8, false>>(&fx, "conv_s2_no_bias", CONV);
}

#[test]
fn max_pool_matches_pytorch_including_ties() {
    // The inputs are multiples of 1/4, so windows hold exact ties: the first maximum takes
    // the gradient, as in PyTorch. Output and gradient are copies, exact: relative alone
    // (the tolerance only absorbs nothing).
    check::<MaxPool2d<3, 2, 7, 6>>(
        &fixture("image_layers.json"),
        "max_pool_2",
        Floors::default(),
    );
    check::<MaxPool2d<2, 3, 8, 7>>(
        &fixture("image_layers.json"),
        "max_pool_3",
        Floors::default(),
    );
}

#[test]
fn avg_pool_matches_pytorch() {
    // Output: a window's sum of both signs: floor. Input gradient: dy / K², one rounding:
    // relative alone.
    let floors = Floors {
        output: true,
        ..Floors::default()
    };
    check::<AvgPool2d<3, 2, 7, 6>>(&fixture("image_layers.json"), "avg_pool_2", floors);
    check::<AvgPool2d<2, 3, 8, 7>>(&fixture("image_layers.json"), "avg_pool_3", floors);
}

#[test]
fn batch_norm_2d_matches_pytorch_in_training_and_eval() {
    // Output (training and eval): (x − mean)·scale + shift, whose terms cancel. Input
    // gradient: a difference of sums. Weight and bias gradients: sums of both signs. All
    // floors. Channels 0 and 1 sit at means 10 and −50, which a one-pass variance would get
    // wrong; the running statistics start off 0 and 1, so that the update is checked.
    check::<BatchNorm2d<3, 5, 6>>(&fixture("image_layers.json"), "batch_norm_2d", CONV);
}

// The small MNIST CNN, every layer spelled with its full type as a path, which `network!` takes as
// a layer of the user's (`ReLU` takes its width from the layer before, as always).
nn::network! {
    struct Cnn<
        nn::Conv2d<1, 8, 3, 1, 0, 28, 28>, ReLU, nn::MaxPool2d<8, 2, 26, 26>,
        nn::Conv2d<8, 16, 3, 1, 0, 13, 13>, ReLU, nn::MaxPool2d<16, 2, 11, 11>,
        nn::Flatten<400>, Linear<400, 10>
    >
}

#[test]
fn small_mnist_cnn_matches_pytorch() {
    let fx = fixture("image_layers.json");
    let case = &fx["cnn"];
    assert_eq!(
        (Cnn::IN, Cnn::OUT, Cnn::PARAMS),
        (784, 10, 80 + 1168 + 4010)
    );
    let kinds: Vec<String> = Cnn::LAYERS.iter().map(|l| l.kind().to_string()).collect();
    let want_kinds: Vec<&str> = case["network"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(kinds, want_kinds, "`describe` of each layer");

    // PyTorch's initial state_dict, by name, shape and order.
    let mut net = Cnn::new(0);
    let sd = case["state_dict"].as_array().unwrap();
    let mut i = 0;
    net.named_params(&mut |layer, name, shape, _| {
        assert_eq!(sd[i]["name"], format!("{layer}.{name}"), "state_dict order");
        assert_eq!(tensor(&sd[i]).0, shape, "{layer}.{name} shape");
        i += 1;
    });
    assert_eq!(i, sd.len(), "state_dict entries");
    let mut i = 0;
    net.walk_params_mut(&mut |p| {
        p.copy_from_slice(&tensor(&sd[i]).1);
        i += 1;
    });

    let x = shaped(&case["input"], &[4, 1, 28, 28]);
    let target: Vec<usize> = case["target"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as usize)
        .collect();
    let want_out = shaped(&case["output"], &[4, 10]);
    // Logits: sums of both signs all the way through: floor.
    let abs = floor(true, &want_out);

    let rows: Vec<[f32; 784]> = x.chunks_exact(784).map(|r| r.try_into().unwrap()).collect();
    let mut tape = Tape::new();
    let out = net
        .forward_train(&rows, &mut tape)
        .unwrap()
        .as_flattened()
        .to_vec();
    assert_close!(out, want_out, rel = REL, abs = abs, "CNN output");
    let loss = tape.loss(&CrossEntropyLoss::default(), &target[..]);
    // A mean of positive terms: relative alone.
    assert_close!(
        [loss],
        tensor(&case["loss"]).1,
        rel = REL,
        abs = 0.0,
        "CNN loss"
    );
    let mut grads = Gradients::new();
    net.backward(&rows, &mut tape, &mut grads);
    let mut checked = 0;
    for g in case["grads"].as_array().unwrap() {
        let name = g["name"].as_str().unwrap();
        let want = tensor(g).1;
        let got = grads
            .get(&net, name)
            .unwrap_or_else(|| panic!("no gradient {name}"));
        // Every gradient is a sum over the batch and positions of products of both signs.
        let abs = floor(true, &want);
        assert_close!(got, want, rel = REL, abs = abs, "CNN {name} gradient");
        checked += want.len();
    }
    assert_eq!(checked, Cnn::PARAMS, "every parameter's gradient");

    // Inference, batched and one sample at a time, gives the same logits.
    let mut infer = Tape::new();
    let batched = net.forward_batch(&rows, &mut infer).as_flattened().to_vec();
    assert_close!(
        batched,
        want_out,
        rel = REL,
        abs = abs,
        "CNN batch inference"
    );
    let single: Vec<f32> = rows.iter().flat_map(|r| net.forward(r)).collect();
    assert_close!(
        single,
        want_out,
        rel = REL,
        abs = abs,
        "CNN one-sample inference"
    );
}

/// Ties in a max-pool window route the gradient to the window's first maximum in row-major
/// order, as PyTorch does (`F.max_pool2d(x, 2).sum().backward()` on these inputs gives
/// `[1, 0, 0, 0]` and `[0, 1, 1, 0, 0, 0, 0, 0]`), whether backward reads the winners that
/// the training pass kept or, with no training pass before it, finds them again.
#[test]
fn max_pool_ties_go_to_the_first_maximum_with_or_without_a_cache() {
    fn both<const H: usize, const W: usize>(x: &[f32], want: &[f32]) {
        let pool = MaxPool2d::<1, 2, H, W>;
        let n = <MaxPool2d<1, 2, H, W> as Layer>::OUT;
        let dy = vec![1.0; n];
        let mut y = vec![0.0; n];
        // Without a cache: the winners are found again.
        let mut dx = vec![f32::NAN; x.len()];
        pool.forward(x, &mut y);
        let io = Backward {
            x,
            y: &y,
            dy: &dy,
            batch: 1,
            cache: &mut [],
        };
        pool.backward(io, Some(&mut dx), &mut []);
        assert_eq!(dx, want, "without a cache");
        // With the training pass's cache.
        let mut cache = vec![0.0; <MaxPool2d<1, 2, H, W> as Layer>::cache_len(1)];
        let mut pool = pool;
        pool.forward_train(x, &mut y, 1, &mut cache).unwrap();
        let mut dx = vec![f32::NAN; x.len()];
        let io = Backward {
            x,
            y: &y,
            dy: &dy,
            batch: 1,
            cache: &mut cache,
        };
        pool.backward(io, Some(&mut dx), &mut []);
        assert_eq!(dx, want, "with the cache");
    }
    both::<2, 2>(&[1.0, 1.0, 1.0, 1.0], &[1.0, 0.0, 0.0, 0.0]);
    both::<2, 4>(
        &[0.0, 2.0, 2.0, 2.0, 2.0, 1.0, 2.0, 0.0],
        &[0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
}

/// `Upsample<S>` against PyTorch's `nn.Upsample(scale_factor=S)`: it copies values forward
/// and sums each block's gradient backward in PyTorch's order, so both match bit for bit.
fn check_upsample<const S: usize, const OUT: usize>(case: &serde_json::Value) {
    use nn::{Backward, Layer, Upsample};
    let layer = Upsample::<2, S, 3, 4>;
    assert_eq!(<Upsample<2, S, 3, 4> as Layer>::OUT, OUT);
    let (shape, x) = tensor(&case["input"]);
    let batch = shape[0];
    let mut y = vec![f32::NAN; batch * OUT];
    let mut cache = [];
    layer.forward_batch(&x, &mut y, batch, &mut cache);
    assert_eq!(y, tensor(&case["output"]).1, "Upsample<{S}> output");
    let dy = tensor(&case["upstream"]).1;
    let mut dx = vec![f32::NAN; x.len()];
    let io = Backward {
        x: &x,
        y: &y,
        dy: &dy,
        batch,
        cache: &mut cache,
    };
    layer.backward(io, Some(&mut dx), &mut []);
    assert_eq!(
        dx,
        tensor(&case["input_grad"]).1,
        "Upsample<{S}> input gradient"
    );
}

#[test]
fn upsample_matches_pytorch_bit_for_bit() {
    let fx = fixture("upsample.json");
    let cases = fx["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    check_upsample::<2, { 2 * 6 * 8 }>(&cases[0]);
    check_upsample::<3, { 2 * 9 * 12 }>(&cases[1]);
}
