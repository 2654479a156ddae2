#!/usr/bin/env python3
"""Writes the PyTorch parity fixture that tests/parity_layers.rs checks the width-keeping layers
against: LeakyReLU, ELU, GELU (exact and tanh), SiLU, Softmax, LogSoftmax, Identity, LayerNorm,
ReLU6, Hardsigmoid, Hardswish
and Dropout, each alone.

The tests need no Python: the JSON file is committed. To make it again, from the repository
root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_layer_fixtures.py

The script is deterministic (fixed seeds, float32, one thread, PyTorch's deterministic
algorithms), so rerunning it with the pinned PyTorch rewrites the same bytes. It shares the
number format, the JSON writer and the tolerance of tools/make_fixtures.py (imported from it):
every number is written with the fewest digits that read back to the same float32.

What it writes into tests/fixtures/layers.json: "cases", one per layer configuration, each with
  "name"          the case, which tests/parity_layers.rs maps to a Rust type
  "torch"         the PyTorch module, as repr() prints it
  "network"       how `network!` spells the same layer
  "input"         x, [BATCH, WIDTH], float32; special values in its first rows (see inputs())
  "upstream"      c, the gradient of the loss with respect to the output: the checked function
                  is L = sum(c * layer(x)), as in tests/gradients.rs
  "output"        layer(x) in training mode
  "input_grad"    dL/dx
  "params"        for LayerNorm, weight and bias as the test must set them (moved off PyTorch's
                  1 and 0 so that the affine part is checked), and "param_grads" dL/dweight, dL/dbias
one "residual" entry: a network with a residual block, `Linear(6, 8), Tanh, Residual(Linear(8, 8),
Sigmoid, Linear(8, 8)), Linear(8, 3)` (PyTorch: out(h + block(h)) with h = tanh(fc0(x))), with
its parameters in order, x, c, the output, dL/dx and every parameter's gradient; and one "dropout" entry: PyTorch's own mask is random, so the test cannot reproduce it. The
entry holds p, x, c, PyTorch's training output y (from which the test reads the mask: x has no
zeros) and dL/dx; the test checks that its scale 1/(1 - p) is PyTorch's and that its backward,
given that mask, gives PyTorch's dL/dx.

Conditioning. As in tools/make_fixtures.py, every case is computed again in float64 from the
same float32 input, and the script refuses a fixture where PyTorch's float32 result is not
within MARGIN (one half) of the test's tolerance of float64's: then PyTorch and any correct
float32 implementation lie within one tolerance of each other, and a failure in the test means
a wrong formula. The tolerance is |a - b| <= REL * |b| + floor, with floor = REL * max|b| over
the tensor where FLOORS below says so (tests/parity_layers.rs states the same floors, with the
reason for each). The inputs are exact float32 data, so only the layer itself rounds and no
perturbation is needed (as for the losses in tools/make_fixtures.py).
"""

import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import MARGIN, REL, f32, flat64, tensor, tolerance, write  # noqa: E402

BATCH = 8
WIDTH = 10

# Which compared tensors have an absolute floor (tests/parity_layers.rs says why each one needs
# it); every other tensor is compared relatively alone. Each floor here is needed: without it,
# PyTorch's own float32 result is more than MARGIN tolerances from float64's.
FLOORS = {
    # Sums of 6 or 8 products that can cancel, through two layers.
    "residual": {"output": True, "input_grad": True, "param_grads": True},
    "gelu": {"output": True, "input_grad": True},
    "gelu_tanh": {"output": True, "input_grad": True},
    "silu": {"input_grad": True},
    "softmax": {"input_grad": True},
    "layer_norm": {"output": True, "input_grad": True},
}


