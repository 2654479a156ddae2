#!/usr/bin/env python3
"""PyTorch's side of the benchmark: the MNIST network (784-128 ReLU BatchNorm 128-10), the
same cases as `benches/speed.rs`, timed the same way (median over 7 rounds of the mean per
repetition).

Run by `cargo bench --bench speed`, once per thread count (`NN_BENCH_THREADS` with
`--features threading`); by hand:
    python3 tools/pytorch_bench.py --threads 1
Prints one JSON object per line: {"case": ..., "batch": ..., "threads": ..., "us": ...}.
The network: Linear(784,128), ReLU, BatchNorm1d(128), Linear(128,10); training:
CrossEntropyLoss, SGD(lr=0.01, momentum=0.9), zero_grad/backward/step. Inference: eval
mode under torch.inference_mode(). The CNN of examples/cnn.rs (Conv2d 1→8 3, ReLU, MaxPool 2,
Conv2d 8→16 3, ReLU, MaxPool 2, Flatten, Linear 400→10) is timed the same way, training at
batch 64 and inference on one image. pytorch/examples' MNIST `Net` (Conv2d 1→32 3, ReLU,
Conv2d 32→64 3, ReLU, MaxPool 2, Flatten, Linear 9216→128, ReLU, Linear 128→10) runs
inference on one image and on a batch of 64; its dropouts, the identity in eval mode, and its
final log_softmax are left out, as in the Rust declaration. The VAE's cases are
`tools/pytorch_vae.py --bench`, beside its model; the harness runs both scripts.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def net():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.BatchNorm1d(128), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10),
    )


def mnist_net():
    """pytorch/examples' MNIST Net as it runs in eval mode, less its dropouts and log_softmax."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 3, 1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def median_us(fn, reps, rounds=7):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t) / reps * 1e6)
    return statistics.median(times)


def train_case(batch, reps, make=None):
    m = (make or net)()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    lf = nn.CrossEntropyLoss()
    x, y = torch.randn(batch, 784), torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        lf(m(x), y).backward()
        opt.step()

    for _ in range(20):
        step()
    return median_us(step, reps)


def infer_case(batch, reps, make=None, warmup=50):
    m = (make or net)().eval()
    x = torch.randn(batch, 784)
    with torch.inference_mode():
        for _ in range(warmup):
            m(x)
        return median_us(lambda: m(x), reps)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for b, reps in ((16, 300), (64, 200), (256, 60)):
        print(json.dumps({"case": "train_step", "batch": b, "threads": a.threads, "us": round(train_case(b, reps), 2)}), flush=True)
    for b, reps in ((1, 3000), (64, 500)):
        print(json.dumps({"case": "inference", "batch": b, "threads": a.threads, "us": round(infer_case(b, reps), 2)}), flush=True)
    print(json.dumps({"case": "cnn_train_step", "batch": 64, "threads": a.threads, "us": round(train_case(64, 40, cnn), 2)}), flush=True)
    print(json.dumps({"case": "cnn_inference", "batch": 1, "threads": a.threads, "us": round(infer_case(1, 2000, cnn), 2)}), flush=True)
    for b, reps, warmup in ((1, 200, 20), (64, 8, 5)):
        print(json.dumps({"case": "net_inference", "batch": b, "threads": a.threads, "us": round(infer_case(b, reps, mnist_net, warmup), 2)}), flush=True)


if __name__ == "__main__":
    main()
