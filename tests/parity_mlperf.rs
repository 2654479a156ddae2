//! MLPerf Tiny's reference models (`examples/mlperf/models.rs`) and the layers issue 18 adds,
//! against PyTorch (`tools/make_mlperf_fixtures.py`, the ports in `tools/mlperf_models.py`,
//! committed fixtures): the strict load of PyTorch's state dict, every output in training
//! mode, the loss, every parameter gradient, the input's gradient, three SGD steps, and the
//! outputs in eval mode after them; and each model's parameter count as PyTorch counts it and
//! multiply-adds as torchinfo does. MobileNetV1 in eval mode, its weights from a formula both
//! sides compute (`tools/make_mobilenet_eval_fixture.py`), one sample and a batch; a dilation
//! pair (`tools/make_dilation_pair_fixture.py`), forward and backward.
//!
//! Tolerance: `|a - b| <= tol·|b| + tol·max|b|` over each tensor, `tol` the model's as the
//! script certifies PyTorch's float32 result against float64 (1e-5 for the layers, the DS-CNN
//! and ResNet-8; 2e-4 for the autoencoder, whose trained BatchNorm biases move by 0.4 of that
//! under a perturbation of 1e-6 of its inputs). A gradient that is zero but for rounding (a
//! bias before BatchNorm) is compared on the scale of the model's largest gradient.

#[macro_use]
mod common;
#[path = "../examples/mlperf/models.rs"]
#[allow(dead_code)]
mod models;

use common::graph_parity::{check, Model};
use models::{AutoEncoder, DownStack, DsCnn, MobileNetV1, ResNet8, Stack};
use nn::loss::MseLoss;
use nn::{Layer, Network};

nn::network! {
    /// Every layer issue 18 adds, once: a depthwise convolution without bias, a grouped one
    /// with a rectangular kernel and dilation, a strided and padded max pool, an average pool
    /// of a rectangular window, TensorFlow's `same` padding at stride 2 (a row and a column at
    /// the end), the global average pool.
    struct MobileLayers {
        dw: Conv2d<4, 4, 3, stride = 2, padding = 1, groups = 4, bias = false>,
        grouped: Conv2d<4, 6, (3, 2), padding = (2, 1), dilation = 2, groups = 2>,
        max: MaxPool2d<3, stride = 2, padding = 1>,
        avg: AvgPool2d<(2, 3), stride = 1, padding = 1>,
        same: Conv2d<6, 8, (3, 2), stride = 2, padding = same>,
        gap: AdaptiveAvgPool2d<1>,
        fc: Linear<14, 3>,
    }
    fn forward(x: Image<4, 10, 9>) -> out {
        let a = relu(self.dw(x));
        let b = self.grouped(a);
        let c = self.max(b);
        let e = self.same(relu(self.avg(b)));
        self.fc(flatten(self.gap(cat([c, e], dim = 1))))
    }
    fn loss(target: Features<3>) {
        mse_loss(out, target)
    }
}

nn::network! {
    /// The same, PyTorch's weights baked in: a grouped convolution's weight is
    /// `[COUT, CIN / G, KH, KW]` in the file and in the literal.
    #[weights("tests/fixtures/mlperf_mobile_layers.safetensors")]
    struct BakedMobileLayers {
        dw: Conv2d<4, 4, 3, stride = 2, padding = 1, groups = 4, bias = false>,
        grouped: Conv2d<4, 6, (3, 2), padding = (2, 1), dilation = 2, groups = 2>,
        max: MaxPool2d<3, stride = 2, padding = 1>,
        avg: AvgPool2d<(2, 3), stride = 1, padding = 1>,
        same: Conv2d<6, 8, (3, 2), stride = 2, padding = same>,
        gap: AdaptiveAvgPool2d<1>,
        fc: Linear<14, 3>,
    }
    fn forward(x: Image<4, 10, 9>) -> out {
        let a = relu(self.dw(x));
        let b = self.grouped(a);
        let c = self.max(b);
        let e = self.same(relu(self.avg(b)));
        self.fc(flatten(self.gap(cat([c, e], dim = 1))))
    }
}

/// Every tensor of the state dict, as bits.
fn state_bits<N: Network>(net: &N) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    net.named_state(&mut |layer, name, _, value| {
        if let nn::Buffer::F32(v) = value {
            out.push((
                format!("{layer}.{name}"),
                v.iter().map(|x| x.to_bits()).collect(),
            ));
        }
    });
    out
}

#[test]
fn new_layers_bake_as_loaded_and_run_one_sample_as_batched() {
    let mut loaded = MobileLayers::new(0);
    nn::io::load(
        &mut *loaded,
        common::fixture::path("mlperf_mobile_layers.safetensors"),
    )
    .unwrap();
    static BAKED: BakedMobileLayers = BakedMobileLayers::WEIGHTS;
    assert_eq!(state_bits(&BAKED), state_bits(&*loaded));
    // One sample on the stack, baked and loaded: the same bits; against the batched path, the
    // final product's sums in another order (terms of order 1, a few roundings).
    let x: Vec<f32> = (0..2 * 360).map(|i| (i as f32 * 0.37).sin()).collect();
    let batched = nn::Tape::<MobileLayers>::new().infer(&loaded, &x).to_vec();
    for (x, want) in x.chunks(360).zip(batched.chunks(3)) {
        let (mut baked, mut one) = ([0.0f32; 3], [0.0f32; 3]);
        BAKED.forward_slice(x, &mut baked);
        loaded.forward_slice(x, &mut one);
        assert_eq!(baked.map(f32::to_bits), one.map(f32::to_bits));
        assert_close!(
            one,
            want,
            rel = 1e-6,
            abs = 1e-6,
            "one sample against the batch"
        );
    }
}