def elementwise_input(gen):
    """Standard normal times 2, with the places where the functions differ in the first rows:
    the kink at 0 (both signs of zero), the tails where erf and tanh saturate and exp
    underflows, and points either side of the zero of GELU's and SiLU's derivatives."""
    x = torch.randn(BATCH, WIDTH, generator=gen) * 2
    x[0] = torch.tensor([0.0, -0.0, 1e-3, -1e-3, 5.0, -5.0, 10.0, -10.0, 20.0, -20.0])
    x[1] = torch.tensor([-0.75, -0.76, -1.27, -1.28, 3.0, -3.0, 1e-6, -1e-6, 88.0, -88.0])
    return x


def softmax_input(gen):
    """Ordinary rows, plus rows whose naive exp overflows (logits of 1e4) and a row of
    ordinary spread around a large offset, which only max-subtraction gets right."""
    x = torch.randn(BATCH, WIDTH, generator=gen) * 3
    x[0] = torch.tensor([1e4, -1e4, 0.0, 5.0, -5.0, 1e4, 3.0, -3.0, 0.5, 1e4])
    x[1] = torch.tensor([-1e4, 1e4 - 2, 1e4 - 1, 0.0, -1e4, 1e4 - 3, 1e4, 1e4 - 0.5, 20.0, -20.0])
    x[2] = torch.randn(WIDTH, generator=gen) * 2 + 1e4
    return x


def layer_norm_input(gen):
    """Ordinary rows, and rows far from zero mean (offsets 10 and -50), which a one-pass
    variance E[x^2] - E[x]^2 would get wrong."""
    x = torch.randn(BATCH, WIDTH, generator=gen) * 1.5
    x[0] += 10.0
    x[1] -= 50.0
    return x


def cases(gen):
    """(name, module, how network! spells it, input)."""
    ew = elementwise_input(gen)
    return [
        ("leaky_relu", nn.LeakyReLU(), "LeakyReLU", ew),
        ("leaky_relu_0_2", nn.LeakyReLU(0.2), "LeakyReLU<0.2>", ew),
        ("elu", nn.ELU(), "ELU", ew),
        ("elu_0_5", nn.ELU(alpha=0.5), "ELU<0.5>", ew),
        ("gelu", nn.GELU(), "GELU", ew),
        ("gelu_tanh", nn.GELU(approximate="tanh"), "GELU<tanh>", ew),
        ("silu", nn.SiLU(), "SiLU", ew),
        ("softmax", nn.Softmax(dim=1), "Softmax", softmax_input(gen)),
        ("log_softmax", nn.LogSoftmax(dim=1), "LogSoftmax", softmax_input(gen)),
        ("identity", nn.Identity(), "Identity", ew),
        ("layer_norm", nn.LayerNorm(WIDTH), f"LayerNorm<{WIDTH}>", layer_norm_input(gen)),
        ("relu6", nn.ReLU6(), "ReLU6", ew),
        ("hardsigmoid", nn.Hardsigmoid(), "Hardsigmoid", ew),
        ("hardswish", nn.Hardswish(), "Hardswish", ew),
    ]


def run(module, x, c, dtype):
    """The layer's output, dL/dx and parameter gradients, in `dtype`."""
    m = module.to(dtype)
    m.train()
    m.zero_grad()
    x = x.detach().to(dtype).clone().requires_grad_(True)
    y = m(x)
    y.backward(c.to(dtype))
    grads = {n: p.grad.detach().clone() for n, p in m.named_parameters()}
    return {"output": y.detach(), "input_grad": x.grad.detach(), "param_grads": grads}


def certify(name, r32, r64):
    """Refuses the case unless PyTorch's float32 result is within MARGIN tolerances of
    float64's; returns the largest share of a tolerance used."""
    floors = FLOORS.get(name, {})
    pairs = [("output", r32["output"], r64["output"]), ("input_grad", r32["input_grad"], r64["input_grad"])]
    pairs += [("param_grads", r32["param_grads"][n], r64["param_grads"][n]) for n in r32["param_grads"]]
    worst = 0.0
    for what, got, ref in pairs:
        got, ref = flat64(got, 1), flat64(ref, 1)
        ratio = ((got - ref).abs() / tolerance(ref, floors.get(what, False))).nan_to_num(0.0).max().item()
        if not ratio <= MARGIN:
            raise AssertionError(f"{name}: {what}: float32 is {ratio:.2f} tolerances from float64")
        worst = max(worst, ratio)
    return worst


