#!/usr/bin/env python3
"""Writes tests/fixtures/loss_reductions.json and tests/fixtures/init.json: PyTorch's values for
every loss of `nn::loss` under each reduction ('mean', 'sum', 'none'), for BCELoss on
probabilities, and for torch.nn.init's fans, gains and initialisers' bounds, for the parity
tests of those features to read.

The tests need no Python: the files are committed. To make them again, from the repository root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_loss_fixtures.py

Deterministic (fixed seeds, float32, one thread, PyTorch's deterministic algorithms). It shares
the number format, the JSON writer and the tolerance of tools/make_fixtures.py.

What it holds:
  loss_reductions.json  "losses": every loss of nn::loss (MSELoss, L1Loss, SmoothL1Loss,
                        BCEWithLogitsLoss, BCELoss, CrossEntropyLoss on int64 indices and on
                        probabilities, with and without label smoothing, NLLLoss) under each
                        reduction, 'mean', 'sum' and 'none': the input, the target, the value
                        (a number, or for 'none' a tensor of the target's or the batch's shape)
                        and the input's gradient, for 'none' that of loss.backward(ones), as
                        `(loss * 1).sum()` gives it. BCELoss's inputs include 0 and 1 exactly,
                        where PyTorch clamps log to -100 and the gradient's denominator to 1e-12.
  init.json             "fans": torch.nn.init's fan_in and fan_out for Linear and Conv2d weight
                        shapes; "gains": calculate_gain for each nonlinearity; "init": for each
                        initialiser and shape, the bound (uniform) or standard deviation
                        (normal) that PyTorch's formula gives, and the mean, standard deviation,
                        minimum and maximum of a large tensor PyTorch drew with it. (The draws
                        themselves differ: `nn`'s generator is not PyTorch's.)

Conditioning: each loss is computed again in float64 from the same float32 data, and a case
where PyTorch's float32 result is not within MARGIN tolerances of float64's is refused, as in
make_fixtures.py.
"""

import math
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import MARGIN, f32, flat64, floats_to_f32, tensor, tolerance, write  # noqa: E402

REDUCTIONS = ("mean", "sum", "none")


def loss_and_grad(module, x, target, dtype):
    x = x.detach().to(dtype).clone().requires_grad_(True)
    value = module(x, target.to(dtype) if target.is_floating_point() else target)
    value.backward(torch.ones_like(value))
    return value.detach(), x.grad


def case(name, spec, make, x, target):
    """One loss under each reduction, certified against float64."""
    out = []
    for reduction in REDUCTIONS:
        module = make(reduction)
        value, grad = loss_and_grad(module, x, target, torch.float32)
        value64, grad64 = loss_and_grad(module, x, target, torch.float64)
        for what, got, ref, floor in [
            ("value", value, value64, reduction == "none"),
            ("gradient", grad, grad64, True),
        ]:
            ref = flat64(ref, 1)
            ratio = ((flat64(got, 1) - ref).abs() / tolerance(ref, floor)).max().item()
            if not ratio <= MARGIN:
                raise AssertionError(f"{name}/{reduction}: {what}: float32 is {ratio:.2f} tolerances from float64")
        if target.dtype == torch.int64:
            t = [int(v) for v in target.tolist()]
        else:
            t = tensor(target)
        out.append(
            {
                "name": f"{name}/{reduction}",
                "loss": floats_to_f32({**spec, "reduction": reduction}),
                "input": tensor(x),
                "target": t,
                "value": tensor(value) if reduction == "none" else f32(value.item()),
                "grad": tensor(grad),
            }
        )
    return out


def losses_fixture():
    torch.manual_seed(41)
    cases = []
    x = torch.randn(6, 5) * 2
    t = torch.randn(6, 5)
    cases += case("mse", {"kind": "mse"}, lambda r: nn.MSELoss(reduction=r), x, t)

    x = torch.randn(6, 5) * 2
    t = torch.randn(6, 5)
    t[0, :3] = x[0, :3]
    cases += case("l1", {"kind": "l1"}, lambda r: nn.L1Loss(reduction=r), x, t)

    for beta in (1.0, 0.5):
        x = torch.randn(6, 5) * 1.5
        t = torch.randn(6, 5)
        spec = {"kind": "smooth_l1", "beta": beta}
        cases += case(f"smooth_l1_beta_{beta}".replace(".", "_"), spec, lambda r, b=beta: nn.SmoothL1Loss(reduction=r, beta=b), x, t)

    x = torch.randn(6, 4) * 3
    t = torch.rand(6, 4)
    t[0] = torch.tensor([0.0, 1.0, 1.0, 0.0])
    cases += case("bce_with_logits", {"kind": "bce_with_logits"}, lambda r: nn.BCEWithLogitsLoss(reduction=r), x, t)

    # Probabilities in (0, 1), and 0 and 1 exactly: log(0) is clamped to -100, and the
    # gradient's denominator p (1 - p) to 1e-12.
    p = torch.sigmoid(torch.randn(6, 4) * 2)
    t = torch.rand(6, 4)
    p[0] = torch.tensor([0.0, 1.0, 0.0, 1.0])
    t[0] = torch.tensor([0.0, 1.0, 0.25, 0.75])
    p[1, 0], t[1, 0] = 1e-30, 1.0
    cases += case("bce", {"kind": "bce"}, lambda r: nn.BCELoss(reduction=r), p, t)

    x = torch.randn(7, 5) * 3
    t = torch.tensor([1, 2, 3, 0, 4, 4, 2])
    for eps in (0.0, 0.1):
        spec = {"kind": "cross_entropy", "label_smoothing": eps}
        suffix = "" if eps == 0.0 else "_label_smoothing_0_1"
        cases += case("cross_entropy_int64" + suffix, spec, lambda r, e=eps: nn.CrossEntropyLoss(reduction=r, label_smoothing=e), x, t)
        probs = F.softmax(torch.randn(7, 5), dim=1)
        cases += case(
            "cross_entropy_probabilities" + suffix,
            spec,
            lambda r, e=eps: nn.CrossEntropyLoss(reduction=r, label_smoothing=e),
            x,
            probs,
        )
    log_probs = F.log_softmax(torch.randn(7, 5) * 3, dim=1).detach()
    cases += case("nll", {"kind": "nll"}, lambda r: nn.NLLLoss(reduction=r), log_probs, t)
    return cases


