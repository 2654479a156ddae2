//! pytorch/examples' variational autoencoder (`vae/main.py`), its forward and objective
//! written as code, trained on the committed MNIST images as `tools/pytorch_vae.py` trains
//! PyTorch's.
//!
//! ```text
//! cargo run --release --example vae
//! ```
//!
//! fc1 784→400, fc21 and fc22 400→20 (the mean and log-variance of the latent), fc3 20→400,
//! fc4 400→784; the reparameterisation `z = mu + eps · exp(logvar / 2)` with `eps` from
//! `randn_like`; the objective binary cross-entropy (summed) plus the KL divergence. Adam
//! (lr 1e-3), batch 128, 10 epochs, on the first 8,000 of the committed MNIST images,
//! reshuffled every epoch; the last 2,000 are the test set.
//!
//! Each epoch prints, per image, the training loss (summed over the epoch's batches before
//! each step, as the example prints it) and two test losses:
//! - sampled: each test batch through the training forward, which draws `eps`, with no
//!   step. This is what PyTorch's example computes, since its `randn_like` draws in eval
//!   mode too, and the figure to compare with `tools/pytorch_vae.py`'s;
//! - at `z = mu`: through inference (`forward_batch`), where `randn_like` gives zeros, the
//!   noise's mean. It decodes the latent's mean instead of a sample of it, so it is not
//!   the figure PyTorch's example prints (past the first epoch, it reads lower).
//!
//! The weights, the shuffle and the noise come from this crate's generator, not PyTorch's,
//! so the two runs agree in distribution, not draw for draw.

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use nn::data::{DataLoader, Mnist};
use nn::loss::{BceLoss, Loss, Reduction};
use nn::optim::{Adam, Optimizer};
use nn::{Gradients, Tape};

nn::network! {
    /// pytorch/examples' VAE: 784 pixels in; the reconstruction (784), the latent's mean
    /// (20) and its log-variance (20) out, side by side in each row.
    pub struct Vae {
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
        let eps = randn_like(std);
        let z = mu + eps * std;
        (sigmoid(self.fc4(relu(self.fc3(z)))), mu, logvar)
    }
    fn loss(target: Features<784>) {
        let bce = binary_cross_entropy(recon, target, reduction = sum);
        let kld = -0.5 * sum(1.0 + logvar - mu.pow(2) - logvar.exp());
        bce + kld
    }
}

const PIXELS: usize = 784;
const LATENT: usize = 20;
const EPOCHS: usize = 10;
const BATCH: usize = 128;
const LR: f32 = 1e-3;
const WEIGHTS_SEED: u64 = 1;
const SHUFFLE_SEED: u64 = 0;

fn main() -> Result<(), Box<dyn Error>> {
    let data = Mnist::load_t10k_split(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    println!("{}", Vae::summary());
    println!(
        "{} training images, {} test images; Adam lr {LR}, batch {BATCH}, {EPOCHS} epochs",
        data.train.len(),
        data.test.len()
    );
    println!(
        "test loss sampled: eps drawn as in training, as PyTorch's example draws it in eval \
         mode too (compare with tools/pytorch_vae.py); at z = mu: inference, where \
         `randn_like` gives zeros"
    );
    let mut net = Vae::new(WEIGHTS_SEED);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut opt = Adam::new(LR);
    let test = data.test;
    let mut loader = DataLoader::new(data.train, BATCH, SHUFFLE_SEED)?;
    let mut training = Duration::ZERO;
    for epoch in 1..=EPOCHS {
        let start = Instant::now();
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for (x, _) in &mut loader {
            opt.zero_grad(&mut grads);
            net.forward_train(x, &mut tape)?;
            let loss = net.loss(&mut tape, x.as_flattened());
            net.backward(x, &mut tape, &mut grads);
            opt.step(&mut *net, &grads);
            loss_sum += f64::from(loss);
            seen += x.len();
        }
        training += start.elapsed();

        // Sampled: the training forward draws `eps`; nothing is stepped.
        let mut sampled = 0.0f64;
        for (x, _) in test.batches(BATCH) {
            net.forward_train(x, &mut tape)?;
            sampled += f64::from(net.loss(&mut tape, x.as_flattened()));
        }
        // At the mean: inference, where `randn_like` gives zeros.
        let mut at_mean = 0.0f64;
        for (x, _) in test.batches(BATCH) {
            at_mean += objective(net.forward_batch(x, &mut tape), x);
        }
        let n = test.len() as f64;
        println!(
            "epoch {epoch:2}: train loss {:.4}, test loss {:.4} sampled, {:.4} at z = mu",
            loss_sum / seen as f64,
            sampled / n,
            at_mean / n
        );
    }
    println!(
        "training time: {:.2} s ({EPOCHS} epochs, evaluation not included)",
        training.as_secs_f64()
    );
    Ok(())
}

/// `Vae::loss` over the rows of an inference pass: the objective reads the last training
/// pass only, so it is written out here, as the same sum of the binary cross-entropy and
/// the KL divergence.
fn objective(out: &[[f32; PIXELS + 2 * LATENT]], x: &[[f32; PIXELS]]) -> f64 {
    let bce = BceLoss.reduction(Reduction::Sum);
    out.iter()
        .zip(x)
        .map(|(row, x)| {
            let (recon, latent) = row.split_at(PIXELS);
            let (mu, logvar) = latent.split_at(LATENT);
            let kld: f32 = mu
                .iter()
                .zip(logvar)
                .map(|(m, l)| 1.0 + l - m * m - l.exp())
                .sum();
            f64::from(bce.loss(recon, PIXELS, &x[..], None) - 0.5 * kld)
        })
        .sum()
}
