//! Networks whose forward is written as code, against PyTorch
//! (`tools/make_graph_fixtures.py`, committed fixtures): pytorch/examples' VAE (its noise
//! passed as an input), a U-Net level (a skip concatenated on channels), a siamese pair (one
//! encoder used twice), a network with two heads and two losses, and torchvision's
//! `BasicBlock` with a downsample. Each: the strict load of PyTorch's state dict, every
//! output in training mode, the objective written after the forward, every parameter
//! gradient, the gradient with respect to every input, three optimizer steps, and the
//! outputs in eval mode after them.
//!
//! Tolerance: `|a - b| <= tol·|b| + tol·max|b|` over each tensor, `tol` the model's as the
//! script certifies PyTorch's float32 result against float64 (within half of it).

mod common;
use common::fixture::{elements, fixture, path, shape, values};

use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Gradients, Network, Tape};
use serde_json::Value;

nn::network! {
    /// pytorch/examples' VAE, its noise an input so that PyTorch's draw can be passed in.
    struct Vae {
        fc1: Linear<784, 400>,
        fc21: Linear<400, 20>,
        fc22: Linear<400, 20>,
        fc3: Linear<20, 400>,
        fc4: Linear<400, 784>,
    }
    fn forward(x: Features<784>, eps: Features<20>) -> (recon, mu, logvar) {
        let h1 = relu(self.fc1(x));
        let mu = self.fc21(h1);
        let logvar = self.fc22(h1);
        let std = exp(0.5 * logvar);
        let z = mu + eps * std;
        (sigmoid(self.fc4(relu(self.fc3(z)))), mu, logvar)
    }
    fn loss(target: Features<784>) {
        let bce = binary_cross_entropy(recon, target, reduction = sum);
        let kld = -0.5 * sum(1.0 + logvar - mu.pow(2) - logvar.exp());
        bce + kld
    }
}

nn::network! {
    /// One level of a U-Net: down by a pool, up by nearest upsampling, the skip joined on
    /// channels.
    struct UnetLevel {
        enc: Conv2d<3, 8, 3, padding = 1>,
        pool: MaxPool2d<2>,
        mid: Conv2d<8, 16, 3, padding = 1>,
        up: Upsample<2>,
        dec: Conv2d<24, 8, 3, padding = 1>,
        out: Conv2d<8, 1, 1>,
    }
    fn forward(x: Image<3, 16, 16>) -> out {
        let e = relu(self.enc(x));
        let m = relu(self.mid(self.pool(e)));
        let u = self.up(m);
        let d = relu(self.dec(cat([u, e], dim = 1)));
        self.out(d)
    }
    fn loss(target: Image<1, 16, 16>) {
        mse_loss(out, target)
    }
}

nn::network! {
    /// A siamese pair: one encoder, its weights shared by both inputs.
    struct Siamese {
        encoder: Sequential<Linear<16, 32>, ReLU, Linear<32, 8>>,
    }
    fn forward(x1: Features<16>, x2: Features<16>) -> (e1, e2) {
        (self.encoder(x1), self.encoder(x2))
    }
    fn loss() {
        mean((e1 - e2).pow(2))
    }
}

nn::network! {
    /// A trunk and two heads, trained on two losses at once.
    struct TwoHeads {
        trunk: Linear<10, 32>,
        cls: Linear<32, 3>,
        reg: Linear<32, 1>,
    }
    fn forward(x: Features<10>) -> (logits, value) {
        let h = relu(self.trunk(x));
        (self.cls(h), self.reg(h))
    }
    fn loss(labels: Labels, target: Features<1>) {
        cross_entropy(logits, labels) + 0.5 * mse_loss(value, target)
    }
}

nn::network! {
    /// torchvision's `BasicBlock` with a projection shortcut: its state dict loads unchanged.
    struct BasicBlock {
        conv1: Conv2d<8, 16, 3, stride = 2, padding = 1, bias = false>,
        bn1: BatchNorm2d<16>,
        conv2: Conv2d<16, 16, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<16>,
        downsample: Sequential<Conv2d<8, 16, 1, stride = 2, bias = false>, BatchNorm2d<16>>,
    }
    fn forward(x: Image<8, 12, 12>) -> out {
        let out = relu(self.bn1(self.conv1(x)));
        let out = self.bn2(self.conv2(out));
        relu(out + self.downsample(x))
    }
    fn loss(target: Image<16, 6, 6>) {
        mse_loss(out, target)
    }
}

