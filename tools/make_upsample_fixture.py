#!/usr/bin/env python3
"""Writes the PyTorch parity fixture that tests/parity_image.rs checks `Upsample` against:
nn.Upsample(scale_factor=S, mode='nearest') for S = 2 and 3 on a batch of 2 × 3 × 4 images.

The tests need no Python: the JSON file is committed. To make it again, from the repository
root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_upsample_fixture.py

Deterministic (fixed seed, float32). Upsampling copies values and its backward pass sums each
block's gradient in PyTorch's order, so the test compares bit for bit.

What it writes into tests/fixtures/upsample.json: "cases", each with
    "scale"       S
    "input"       x, [BATCH, C, H, W], flattened row-major (the flat rows the Rust layer takes)
    "upstream"    c, the gradient of L = sum(c * upsample(x)) with respect to the output
    "output"      upsample(x)
    "input_grad"  dL/dx
"""

import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import tensor, write  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(1)
cases = []
for scale in (2, 3):
    x = torch.randn(2, 2, 3, 4, dtype=torch.float32, requires_grad=True)
    layer = nn.Upsample(scale_factor=scale, mode="nearest")
    y = layer(x)
    c = torch.randn(y.shape, dtype=torch.float32)
    (y * c).sum().backward()
    cases.append(
        {
            "scale": scale,
            "input": tensor(x),
            "upstream": tensor(c),
            "output": tensor(y),
            "input_grad": tensor(x.grad),
        }
    )
write("upsample.json", {"torch": torch.__version__, "cases": cases})