nn::network! {
    /// ResNet-8 with PyTorch's weights baked in: its stacks, networks of their own, fill
    /// themselves from the file's tensors under their names, the strided `padding = same`
    /// convolutions (`Conv2dGeneral`) among them.
    #[weights("tests/fixtures/mlperf_resnet8.safetensors")]
    struct BakedResNet8 {
        conv1: Conv2d<3, 16, 3, padding = same>,
        bn1: BatchNorm2d<16>,
        stack1: Stack!<16>,
        stack2: DownStack!<32, 2>,
        stack3: DownStack!<64, 2>,
        pool: AvgPool2d<8>,
        fc: Linear<64, 10>,
    }
    fn forward(x: Image<3, 32, 32>) -> out {
        let x = relu(self.bn1(self.conv1(x)));
        let x = self.stack3(self.stack2(self.stack1(x)));
        self.fc(flatten(self.pool(x)))
    }
}

#[test]
fn resnet8_bakes_its_stacks_as_loaded() {
    let mut loaded = ResNet8::new(0);
    nn::io::load(
        &mut *loaded,
        common::fixture::path("mlperf_resnet8.safetensors"),
    )
    .unwrap();
    let baked = Box::new(BakedResNet8::WEIGHTS);
    assert_eq!(state_bits(&*baked), state_bits(&*loaded));
    let x: Vec<f32> = (0..3 * 32 * 32).map(|i| (i as f32 * 0.37).sin()).collect();
    let (mut a, mut b) = ([0.0f32; 10], [0.0f32; 10]);
    baked.forward_slice(&x, &mut a);
    loaded.forward_slice(&x, &mut b);
    assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
}

#[test]
fn mobile_layers_match_pytorch() {
    let m = Model::new("mlperf", "mobile_layers");
    let target = m.target("target");
    check(
        MobileLayers::new(0),
        &m,
        &["x"],
        &[("input_grads", "x")],
        &["out"],
        |net, tape| net.loss(tape, &target),
    );
}

#[test]
fn ds_cnn_matches_pytorch() {
    let m = Model::new("mlperf", "ds_cnn");
    let target = m.target("target");
    check(
        DsCnn::new(0),
        &m,
        &["x"],
        &[("input_grads", "x")],
        &["out"],
        |_, tape| tape.loss(&MseLoss, &target[..]),
    );
}

#[test]
fn resnet8_matches_pytorch() {
    let m = Model::new("mlperf", "resnet8");
    let target = m.target("target");
    check(
        ResNet8::new(0),
        &m,
        &["x"],
        &[("input_grads", "x")],
        &["out"],
        |net, tape| net.loss(tape, &target),
    );
}

#[test]
fn autoencoder_matches_pytorch() {
    let m = Model::new("mlperf", "autoencoder");
    let target = m.target("x");
    check(
        AutoEncoder::new(0),
        &m,
        &["x"],
        &[("input_grads", "x")],
        &["out"],
        |_, tape| tape.loss(&MseLoss, &target[..]),
    );
}

#[test]
fn parameter_counts_and_multiply_adds_are_pytorchs() {
    // `sum(p.numel() for p in model.parameters())` of tools/mlperf_models.py's ports, and
    // torchinfo's Mult-Adds of one sample (its `mult_adds`).
    let counts = [
        (<DsCnn as Layer>::PARAMS, <DsCnn as Layer>::MACS),
        (<MobileNetV1 as Layer>::PARAMS, <MobileNetV1 as Layer>::MACS),
        (<ResNet8 as Layer>::PARAMS, <ResNet8 as Layer>::MACS),
        (<AutoEncoder as Layer>::PARAMS, <AutoEncoder as Layer>::MACS),
    ];
    assert_eq!(
        counts,
        [
            (23_756, 2_729_932),
            (216_322, 7_726_690),
            (78_186, 12_588_138),
            (267_928, 267_928)
        ]
    );
    let s = nn::Summary::<DsCnn>::new().to_string();
    for needle in [
        "Mult-Adds",
        "  0: Conv2d<1, 64, (10, 4), stride = 2, padding = same>  [batch, 64, 25, 5]           2,624       328,000",
        "  3: Conv2d<64, 64, 3, padding = 1, groups = 64>",
        "  27: AvgPool2d<(25, 5)>",
        "Total mult-adds (one sample): 2,729,932",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from\n{s}");
    }
}

