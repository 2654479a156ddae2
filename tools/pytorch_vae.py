#!/usr/bin/env python3
"""PyTorch's side of the VAE comparison: pytorch/examples' `vae/main.py` on the repository's
MNIST data, for a side-by-side comparison of losses and speed with the Rust VAE.

    python3 tools/pytorch_vae.py                 # 10 epochs, one thread (tools/requirements.txt)
    python3 tools/pytorch_vae.py --epochs 3 --threads 2
    python3 tools/pytorch_vae.py --bench         # the timings, one JSON line each

The model, loss and optimizer are the example's:
  - VAE: fc1 = Linear(784, 400), fc21 = Linear(400, 20) (mu), fc22 = Linear(400, 20) (logvar),
    fc3 = Linear(20, 400), fc4 = Linear(400, 784); h1 = relu(fc1(x)), z = mu + eps * exp(0.5 *
    logvar), recon = sigmoid(fc4(relu(fc3(z)))). The example draws eps with torch.randn_like
    inside forward, in training and in testing alike; here eps is forward's second argument
    (tools/make_graph_fixtures.py passes a fixed one), and training, testing and the benchmark
    draw it right before each forward: torch.randn(batch, 20) from the global generator, the
    values the example's torch.randn_like(std) draws, seeded with torch.manual_seed(1) (the
    example's --seed) before the weights are drawn;
  - loss: F.binary_cross_entropy(recon, x, reduction='sum') - 0.5 * sum(1 + logvar - mu^2 -
    exp(logvar)), summed over the batch;
  - Adam(lr=1e-3), batch 128, the last smaller batch kept (8,000 = 62 x 128 + 64).

The data differ from the example's (which downloads the 60,000 training images through
torchvision): data/mnist/t10k-images-idx3-ubyte.gz, split as nn::data::Mnist::load_t10k_split
does (the first 8,000 images to train, the last 2,000 to test; pixels byte / 255, read by
tools/pytorch_mnist.py's loader). Each epoch permutes the training set with a torch.Generator
seeded with SHUFFLE_SEED and takes contiguous batches; the test set is read in order.

Output: per epoch, as the example prints them, the training loss summed over the epoch's
batches divided by the number of training images (the example's "Average loss"; each batch's
loss is taken before its step), and the test loss per image (eval mode, no gradients, one pass
over the 2,000 images after the epoch's training); then the training time, evaluation left out.

--bench prints, in tools/pytorch_bench.py's format and timed as it times its cases (median over
7 rounds of the mean time per repetition, after a warmup), one JSON object per line:
  {"case": "vae_train_step", "batch": 128, ...}  zero_grad, forward, loss, backward, Adam step
  {"case": "vae_inference", "batch": 1, ...}     the full forward (encoder, sampling, decoder)
                                                 under torch.inference_mode()
Both include drawing eps, as the example's forward does; the inputs are
MNIST images (the first 128 training images, and the first one).
"""

import argparse
import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_bench import median_us  # noqa: E402
from pytorch_mnist import ROOT, load_t10k_split  # noqa: E402

BATCH = 128
LR = 1e-3
WEIGHTS_SEED = 1
SHUFFLE_SEED = 0


class VAE(nn.Module):
    """pytorch/examples' VAE, with the noise eps passed in instead of drawn inside."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    """Reconstruction + KL divergence, summed over all elements and the batch (the example's)."""
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def noise(x):
    """The example's eps: standard normal, one per latent unit, from the global generator."""
    return torch.randn(x.shape[0], 20, dtype=x.dtype)


def train_step(model, opt, x):
    opt.zero_grad()
    recon, mu, logvar = model(x, noise(x))
    loss = loss_function(recon, x, mu, logvar)
    loss.backward()
    opt.step()
    return loss


def test_loss(model, x_test):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x_test), BATCH):
            x = x_test[i : i + BATCH]
            recon, mu, logvar = model(x, noise(x))
            total += loss_function(recon, x, mu, logvar).item()
    model.train()
    return total / len(x_test)


def train(epochs):
    (x_train, _), (x_test, _) = load_t10k_split(os.path.join(ROOT, "data", "mnist"))
    torch.manual_seed(WEIGHTS_SEED)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(SHUFFLE_SEED)
    print(model)
    print(
        f"{len(x_train):,} training images, {len(x_test):,} test images; Adam lr {LR}, batch {BATCH}, "
        f"{epochs} epochs; torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    )
    model.train()
    training = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        xs = x_train[torch.randperm(len(x_train), generator=gen)]
        train_loss = 0.0
        for i in range(0, len(xs), BATCH):
            train_loss += train_step(model, opt, xs[i : i + BATCH]).item()
        training += time.perf_counter() - start
        print(
            f"epoch {epoch:2}: train loss {train_loss / len(x_train):.4f}, "
            f"test loss {test_loss(model, x_test):.4f}",
            flush=True,
        )
    print(f"training time: {training:.2f} s ({epochs} epochs, evaluation not included)")


def bench(threads):
    (x_train, _), _ = load_t10k_split(os.path.join(ROOT, "data", "mnist"))
    torch.manual_seed(WEIGHTS_SEED)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x = x_train[:BATCH].clone()

    def step():
        train_step(model, opt, x)

    for _ in range(20):
        step()
    print(json.dumps({"case": "vae_train_step", "batch": BATCH, "threads": threads, "us": round(median_us(step, 40), 2)}), flush=True)

    model.eval()
    one = x_train[:1].clone()
    with torch.inference_mode():
        for _ in range(200):
            model(one, noise(one))
        us = median_us(lambda: model(one, noise(one)), 2000)
    print(json.dumps({"case": "vae_inference", "batch": 1, "threads": threads, "us": round(us, 2)}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--bench", action="store_true", help="time a training step and an inference instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.bench:
        bench(args.threads)
    else:
        train(args.epochs)


if __name__ == "__main__":
    main()
