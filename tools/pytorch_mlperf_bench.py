#!/usr/bin/env python3
"""PyTorch's side of the MLPerf Tiny cases of `benches/speed.rs` (benches/speed/mlperf.rs):
the keyword-spotting DS-CNN and the image-classification ResNet-8 of tools/mlperf_models.py,
timed as tools/pytorch_bench.py times its cases (median over 7 rounds of the mean time per
repetition, after a warmup).

    python3 tools/pytorch_mlperf_bench.py --threads 1 [--cases ds_cnn,resnet8]

Prints one JSON object per line, in tools/pytorch_bench.py's format:
  {"case": "ds_cnn_inference", "batch": 1, ...}     eval mode under torch.inference_mode()
  {"case": "ds_cnn_train_step", "batch": 64, ...}   zero_grad, forward, CrossEntropyLoss,
                                                    backward, SGD(lr=0.01, momentum=0.9) step
and the same for "resnet8_inference" and "resnet8_train_step". Inputs are uniform in -1..1,
labels uniform over the classes.
"""
import argparse
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlperf_models import ResNet8, ds_cnn  # noqa: E402
from pytorch_bench import median_us  # noqa: E402

MODELS = {"ds_cnn": (ds_cnn, (1, 49, 10), 12), "resnet8": (ResNet8, (3, 32, 32), 10)}


def inference(make, shape, reps):
    m = make().eval()
    x = torch.rand(1, *shape) * 2 - 1
    with torch.inference_mode():
        for _ in range(50):
            m(x)
        return median_us(lambda: m(x), reps)


def train_step(make, shape, classes, batch, reps):
    m = make().train()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    lf = nn.CrossEntropyLoss()
    x = torch.rand(batch, *shape) * 2 - 1
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad()
        lf(m(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    return median_us(step, reps)


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

    def emit(case, batch, us):
        print(json.dumps({"case": case, "batch": batch, "threads": a.threads, "us": round(us, 3)}), flush=True)

    for name, (make, shape, classes) in MODELS.items():
        if wanted(f"{name}_inference"):
            emit(f"{name}_inference", 1, inference(make, shape, 300))
        if wanted(f"{name}_train_step"):
            emit(f"{name}_train_step", 64, train_step(make, shape, classes, 64, 5))


if __name__ == "__main__":
    main()
