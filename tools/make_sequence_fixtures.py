#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures of the 1-D layers, which tests/parity_sequences.rs checks:
nn.Conv1d (stride, padding, dilation, groups, bias=False, and causal padding as F.pad before
the layer), nn.MaxPool1d, nn.AvgPool1d and nn.AdaptiveAvgPool1d(1), each alone, and three
networks of sequences.

The tests need no Python: the files are committed. To make them again, from the repository
root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_sequence_fixtures.py

Deterministic (fixed seeds, float32, one thread, PyTorch's deterministic algorithms).

Layout. A sequence is PyTorch's (N, C, L), flattened row-major: exactly the flat `[batch, C*L]`
rows the Rust layers take.

What it writes:
  tests/fixtures/sequence_layers.json, "cases": one per layer configuration, made exactly as
    tools/make_image_fixtures.py makes its own (its `layer_case`): "name", "torch" (repr),
    "network" (how `network!` spells the layer, what `Layer::describe` writes), "input"
    [BATCH, C, L], "upstream" c (the checked function is L = sum(c * layer(x))), "output",
    "input_grad", "params" (PyTorch's own initialisation) and "param_grads". Every case is
    computed again in float64 and refused unless PyTorch's float32 result lies within half of
    the test's tolerance of float64's. A causal layer is PyTorch's nn.Conv1d after
    F.pad(x, ((K - 1) * D, 0)), written here as a module of its own (its repr says so).
  tests/fixtures/sequences.json, "models" -> <name>, in the format and with the checks of
    tools/make_graph_fixtures.py (whose machinery this script uses): the initial state dict in
    tests/fixtures/sequences_<name>.safetensors, the outputs (training mode), the loss, every
    gradient, the input's gradient, three Adam steps (lr 0.01), the eval outputs after them and
    the certified tolerance. The loss is mse_loss against a random target of the output's
    shape.
    "spotter"  Conv1d(2, 8, 5, stride=2, padding=2), Tanh, AvgPool1d(3, stride=1, padding=1),
               Conv1d(8, 8, 3, dilation=2, groups=4, bias=False), Tanh,
               AdaptiveAvgPool1d(1), Flatten, Linear(8, 3); x [4, 2, 40]
    "stack"    RTNeural's stack: causal Conv1d(1, 16, 3), Tanh, causal Conv1d(16, 16, 3,
               dilation=2), Conv1d(16, 1, 1) (a Linear(16, 1) on every step); x [3, 1, 48]
    "conv_gru" Conv1d(3, 6, 3, padding=1), Tanh, x.transpose(1, 2), GRU(6, 8, batch_first=True),
               its last step, Linear(8, 2); x [4, 3, 20]
    "conv_bn"  Conv1d(2, 6, 3, padding=1, bias=False), BatchNorm1d(6), ReLU,
               Conv1d(6, 4, 3, bias=False), BatchNorm1d(4), Tanh, AdaptiveAvgPool1d(1), Flatten, Linear(4, 2); x [5, 2, 16]
               (BatchNorm1d on (N, C, L): each channel's statistics over the batch and the
               length; the eval outputs use the running statistics the three steps moved; the
               convolutions have no bias, which the norm after them would cancel, leaving
               its gradient rounding noise that Adam's steps would magnify)
    "bn_block" a residual block written as code, x + tanh(BatchNorm1d(3)(Conv1d(3, 3, 3,
               padding=1, bias=False)(x))), flattened; x [4, 3, 12]
"""

import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_graph_fixtures as graph  # noqa: E402
import make_image_fixtures  # noqa: E402
from make_fixtures import write  # noqa: E402
from make_image_fixtures import BATCH, layer_case, normal, quarters  # noqa: E402

# A convolution's output, input gradient and parameter gradients are sums of products of both
# signs, an average pool's output a sum of both signs: floors, as for the image layers
# (tests/parity_image.rs says why).
CONV_FLOORS = {"output": True, "input_grad": True, "weight": True, "bias": True}
POOL_FLOORS = {"output": True}


class CausalConv1d(nn.Module):
    """nn.Conv1d after F.pad(x, ((K - 1) * D, 0)): output t reads inputs up to t only."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.conv = nn.Conv1d(*args, **kwargs)
        self.left = (self.conv.kernel_size[0] - 1) * self.conv.dilation[0]

    def forward(self, x):
        return self.conv(F.pad(x, (self.left, 0)))


class Flat(nn.Module):
    """CausalConv1d's parameters under the plain layer's names (`weight`, `bias`)."""

    def __init__(self, inner):
        super().__init__()
        self.weight = inner.conv.weight
        self.bias = inner.conv.bias
        self.inner = inner

    def named_parameters(self, *args, **kwargs):
        return [("weight", self.weight), ("bias", self.bias)]

    def forward(self, x):
        return self.inner(x)

    def __repr__(self):
        return f"CausalConv1d({self.inner.conv!r}, F.pad left {self.inner.left})"


def cases(gen):
    """(name, module, how network! spells it, input)."""
    return [
        ("conv1d", nn.Conv1d(2, 3, 3), "Conv1d<2, 3, 3>", normal(gen, BATCH, 2, 9)),
        (
            # 10 with stride 3: the last input is in no window.
            "conv1d_s3_p1",
            nn.Conv1d(3, 4, 4, stride=3, padding=1),
            "Conv1d<3, 4, 4, stride = 3, padding = 1>",
            normal(gen, BATCH, 3, 10),
        ),
        (
            "conv1d_d2_g2_no_bias",
            nn.Conv1d(4, 6, 3, padding=2, dilation=2, groups=2, bias=False),
            "Conv1d<4, 6, 3, padding = 2, dilation = 2, groups = 2, bias = false>",
            normal(gen, BATCH, 4, 11),
        ),
        (
            "conv1d_depthwise",
            nn.Conv1d(3, 3, 5, padding=2, groups=3),
            "Conv1d<3, 3, 5, padding = 2, groups = 3>",
            normal(gen, BATCH, 3, 8),
        ),
        (
            "conv1d_causal_d3",
            Flat(CausalConv1d(2, 4, 3, dilation=3)),
            "Conv1d<2, 4, 3, padding = causal, dilation = 3>",
            normal(gen, BATCH, 2, 12),
        ),
        # Multiples of 1/4: exact ties in a window, where both sides take the first maximum.
        ("max_pool1d_2", nn.MaxPool1d(2), "MaxPool1d<2>", quarters(gen, BATCH, 3, 9)),
        (
            "max_pool1d_3_s2_p1",
            nn.MaxPool1d(3, stride=2, padding=1),
            "MaxPool1d<3, stride = 2, padding = 1>",
            quarters(gen, BATCH, 2, 10),
        ),
        ("avg_pool1d_3", nn.AvgPool1d(3), "AvgPool1d<3>", normal(gen, BATCH, 3, 10)),
        (
            "avg_pool1d_3_s1_p1",
            nn.AvgPool1d(3, stride=1, padding=1),
            "AvgPool1d<3, stride = 1, padding = 1>",
            normal(gen, BATCH, 2, 7),
        ),
        ("adaptive_avg_pool1d", nn.AdaptiveAvgPool1d(1), "AdaptiveAvgPool1d<1>", normal(gen, BATCH, 3, 7)),
    ]


def spotter():
    return nn.Sequential(
        nn.Conv1d(2, 8, 5, stride=2, padding=2),
        nn.Tanh(),
        nn.AvgPool1d(3, stride=1, padding=1),
        nn.Conv1d(8, 8, 3, dilation=2, groups=4, bias=False),
        nn.Tanh(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    )


def conv_bn():
    return nn.Sequential(
        nn.Conv1d(2, 6, 3, padding=1, bias=False),
        nn.BatchNorm1d(6),
        nn.ReLU(),
        nn.Conv1d(6, 4, 3, bias=False),
        nn.BatchNorm1d(4),
        nn.Tanh(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )


class Stack(nn.Module):
    """RTNeural's Conv1D stack, causal, with a dense layer on every step as a 1 × 1
    convolution."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 16, 3)
        self.conv2 = nn.Conv1d(16, 16, 3, dilation=2)
        self.dense = nn.Conv1d(16, 1, 1)

    def forward(self, x):
        x = torch.tanh(self.conv1(F.pad(x, (2, 0))))
        return self.dense(self.conv2(F.pad(x, (4, 0)))).flatten(1)


class ConvGru(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 6, 3, padding=1)
        self.gru = nn.GRU(6, 8, batch_first=True)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        out, _ = self.gru(torch.tanh(self.conv(x)).transpose(1, 2))
        return self.fc(out[:, -1])


class BnBlock(nn.Module):
    """A residual block with a norm over (N, C, L), its forward written as code."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 3, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x):
        return x + torch.tanh(self.bn(self.conv(x)))


ADAM = {"kind": "adam", "lr": 0.01}


def model(name, make, seed, x_shape, out_shape):
    return {
        "name": name,
        "file": f"sequences_{name}",
        "make": make,
        "seed": seed,
        "inputs": lambda: {"x": torch.randn(*x_shape), "target": torch.randn(*out_shape)},
        "forward": lambda m, i: {"out": m(i["x"]).flatten(1)},
        "loss": lambda o, i: F.mse_loss(o["out"], i["target"]),
        "optimizer": ADAM,
    }


MODELS = [
    model("spotter", spotter, 60, (4, 2, 40), (4, 3)),
    model("stack", Stack, 61, (3, 1, 48), (3, 48)),
    model("conv_gru", ConvGru, 62, (4, 3, 20), (4, 2)),
    model("conv_bn", conv_bn, 63, (5, 2, 16), (5, 2)),
    model("bn_block", BnBlock, 64, (4, 3, 12), (4, 36)),
]


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)  # the layers' own initialisation
    gen = torch.Generator().manual_seed(20)
    made = cases(gen)
    for name, *_ in made:
        if name.startswith("conv1d"):
            make_image_fixtures.FLOORS[name] = CONV_FLOORS
        elif name.startswith("avg") or name.startswith("adaptive"):
            make_image_fixtures.FLOORS[name] = POOL_FLOORS
    write(
        "sequence_layers.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "batch": BATCH,
            "cases": [layer_case(*case, gen) for case in made],
        },
    )
    write(
        "sequences.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "steps": graph.STEPS,
            "tolerance_rule": "|a - b| <= tolerance * |b| + tolerance * max|b| over each tensor",
            "models": {spec["name"]: graph.case(spec) for spec in MODELS},
        },
    )


if __name__ == "__main__":
    main()
