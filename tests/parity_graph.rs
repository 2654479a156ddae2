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
use common::graph_parity::{check, Model};

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

#[test]
fn vae_matches_pytorch() {
    let m = Model::new("graph", "vae");
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
    let m = Model::new("graph", "unet_level");
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
    let m = Model::new("graph", "siamese");
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
    let m = Model::new("graph", "two_heads");
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
    let m = Model::new("graph", "basic_block");
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
