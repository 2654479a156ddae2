#!/usr/bin/env python3
"""Writes tests/fixtures/conv_dilation_pair.json: PyTorch's nn.Conv2d(2, 4, (3, 2),
stride=(1, 2), padding=(2, 1), dilation=(2, 3), groups=2) on a batch of three 2 x 7 x 6
images: its output, and for the loss sum(y * dy) the input's, weight's and bias's gradients,
against which tests/parity_mlperf.rs checks `Conv2d<..., dilation = (2, 3), ...>`.

Every tensor comes from a formula both sides compute exactly in float32, as in
make_mobilenet_eval_fixture.py: element i of tensor t is
((i * 7919 + t * 104729) mod 2048) / 1024 - 1, halved for the weight (t = 0) and the bias
(t = 1); the input is t = 10, dy is t = 11. The tolerance is certified against float64: four
times float32's largest distance from it relative to each tensor's largest value, and no
less than 1e-6.

Run from the repository root: .venv/bin/python tools/make_dilation_pair_fixture.py
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import f32, tensor, write  # noqa: E402
from make_mobilenet_eval_fixture import values  # noqa: E402

BATCH = 3


def run(dtype):
    conv = torch.nn.Conv2d(2, 4, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(2, 3), groups=2)
    conv = conv.to(dtype)
    with torch.no_grad():
        conv.weight.copy_(values(conv.weight.numel(), 0).reshape(conv.weight.shape) / 2)
        conv.bias.copy_(values(conv.bias.numel(), 1) / 2)
    x = values(BATCH * 2 * 7 * 6, 10).reshape(BATCH, 2, 7, 6).to(dtype).requires_grad_()
    y = conv(x)
    dy = values(y.numel(), 11).reshape(y.shape).to(dtype)
    (y * dy).sum().backward()
    return {"y": y, "dx": x.grad, "dw": conv.weight.grad, "db": conv.bias.grad}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    r32, r64 = run(torch.float32), run(torch.float64)
    out = {"torch_version": torch.__version__.split("+")[0]}
    out["tolerance_rule"] = "|a - b| <= tolerance * max|b| over each tensor"
    for k in r32:
        a, b = r32[k].detach().to(torch.float64), r64[k].detach()
        gap = (a - b).abs().max().item() / b.abs().max().item()
        out[k] = tensor(r32[k].detach())
        out[k + "_tolerance"] = f32(max(1e-6, 4 * gap))
    write("conv_dilation_pair.json", out)


if __name__ == "__main__":
    main()