/// A model of the fixture, and the tolerance it was certified at.
struct Model {
    v: Value,
    name: &'static str,
    tol: f32,
}

impl Model {
    fn new(name: &'static str) -> Self {
        let v = fixture("graph.json")["models"][name].clone();
        let tol = v["tolerance"].as_f64().unwrap() as f32;
        Model { v, name, tol }
    }

    /// Compares `got` with the fixture's tensor `want`, every element or, where the fixture
    /// keeps every `stride`-th, those.
    fn close(&self, got: &[f32], want: &Value, what: &str) {
        let stride = want
            .get("stride")
            .map_or(1, |s| s.as_u64().unwrap() as usize);
        let numel: usize = shape(want).iter().product();
        assert_eq!(got.len(), numel, "{}: {what}: length", self.name);
        let want = elements(want);
        let got: Vec<f32> = got.iter().copied().step_by(stride).collect();
        let floor = self.tol * common::max_abs(&want);
        assert_close!(
            got,
            want,
            rel = self.tol,
            abs = floor,
            "{}: {what}",
            self.name
        );
    }

    /// The named tensors side by side, row by row: a network's input of several.
    fn rows(&self, group: &str, names: &[&str]) -> Vec<f32> {
        let parts: Vec<(usize, Vec<f32>)> = names
            .iter()
            .map(|n| {
                let t = &self.v[group][*n];
                let s = shape(t);
                (s[1..].iter().product(), values(t))
            })
            .collect();
        let batch = parts[0].1.len() / parts[0].0;
        let mut out = Vec::new();
        for r in 0..batch {
            for (w, v) in &parts {
                out.extend_from_slice(&v[r * w..(r + 1) * w]);
            }
        }
        out
    }

    /// Compares a row-by-row output (or input gradient) of several parts with the named
    /// tensors.
    fn parts(&self, got: &[f32], group: &str, names: &[&str], what: &str) {
        let widths: Vec<usize> = names
            .iter()
            .map(|n| shape(&self.v[group][*n])[1..].iter().product())
            .collect();
        let row: usize = widths.iter().sum();
        let mut offset = 0;
        for (n, w) in names.iter().zip(&widths) {
            let part: Vec<f32> = got
                .chunks_exact(row)
                .flat_map(|r| r[offset..offset + w].to_vec())
                .collect();
            self.close(&part, &self.v[group][*n], &format!("{what} {n}"));
            offset += w;
        }
    }

    fn target(&self, name: &str) -> Vec<f32> {
        values(&self.v["inputs"][name])
    }
}

