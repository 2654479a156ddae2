#!/usr/bin/env python3
"""PyTorch's side of examples/mnist.rs, for a side-by-side comparison of accuracy and speed.

    cargo run --release --example mnist
    python3 tools/pytorch_mnist.py            # needs torch (tools/requirements.txt)
    cargo run --release --example cnn
    python3 tools/pytorch_mnist.py --cnn      # the network of examples/cnn.rs
    cargo run --release --example gru_mnist
    python3 tools/pytorch_mnist.py --gru      # the GRU of examples/gru_mnist.rs

Same data, network and settings as the Rust example:
  - data/mnist/t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, read here (gzip and
    IDX parsing, no torchvision), split as nn::data::Mnist::load_t10k_split does: the first
    8,000 images for training, the last 2,000 for testing; pixels scaled by 1/255 (float32
    division, as the Rust reader does), no further normalisation;
  - nn.Sequential(Linear(784, 128), ReLU(), BatchNorm1d(128), Linear(128, 10)), PyTorch's
    default initialisation (torch.manual_seed(0); the Rust side draws its own, so the two
    runs start from different weights and end at slightly different accuracies);
  - CrossEntropyLoss, SGD(lr=0.05, momentum=0.9), batch 64, reshuffled every epoch with the
    last smaller batch kept (8,000 = 125 x 64, so here every batch is full), 10 epochs;
  - one thread (torch.set_num_threads(1)): the Rust example runs single-threaded;
  - --gru: GRU(28, 64, batch_first=True) over the 28 rows of 28 pixels, Linear(64, 10) on
    out[:, -1], Adam(lr=0.002), 8 epochs, as examples/gru_mnist.rs.

Shuffling, as the Rust DataLoader does it: each epoch permutes the whole training set once
(one gather) and takes contiguous slices. torch.utils.data.DataLoader over a TensorDataset would
index and collate 64 single samples per batch instead, which costs more than the network here;
--dataloader uses it anyway, to show that cost.

Output, line for line as the Rust example prints it: per epoch the mean training loss (weighted by
batch size) and the test accuracy in eval mode, then the training time, which counts each epoch's
shuffle and steps and leaves out the evaluations.
"""

import argparse
import gzip
import os
import struct
import time

import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EPOCHS = 10
BATCH = 64
T10K_TRAIN = 8_000
WEIGHTS_SEED = 0
SHUFFLE_SEED = 0


def read_idx(path, dims):
    """An IDX file of unsigned bytes (gzip or not) with `dims` dimensions: (shape, bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != 0x0800 | dims:
        raise ValueError(f"{path}: magic {magic:#x}, expected {0x0800 | dims:#x}")
    shape = struct.unpack(">%dI" % dims, raw[4 : 4 + 4 * dims])
    data = raw[4 + 4 * dims :]
    expected = 1
    for d in shape:
        expected *= d
    if len(data) != expected:
        raise ValueError(f"{path}: {len(data)} data bytes, the header announces {expected}")
    return shape, data


def load_t10k_split(folder):
    (n, rows, cols), pixels = read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"), 3)
    (m,), labels = read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), 1)
    if n != m or rows * cols != 784:
        raise ValueError(f"{n} images of {rows}x{cols}, {m} labels")
    # Rust computes `byte as f32 / 255.0`, a correctly rounded float32 division. float64
    # division rounded to float32 gives the same bits (53 >= 2 * 24 + 2 bits, so the double
    # rounding is innocuous), whereas torch may multiply a float32 tensor by 1/255 instead.
    x = (torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(n, 784).to(torch.float64) / 255.0).to(torch.float32)
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).to(torch.int64)
    if int(y.max()) >= 10:
        raise ValueError("a label is not a digit")
    return (x[:T10K_TRAIN], y[:T10K_TRAIN]), (x[T10K_TRAIN:], y[T10K_TRAIN:])


def accuracy(model, x, y):
    """The share of (x, y) that model classifies right, in eval mode, batches of 500."""
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), 500):
            correct += (model(x[i : i + 500]).argmax(dim=1) == y[i : i + 500]).sum().item()
    model.train()
    return correct / len(x)


class RowGru(nn.Module):
    """examples/gru_mnist.rs's network: the image's rows as steps, the last state classified."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(28, 64, batch_first=True)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        out, _ = self.gru(x.reshape(-1, 28, 28))
        return self.fc(out[:, -1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataloader", action="store_true", help="shuffle and batch with torch.utils.data.DataLoader")
    parser.add_argument("--cnn", action="store_true", help="the network of examples/cnn.rs instead")
    parser.add_argument("--gru", action="store_true", help="the GRU of examples/gru_mnist.rs instead")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD's learning rate (momentum 0.9)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    (x_train, y_train), (x_test, y_test) = load_t10k_split(os.path.join(ROOT, "data", "mnist"))

    torch.manual_seed(WEIGHTS_SEED)
    epochs = 8 if args.gru else EPOCHS
    if args.gru:
        model = RowGru()
    elif args.cnn:
        model = nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(400, 10),
        )
    else:
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.BatchNorm1d(128), nn.Linear(128, 10))
    print(model)
    optimizer = "Adam lr 0.002" if args.gru else f"SGD lr {args.lr} momentum 0.9"
    print(
        f"{len(x_train):,} training images, {len(x_test):,} test images; {optimizer}, "
        f"batch {BATCH}, {epochs} epochs; torch {torch.__version__}, {torch.get_num_threads()} thread"
        + (", torch.utils.data.DataLoader" if args.dataloader else "")
    )
    loss_fn = nn.CrossEntropyLoss()
    if args.gru:
        opt = torch.optim.Adam(model.parameters(), lr=0.002)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    gen = torch.Generator().manual_seed(SHUFFLE_SEED)
    if args.dataloader:
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x_train, y_train), batch_size=BATCH, shuffle=True, generator=gen
        )

    def epoch_batches():
        if args.dataloader:
            yield from loader
            return
        perm = torch.randperm(len(x_train), generator=gen)
        xs, ys = x_train[perm], y_train[perm]
        for i in range(0, len(xs), BATCH):
            yield xs[i : i + BATCH], ys[i : i + BATCH]

    model.train()
    training = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        loss_sum, seen = 0.0, 0
        for x, y in epoch_batches():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(x)
            seen += len(x)
        training += time.perf_counter() - start
        print(
            f"epoch {epoch:2}: train loss {loss_sum / seen:.4f}, "
            f"test accuracy {100 * accuracy(model, x_test, y_test):.2f}%"
        )
    print(f"training time: {training:.2f} s ({epochs} epochs, evaluation not included)")


if __name__ == "__main__":
    main()