def layer_case(name, module, network, x, gen):
    c = torch.randn(x.shape, generator=gen)
    params = []
    if isinstance(module, nn.LayerNorm):
        with torch.no_grad():
            module.weight.copy_(1 + 0.5 * torch.randn(WIDTH, generator=gen))
            module.bias.copy_(0.5 * torch.randn(WIDTH, generator=gen))
        params = [{"name": n, **tensor(p)} for n, p in module.named_parameters()]
    torch_repr = repr(module)
    r64 = run(module, x, c, torch.float64)
    r32 = run(module, x, c, torch.float32)
    worst = certify(name, r32, r64)
    print(f"  {name}: float32 within {worst:.3f} tolerances of float64")
    case = {
        "name": name,
        "torch": torch_repr,
        "network": network,
        "input": tensor(x),
        "upstream": tensor(c),
        "output": tensor(r32["output"]),
        "input_grad": tensor(r32["input_grad"]),
    }
    if params:
        case["params"] = params
        case["param_grads"] = [{"name": n, **tensor(g)} for n, g in r32["param_grads"].items()]
    return case


class Residual(nn.Module):
    """`Linear(6, 8), Tanh, Residual<Linear(8, 8), Sigmoid, Linear(8, 8)>, Linear(8, 3)`: the
    block's output is added to its input."""

    def __init__(self):
        super().__init__()
        self.fc0 = nn.Linear(6, 8)
        self.act = nn.Tanh()
        self.block = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8))
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        h = self.act(self.fc0(x))
        return self.out(h + self.block(h))


def residual_case(gen):
    torch.manual_seed(11)
    m = Residual()
    x = torch.randn(BATCH, 6, generator=gen)
    c = torch.randn(BATCH, 3, generator=gen)
    r64 = run(m, x, c, torch.float64)
    r32 = run(m, x, c, torch.float32)
    worst = certify("residual", r32, r64)
    print(f"  residual: float32 within {worst:.3f} tolerances of float64")
    return {
        "torch": repr(m),
        "params": [{"name": n, **tensor(p)} for n, p in m.named_parameters()],
        "input": tensor(x),
        "upstream": tensor(c),
        "output": tensor(r32["output"]),
        "input_grad": tensor(r32["input_grad"]),
        "param_grads": [{"name": n, **tensor(g)} for n, g in r32["param_grads"].items()],
    }


def dropout_case(gen):
    p = 0.3
    torch.manual_seed(7)
    x = torch.randn(BATCH, WIDTH, generator=gen)
    if (x == 0).any():
        raise AssertionError("dropout input has a zero: the mask could not be read from the output")
    c = torch.randn(x.shape, generator=gen)
    m = nn.Dropout(p)
    m.train()
    xg = x.clone().requires_grad_(True)
    y = m(xg)
    y.backward(c)
    kept = (y != 0).sum().item()
    if not 0 < kept < x.numel():
        raise AssertionError("dropout kept all or nothing")
    return {
        "torch": repr(m),
        "network": "Dropout<0.3>",
        "p": f32(p),
        "input": tensor(x),
        "upstream": tensor(c),
        "output": tensor(y.detach()),
        "input_grad": tensor(xg.grad),
    }


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    gen = torch.Generator().manual_seed(5)
    out = [layer_case(*case, gen) for case in cases(gen)]
    write(
        "layers.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "batch": BATCH,
            "width": WIDTH,
            "cases": out,
            "dropout": dropout_case(gen),
            "residual": residual_case(gen),
        },
    )


if __name__ == "__main__":
    main()