/// Runs `N` through the fixture's checks: `inputs` and `outputs` are the forward's, in
/// order, `grad_of` where each input's gradient is, and `objective` the loss on the tape.
fn check<N: Network>(
    mut net: Box<N>,
    m: &Model,
    inputs: &[&str],
    grad_of: &[(&str, &str)],
    outputs: &[&str],
    objective: impl Fn(&N, &mut Tape<N>) -> f32,
) {
    nn::io::load(&mut *net, path(&format!("graph_{}.safetensors", m.name)))
        .unwrap_or_else(|e| panic!("{}: {e}", m.name));
    let mut keys = Vec::new();
    net.named_state(&mut |module, tensor, _, _| keys.push(format!("{module}.{tensor}")));
    let want: Vec<&str> = m.v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, want, "{}: state-dict keys and order", m.name);

    let x = m.rows("inputs", inputs);
    let mut tape = Tape::<N>::new();
    tape.track_input_grad(true);
    let mut grads = Gradients::<N>::new();
    let y = tape.forward(&mut net, &x).unwrap().to_vec();
    m.parts(&y, "outputs", outputs, "output");
    let loss = objective(&net, &mut tape);
    let want_loss = m.v["loss"].as_f64().unwrap() as f32;
    m.close(
        &[loss],
        &serde_json::json!({"shape": [1], "data": [want_loss]}),
        "loss",
    );
    tape.backward(&net, &x, &mut grads);
    let mut offset = 0;
    let batch = y.len() / N::OUT;
    let input_grad = tape.input_grad().to_vec();
    for (input, (group, key)) in inputs.iter().zip(grad_of) {
        let w: usize = shape(&m.v["inputs"][*input])[1..].iter().product();
        let part: Vec<f32> = input_grad
            .chunks_exact(N::IN)
            .flat_map(|r| r[offset..offset + w].to_vec())
            .collect();
        assert_eq!(part.len(), batch * w);
        m.close(
            &part,
            &m.v[*group][*key],
            &format!("gradient of input {input}"),
        );
        offset += w;
    }
    let mut count = 0;
    net.named_params(&mut |module, name, _, _| {
        let key = format!("{module}.{name}");
        let got = grads.get(&net, &key).unwrap();
        m.close(got, &m.v["grads"][&key], &format!("gradient of {key}"));
        count += 1;
    });
    assert_eq!(
        count,
        m.v["grads"].as_object().unwrap().len(),
        "{}: gradients",
        m.name
    );

    let opt = &m.v["optimizer"];
    let lr = opt["lr"].as_f64().unwrap() as f32;
    let steps = m.v["step_losses"].as_array().unwrap().len();
    let mut run = |opt: &mut dyn FnMut(&mut N, &Gradients<N>)| {
        opt(&mut net, &grads);
        for _ in 1..steps {
            grads.zero();
            tape.forward(&mut net, &x).unwrap();
            objective(&net, &mut tape);
            tape.backward(&net, &x, &mut grads);
            opt(&mut net, &grads);
        }
    };
    match opt["kind"].as_str().unwrap() {
        "adam" => {
            let mut adam = Adam::new(lr);
            run(&mut |n, g| adam.step(n, g));
        }
        "sgd" => {
            let momentum = opt
                .get("momentum")
                .map_or(0.0, |v| v.as_f64().unwrap() as f32);
            let mut sgd = Sgd::new(lr).momentum(momentum);
            run(&mut |n, g| sgd.step(n, g));
        }
        other => panic!("optimizer {other}"),
    }
    let mut trained = 0;
    net.named_state(&mut |module, tensor, _, value| {
        let key = format!("{module}.{tensor}");
        let got = match value {
            nn::Buffer::F32(v) => v.to_vec(),
            nn::Buffer::Count(c) => vec![c as f32],
        };
        m.close(
            &got,
            &m.v["trained"][&key],
            &format!("{key} after {steps} steps"),
        );
        trained += 1;
    });
    assert_eq!(trained, m.v["trained"].as_object().unwrap().len());
    let eval = tape.infer(&net, &x).to_vec();
    m.parts(&eval, "eval_outputs", outputs, "eval output");
}

#[test]
fn vae_matches_pytorch() {
    let m = Model::new("vae");
    let target = m.target("x");
    check(
        Vae::new(0),
        &m,
        &["x", "eps"],
        // The objective's target is data: the gradient reaching `x` is the encoder's.
        &[
            ("input_grads_bce_target_constant", "x"),
            ("input_grads", "eps"),
        ],
        &["recon", "mu", "logvar"],
        |net, tape| net.loss(tape, &target),
    );
}

#[test]
fn unet_level_matches_pytorch() {
    let m = Model::new("unet_level");
    let target = m.target("target");
    check(
        UnetLevel::new(0),
        &m,
        &["x"],
        &[("input_grads", "x")],
        &["out"],
        |net, tape| net.loss(tape, &target),
    );
}

#[test]
fn siamese_pair_sums_its_shared_encoders_gradients_as_pytorch() {
    let m = Model::new("siamese");
    check(
        Siamese::new(0),
        &m,
        &["x1", "x2"],
        &[("input_grads", "x1"), ("input_grads", "x2")],
        &["e1", "e2"],
        |net, tape| net.loss(tape),
    );
}

#[test]
fn two_heads_train_on_two_losses_as_pytorch() {
    let m = Model::new("two_heads");
    let labels: Vec<usize> = m.target("labels").iter().map(|l| *l as usize).collect();
    let target = m.target("target");
    check(
        TwoHeads::new(0),
        &m,
        &["x"],
        &[("input_grads", "x")],
        &["logits", "value"],
        |net, tape| net.loss(tape, &labels, &target),
    );
}

#[test]
fn basic_block_with_downsample_matches_torchvision() {
    let m = Model::new("basic_block");
    let target = m.target("target");
    check(
        BasicBlock::new(0),
        &m,
        &["x"],
        &[("input_grads", "x")],
        &["out"],
        |net, tape| net.loss(tape, &target),
    );
}