# ---------------------------------------------------------------------------------------------
# Initialisers

SHAPES = [[128, 784], [10, 128], [16, 8, 3, 3], [8, 1, 5, 5]]
NONLINEARITIES = [
    ("linear", None),
    ("conv2d", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0.2),
    ("selu", None),
]
DRAW = 200_000


def stats(t):
    t = t.to(torch.float64)
    return {
        "mean": f32(t.mean().item()),
        "std": f32(t.std().item()),
        "min": f32(t.min().item()),
        "max": f32(t.max().item()),
    }


def init_fixture():
    torch.manual_seed(42)
    fans = []
    for shape in SHAPES:
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        fans.append({"shape": shape, "fan_in": fan_in, "fan_out": fan_out})
    gains = [
        {"nonlinearity": n, "param": None if p is None else f32(p), "gain": f32(nn.init.calculate_gain(n, p))}
        for n, p in NONLINEARITIES
    ]
    cases = []
    # A large tensor for the statistics, with the fans of each shape: the formula takes only
    # the fans, so a [DRAW / fan_in, fan_in] tensor draws as the shape's would, more often.
    for shape in SHAPES:
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        for kind, kwargs in [
            ("kaiming_uniform", {"a": math.sqrt(5)}),
            ("kaiming_uniform", {"a": 0.0, "mode": "fan_out", "nonlinearity": "relu"}),
            ("kaiming_normal", {"a": 0.0, "mode": "fan_in", "nonlinearity": "relu"}),
            ("kaiming_normal", {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"}),
            ("xavier_uniform", {"gain": 1.0}),
            ("xavier_normal", {"gain": nn.init.calculate_gain("tanh")}),
        ]:
            if kind.startswith("kaiming"):
                fan = fan_in if kwargs.get("mode", "fan_in") == "fan_in" else fan_out
                gain = nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs["a"])
                std = gain / math.sqrt(fan)
            else:
                std = kwargs["gain"] * math.sqrt(2.0 / (fan_in + fan_out))
            bound = math.sqrt(3.0) * std
            w = torch.empty(shape)
            getattr(nn.init, kind + "_")(w, **kwargs)
            big = torch.empty(DRAW)
            if kind.endswith("uniform"):
                big.uniform_(-bound, bound)
            else:
                big.normal_(0.0, std)
            # The shape's own draw, checked against the formula (PyTorch's fans and gain).
            lo, hi = w.min().item(), w.max().item()
            if kind.endswith("uniform") and not (-bound <= lo and hi <= bound):
                raise AssertionError(f"{kind} {shape}: draws outside the bound")
            cases.append(
                {
                    "name": f"{kind}/{'x'.join(map(str, shape))}/{len(cases)}",
                    "kind": kind,
                    "shape": shape,
                    "args": floats_to_f32(kwargs),
                    "std": f32(std),
                    "bound": f32(bound),
                    "draw": stats(big),
                }
            )
    big = torch.empty(DRAW)
    for kind, args, draw in [
        ("normal", {"mean": 0.5, "std": 2.0}, lambda t: t.normal_(0.5, 2.0)),
        ("uniform", {"a": -0.25, "b": 0.75}, lambda t: t.uniform_(-0.25, 0.75)),
        ("randn", {}, lambda t: t.copy_(torch.randn(DRAW))),
    ]:
        draw(big)
        cases.append({"name": kind, "kind": kind, "args": floats_to_f32(args), "draw": stats(big)})
    return {"fans": fans, "gains": gains, "init": cases, "draw": DRAW}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    version = torch.__version__.split("+")[0]
    write("loss_reductions.json", {"torch_version": version, "losses": losses_fixture()})
    write("init.json", {"torch_version": version, **init_fixture()})


if __name__ == "__main__":
    main()
