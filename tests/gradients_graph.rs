//! The backward pass of a network whose forward is written as code, against central finite
//! differences (`tests/common/gradcheck.rs`, whose header gives the tolerance): every
//! operation of such a forward, a value and an input used twice, a network written as code
//! inside a chain and inside another, called twice, and `randn_like`'s reparameterisation.
//! Every function here is smooth: central differences cannot see through ReLU's or a max
//! pool's kink, and the networks with those are checked against PyTorch in
//! `tests/parity_graph.rs`.

#[macro_use]
mod common;
use common::gradcheck::{check_input_grad, check_network};

nn::network! {
    /// Every operation: a layer call, `+ - *` between values and with numbers on either
    /// side, `/` by a number, a unary minus, `cat`, `chunk`, `flatten`, `tanh`, `exp`, `log`,
    /// `softmax`, `log_softmax`; the input `x` and the values `c`, `l` and `h` each used
    /// more than once.
    #[derive(Clone)]
    struct EveryOp {
        conv: Conv2d<2, 2, 2>,
        fc: Linear<18, 8>,
        bn: BatchNorm<8>,
        mix: Linear<8, 6>,
        out: Linear<12, 4>,
    }
    fn forward(x: Image<2, 3, 3>, z: Features<6>) -> (y, p, q) {
        let c = tanh(flatten(self.conv(x)));
        let l = self.bn(self.fc(flatten(x)));
        let d = 2.0 * (c + l) - l * c - 0.5;
        let h = log(1.0 + exp(self.mix(d * 0.5))) / 2.0;
        let (a, b) = chunk(cat([h, z * h]), 2);
        (self.out(cat([a, -b])), softmax(a - b), log_softmax(h + z))
    }
}

nn::network! {
    /// A gated linear unit written as code.
    #[derive(Clone)]
    struct Glu {
        fc: Linear<4, 6>,
    }
    fn forward(x: Features<4>) -> y {
        let (a, b) = chunk(self.fc(x), 2);
        a * sigmoid(b)
    }
}

nn::network! {
    #[derive(Clone)]
    struct GluInChain<Linear<5, 4>, Tanh, Glu, Linear<3, 2>>
}

nn::network! {
    /// The inner network called twice: its parameter gradients from both calls added up.
    #[derive(Clone)]
    struct GluInGraph {
        pre: Linear<5, 4>,
        glu: Glu,
        out: Linear<3, 2>,
    }
    fn forward(x: Features<5>) -> y {
        let h = tanh(self.pre(x));
        self.out(self.glu(h) - self.glu(-1.0 * h))
    }
}

nn::network! {
    /// A variational autoencoder's reparameterisation: the noise is the same draw in every
    /// evaluation of the checked objective, which copies the network before each pass.
    #[derive(Clone)]
    struct Vae {
        enc: Linear<4, 6>,
        dec: Linear<3, 4>,
    }
    fn forward(x: Features<4>) -> (recon, mu, logvar) {
        let (mu, logvar) = chunk(self.enc(x), 2);
        let std = exp(0.5 * logvar);
        let z = mu + randn_like(std) * std;
        (sigmoid(self.dec(z)), mu, logvar)
    }
}

// Batches of 8: a batch norm over 3 rows curves so much that the truncation of the central
// difference (`h² f''' / 6`, shrinking ninefold from h = 1e-2 to 3e-3) passes the tolerance.
#[test]
fn every_operation_matches_finite_differences() {
    for seed in 0..3 {
        check_network::<EveryOp>(seed, 8);
        check_input_grad::<EveryOp>(seed, 8);
    }
}

#[test]
fn nested_networks_written_as_code_match_finite_differences() {
    for seed in 0..3 {
        check_network::<GluInChain>(seed, 3);
        check_input_grad::<GluInChain>(seed, 3);
        check_network::<GluInGraph>(seed, 3);
        check_input_grad::<GluInGraph>(seed, 3);
    }
}

#[test]
fn the_reparameterisation_matches_finite_differences() {
    for seed in 0..3 {
        check_network::<Vae>(seed, 4);
        check_input_grad::<Vae>(seed, 4);
    }
}
