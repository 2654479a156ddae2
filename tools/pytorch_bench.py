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

The recurrent cases (benches/speed/recurrent.rs), one thread only: nn.GRU and nn.LSTM(1, H,
batch_first=True) for H = 8, 32, 64 in eval mode under torch.inference_mode(): "gru_step" and
"lstm_step" are one call on one step of one sample with the state carried from the call before
(the way a stream runs), "gru_signal" and "lstm_signal" one call on a whole signal of 48,000
steps; their lines carry "hidden" (and "batch": 1). RTNeural's causal convolution stack,
Conv1d(1, 16, 3) → tanh → Conv1d(16, 16, 3, dilation=2) → Conv1d(16, 1, 1) (a dense 16→1 on
every step), each convolution after F.pad(x, ((K - 1) * D, 0)): "conv_step" is one call on the
last 7 inputs (the stack's receptive field, shifted in place by one sample per call, the way a
stream without state in the layers runs) for the newest output, "conv_signal" one call on the
whole signal; their lines carry "hidden": 16, the channels.

--cases keeps the cases whose name contains one of its comma-separated words, as
NN_BENCH_CASES does for the Rust side.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


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


SIGNAL = 48_000


def recurrent(kind, hidden):
    return (nn.GRU if kind == "gru" else nn.LSTM)(1, hidden, batch_first=True).eval()


def step_case(kind, hidden, reps):
    """One step of one sample, the state carried from the call before."""
    m = recurrent(kind, hidden)
    x = torch.randn(1, 1, 1)
    state = [None]

    def step():
        _, state[0] = m(x, state[0])

    with torch.inference_mode():
        for _ in range(200):
            step()
        return median_us(step, reps)


def signal_case(kind, hidden, reps):
    """A whole signal of SIGNAL steps in one call."""
    m = recurrent(kind, hidden)
    x = torch.randn(1, SIGNAL, 1)
    with torch.inference_mode():
        m(x)
        return median_us(lambda: m(x), reps)


class ConvStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 16, 3)
        self.conv2 = nn.Conv1d(16, 16, 3, dilation=2)
        self.dense = nn.Conv1d(16, 1, 1)

    def forward(self, x):
        x = torch.tanh(self.conv1(F.pad(x, (2, 0))))
        return self.dense(self.conv2(F.pad(x, (4, 0))))


def conv_step_case(reps):
    """The newest output from the last 7 inputs, the window shifted by one sample per call."""
    m = ConvStack().eval()
    window = torch.zeros(1, 1, 7)
    x = torch.randn(1)

    def step():
        window[..., :-1] = window[..., 1:].clone()
        window[..., -1] = x
        return m(window)[..., -1]

    with torch.inference_mode():
        for _ in range(200):
            step()
        return median_us(step, reps)


def conv_signal_case(reps):
    m = ConvStack().eval()
    x = torch.randn(1, 1, SIGNAL)
    with torch.inference_mode():
        m(x)
        return median_us(lambda: m(x), reps)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cases", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    words = [w.strip() for w in a.cases.split(",") if w.strip()] if a.cases else None

    def wanted(case):
        return words is None or any(w in case for w in words)

    def emit(case, batch, us, **extra):
        print(json.dumps({"case": case, "batch": batch, **extra, "threads": a.threads, "us": round(us, 3)}), flush=True)

    if wanted("train_step"):
        for b, reps in ((16, 300), (64, 200), (256, 60)):
            emit("train_step", b, train_case(b, reps))
    if wanted("inference"):
        for b, reps in ((1, 3000), (64, 500)):
            emit("inference", b, infer_case(b, reps))
    if wanted("cnn_train_step"):
        emit("cnn_train_step", 64, train_case(64, 40, cnn))
    if wanted("cnn_inference"):
        emit("cnn_inference", 1, infer_case(1, 2000, cnn))
    if wanted("net_inference"):
        for b, reps, warmup in ((1, 200, 20), (64, 8, 5)):
            emit("net_inference", b, infer_case(b, reps, mnist_net, warmup))
    if a.threads == 1:
        for kind in ("gru", "lstm"):
            for hidden in (8, 32, 64):
                if wanted(f"{kind}_step"):
                    emit(f"{kind}_step", 1, step_case(kind, hidden, 2000), hidden=hidden)
                if wanted(f"{kind}_signal"):
                    emit(f"{kind}_signal", 1, signal_case(kind, hidden, 1), hidden=hidden)
        if wanted("conv_step"):
            emit("conv_step", 1, conv_step_case(2000), hidden=16)
        if wanted("conv_signal"):
            emit("conv_signal", 1, conv_signal_case(3), hidden=16)


if __name__ == "__main__":
    main()
