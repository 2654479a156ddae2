#!/usr/bin/env python3
"""Writes tests/fixtures/mlperf_mobilenet_eval.json: MLPerf Tiny's visual wake words
MobileNetV1 0.25 (tools/mlperf_models.py) in eval mode, on two 3 x 96 x 96 images, against
which tests/parity_mlperf.rs checks the Rust model.

Its training-mode fixture cannot be certified (see make_mlperf_fixtures.py), and its 865 KB of
weights are too many to commit, so neither side stores them: every tensor of the state dict
is made from a formula both compute exactly in float32, its index t in the state dict and the
element's index i giving v = ((i * 7919 + t * 104729) mod 2048) / 1024 - 1, in [-1, 1):
  a weight of two or more dimensions (a convolution's, the Linear's): v * 2^e, e the nearest
    integer to log2(sqrt(6 / fan_in)), so that its variance is about He's, 2 / fan_in;
  a bias (a convolution's, the Linear's, a batch norm's): v / 4;
  a batch norm's weight and running_var: 1 + v / 4; its running_mean: v / 4.
The images: element j of image k is v with i = j, t = 1000 + k.

The outputs are PyTorch's in float32, with float64's; the tolerance is certified as this
project's other fixtures are: four times float32's largest distance from float64, relative
to the largest output, and no less than 1e-5.

Run from the repository root: .venv/bin/python tools/make_mobilenet_eval_fixture.py
"""
import math
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import f32, tensor, write  # noqa: E402
from mlperf_models import mobilenet_v1  # noqa: E402


def values(n, t):
    i = torch.arange(n, dtype=torch.int64)
    return ((i * 7919 + t * 104729) % 2048).to(torch.float64) / 1024 - 1


def fill(model):
    state = model.state_dict()
    for t, (name, tensor) in enumerate(state.items()):
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "num_batches_tracked":
            continue
        v = values(tensor.numel(), t)
        if tensor.dim() >= 2:
            fan_in = math.prod(tensor.shape[1:])
            v = v * 2.0 ** round(math.log2(math.sqrt(6 / fan_in)))
        elif leaf in ("bias", "running_mean"):
            v = v / 4
        else:  # a batch norm's weight or running_var
            v = 1 + v / 4
        tensor.copy_(v.reshape(tensor.shape).to(tensor.dtype))
    model.load_state_dict(state)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x = torch.stack([values(3 * 96 * 96, 1000 + k).reshape(3, 96, 96) for k in range(2)])
    outputs = {}
    for dtype in (torch.float32, torch.float64):
        model = mobilenet_v1().to(dtype)
        fill(model)
        model.eval()
        with torch.no_grad():
            outputs[dtype] = model(x.to(dtype)).to(torch.float64)
    o32, o64 = outputs[torch.float32], outputs[torch.float64]
    scale = o64.abs().max().item()
    tolerance = max(1e-5, 4 * (o32 - o64).abs().max().item() / scale)
    write(
        "mlperf_mobilenet_eval.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "tolerance_rule": "|a - b| <= tolerance * max|b| over the outputs",
            "tolerance": f32(tolerance),
            "outputs": tensor(o32.to(torch.float32)),
            "outputs_float64_as_float32": tensor(o64.to(torch.float32)),
        },
    )


if __name__ == "__main__":
    main()
