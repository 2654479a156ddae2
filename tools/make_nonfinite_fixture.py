"""Writes tests/fixtures/nonfinite.json: PyTorch's activations and their gradients at NaN,
the infinities, signed zeros and a few ordinary values, for tests/nonfinite.rs.

Run from the repository root with PyTorch installed:
    python tools/make_nonfinite_fixture.py
Deterministic; NaN and infinities are written as the strings "nan", "inf", "-inf".
"""

import json
import math
from pathlib import Path

import torch

XS = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.5, -1.5, 100.0, -100.0]

ACTIVATIONS = {
    "ReLU": torch.nn.ReLU(),
    "Sigmoid": torch.nn.Sigmoid(),
    "Tanh": torch.nn.Tanh(),
    "LeakyReLU": torch.nn.LeakyReLU(0.01),
    "ELU": torch.nn.ELU(1.0),
    "GELU": torch.nn.GELU(),
    "GELU<tanh>": torch.nn.GELU(approximate="tanh"),
    "SiLU": torch.nn.SiLU(),
}


def enc(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


out = {"x": [enc(v) for v in XS]}
for name, module in ACTIVATIONS.items():
    ys, gs = [], []
    for v in XS:
        x = torch.tensor([v], dtype=torch.float32, requires_grad=True)
        y = module(x)
        y.backward(torch.ones_like(y))
        ys.append(enc(y.item()))
        gs.append(enc(x.grad.item()))
    out[name] = {"y": ys, "dy": gs}

path = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nonfinite.json"
path.write_text(json.dumps(out, indent=1) + "\n")