/// Value `i` of state-dict tensor `t` in `tools/make_mobilenet_eval_fixture.py`'s formula:
/// `((i · 7919 + t · 104729) mod 2048) / 1024 − 1`, exact in `f32`.
fn formula(i: usize, t: usize) -> f32 {
    ((i * 7919 + t * 104_729) % 2048) as f32 / 1024.0 - 1.0
}

#[test]
fn mobilenet_in_eval_mode_matches_pytorch() {
    // Every tensor from the fixture script's formula (its weights are not stored): shapes
    // first, in the state dict's order, then the values.
    let mut net = MobileNetV1::new(0);
    let mut shapes = Vec::new();
    net.named_state(&mut |_, _, shape, _| shapes.push(shape.to_vec()));
    let mut t = 0;
    net.named_state_mut(&mut |_, name, value| {
        let shape = &shapes[t];
        if let nn::BufferMut::F32(v) = value {
            let scale = if shape.len() >= 2 {
                let fan_in: usize = shape[1..].iter().product();
                2f64.powi((6.0 / fan_in as f64).sqrt().log2().round() as i32) as f32
            } else {
                0.25
            };
            let one = shape.len() < 2 && (name == "weight" || name == "running_var");
            for (i, v) in v.iter_mut().enumerate() {
                *v = f32::from(one) + formula(i, t) * scale;
            }
        }
        t += 1;
    });
    assert_eq!(t, shapes.len(), "every tensor filled");
    let f = common::fixture::fixture("mlperf_mobilenet_eval.json");
    let want = common::fixture::shaped(&f["outputs"], &[2, 2]);
    let tol = common::fixture::num(&f["tolerance"]);
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let x: Vec<f32> = (0..2)
        .flat_map(|k| (0..3 * 96 * 96).map(move |j| formula(j, 1000 + k)))
        .collect();
    // One sample at a time (the embedded path) and the batch, each against PyTorch.
    let mut one = Vec::new();
    for x in x.chunks(3 * 96 * 96) {
        let mut y = [0.0f32; 2];
        net.forward_slice(x, &mut y);
        one.extend(y);
    }
    let batched = nn::Tape::<MobileNetV1>::new().infer(&net, &x).to_vec();
    for (what, got) in [("one sample", &one), ("batch", &batched)] {
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= tol * scale,
                "{what}: {got:?} against PyTorch's {want:?} (tolerance {tol} of {scale})"
            );
        }
    }
}

nn::network! {
    /// A dilation pair with groups, a rectangular kernel and stride, as
    /// `tools/make_dilation_pair_fixture.py` builds PyTorch's.
    #[input(2, 7, 6)]
    struct PairDilated<
        Conv2d<2, 4, (3, 2), stride = (1, 2), padding = (2, 1), dilation = (2, 3), groups = 2>,
    >
}

#[test]
fn a_dilation_pair_matches_pytorch() {
    use common::fixture::{fixture, num, shaped};
    const BATCH: usize = 3;
    let f = fixture("conv_dilation_pair.json");
    let mut net = PairDilated::new(0);
    let conv = &mut net.0;
    for (i, w) in conv
        .weight
        .as_flattened_mut()
        .as_flattened_mut()
        .as_flattened_mut()
        .iter_mut()
        .enumerate()
    {
        *w = formula(i, 0) / 2.0;
    }
    for (i, b) in conv.bias.iter_mut().enumerate() {
        *b = formula(i, 1) / 2.0;
    }
    let conv = &net.0;
    let out = <PairDilated as Layer>::OUT;
    let x: Vec<f32> = (0..BATCH * 2 * 7 * 6).map(|i| formula(i, 10)).collect();
    let dy: Vec<f32> = (0..BATCH * out).map(|i| formula(i, 11)).collect();
    let close = |got: &[f32], key: &str, shape: &[usize]| {
        let want = shaped(&f[key], shape);
        let tol = num(&f[format!("{key}_tolerance").as_str()]);
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= tol * scale,
                "{key}: {g} against PyTorch's {w}"
            );
        }
    };
    // Each sample alone, and the batch.
    let mut y = vec![0.0; BATCH * out];
    for (x, y) in x.chunks(2 * 7 * 6).zip(y.chunks_mut(out)) {
        net.forward_slice(x, y);
    }
    close(&y, "y", &[BATCH, 4, 7, 3]);
    let mut cache = vec![0.0; <PairDilated as Layer>::cache_len(BATCH)];
    let mut batched = vec![0.0; BATCH * out];
    conv.forward_batch(&x, &mut batched, BATCH, &mut cache);
    close(&batched, "y", &[BATCH, 4, 7, 3]);
    let mut dx = vec![0.0; x.len()];
    let mut grad = vec![0.0; <PairDilated as Layer>::PARAMS];
    let io = nn::Backward {
        x: &x,
        y: &batched,
        dy: &dy,
        batch: BATCH,
        cache: &mut cache,
    };
    conv.backward(io, Some(&mut dx), &mut grad);
    close(&dx, "dx", &[BATCH, 2, 7, 6]);
    let (dw, db) = grad.split_at(4 * 3 * 2);
    close(dw, "dw", &[4, 1, 3, 2]);
    close(db, "db", &[4]);
}
