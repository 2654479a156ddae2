#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures that tests/parity_nesting.rs checks networks inside
networks against: modules inside modules, with their nested state-dict names.

The tests need no Python: the files are committed. To make them again, from the repository
root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_nesting_fixtures.py

Deterministic (fixed seeds, float32, one thread, PyTorch's deterministic algorithms). It
shares the number format, the JSON writer and the tolerance of tools/make_fixtures.py.

Four models, each as a PyTorch user writes it:
  "autoencoder"  two nn.Sequential modules, `enc` and `dec` (keys enc.0.weight ... dec.2.bias)
  "resnet"       a stem, F.relu, a BatchNorm1d, two named residual blocks (a module with fc1, act, fc2 whose
                 forward is x + fc2(act(fc1(x)))), an inline residual nn.Sequential holding
                 another, and a head (keys res1.fc1.weight, res.2.0.weight, ...)
  "three_level"  Outer(body = Sequential(Inner, ReLU, Inner), out), Inner(a: Linear, b: Sigmoid)
                 (keys body.0.a.weight ...)
  "quickstart"   PyTorch's Quickstart model, `linear_relu_stack = nn.Sequential(Linear, ReLU,
                 Linear, ReLU, Linear)`, with narrower layers (12-16-16-3 instead of
                 784-512-512-10) so that the fixture stays small; the structure and names are
                 the Quickstart's.

For each model, tests/fixtures/nesting_<name>.safetensors holds the initial state dict as
`safetensors.torch.save_file(model.state_dict())` writes it, and tests/fixtures/nesting.json:
  "input", "target"      x [BATCH, IN] and the MSE target [BATCH, OUT]
  "output"               the training-mode output at the initial weights
  "loss"                 MSELoss (mean) of it against the target
  "param_grads"          every parameter's gradient, by PyTorch name, and "input_grad" dL/dx
  "trained"              every state-dict tensor (parameters and BatchNorm's running
                         statistics) after STEPS steps of SGD(lr, momentum 0.9), each step
                         zero_grad, forward in training mode, MSE, backward, step
  "eval_output"          the trained model's output in eval mode

Conditioning: every model is also run in float64 from the same float32 weights and data, and
the script refuses a fixture where PyTorch's float32 result is not within MARGIN tolerances of
float64's, the tolerance being |a - b| <= REL * |b| + REL * max|b| over the tensor (the floor:
every compared quantity here is a sum of products that can cancel).
"""

import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import MARGIN, OUT_DIR, flat64, tensor, tolerance, write, f32  # noqa: E402

BATCH = 6
STEPS = 3
LR = 0.05
MOMENTUM = 0.9


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        self.dec = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 6))

    def forward(self, x):
        return self.dec(self.enc(x))


class Block(nn.Module):
    """A residual block: forward is x + block(x)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 5)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(5, 5)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(x)))


class SequentialResidual(nn.Sequential):
    """An inline residual block: an nn.Sequential whose forward adds its input back."""

    def forward(self, x):
        return x + super().forward(x)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(4, 5)
        self.norm = nn.BatchNorm1d(5)
        self.res1 = Block()
        self.res2 = Block()
        self.res = SequentialResidual(nn.Linear(5, 5), nn.Tanh(), SequentialResidual(nn.Linear(5, 5)))
        self.head = nn.Linear(5, 2)

    def forward(self, x):
        h = self.norm(F.relu(self.stem(x)))
        return self.head(self.res(self.res2(self.res1(h))))


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Sigmoid()

    def forward(self, x):
        return self.b(self.a(x))


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Inner(), nn.ReLU(), Inner())
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.body(x))


class Quickstart(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
        )

    def forward(self, x):
        return self.linear_relu_stack(x)


MODELS = [
    ("autoencoder", AutoEncoder, 6, 6),
    ("resnet", ResNet, 4, 2),
    ("three_level", Outer, 4, 2),
    ("quickstart", Quickstart, 12, 3),
]


def run(model, state, x, t, dtype):
    """Gradients at the initial weights, then STEPS steps of SGD, in `dtype`."""
    m = model().to(dtype)
    m.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()})
    m.train()
    xg = x.to(dtype).clone().requires_grad_(True)
    y = m(xg)
    loss = F.mse_loss(y, t.to(dtype))
    loss.backward()
    out = {
        "output": y.detach(),
        "loss": loss.detach(),
        "input_grad": xg.grad.detach(),
        "param_grads": {n: p.grad.detach().clone() for n, p in m.named_parameters()},
    }
    opt = torch.optim.SGD(m.parameters(), lr=LR, momentum=MOMENTUM)
    opt.step()
    for _ in range(STEPS - 1):
        opt.zero_grad()
        F.mse_loss(m(x.to(dtype)), t.to(dtype)).backward()
        opt.step()
    out["trained"] = {k: v.detach().clone() for k, v in m.state_dict().items() if v.is_floating_point()}
    m.eval()
    with torch.no_grad():
        out["eval_output"] = m(x.to(dtype))
    return out


def certify(name, r32, r64):
    pairs = [(k, r32[k], r64[k]) for k in ("output", "loss", "input_grad", "eval_output")]
    pairs += [(f"grad {n}", r32["param_grads"][n], r64["param_grads"][n]) for n in r32["param_grads"]]
    pairs += [(f"trained {n}", r32["trained"][n], r64["trained"][n]) for n in r32["trained"]]
    worst = 0.0
    for what, got, ref in pairs:
        got, ref = flat64(got, 1), flat64(ref, 1)
        ratio = ((got - ref).abs() / tolerance(ref, True)).nan_to_num(0.0).max().item()
        if not ratio <= MARGIN:
            raise AssertionError(f"{name}: {what}: float32 is {ratio:.2f} tolerances from float64")
        worst = max(worst, ratio)
    return worst


def case(name, model, n_in, n_out, seed):
    torch.manual_seed(seed)
    m = model()
    state = {k: v.detach().clone().contiguous() for k, v in m.state_dict().items()}
    save_file(state, os.path.join(OUT_DIR, f"nesting_{name}.safetensors"))
    gen = torch.Generator().manual_seed(seed + 100)
    x = torch.randn(BATCH, n_in, generator=gen)
    t = torch.randn(BATCH, n_out, generator=gen)
    r32 = run(model, state, x, t, torch.float32)
    r64 = run(model, state, x, t, torch.float64)
    worst = certify(name, r32, r64)
    print(f"  {name}: float32 within {worst:.3f} tolerances of float64")
    return {
        "name": name,
        "torch": repr(m),
        "keys": list(state.keys()),
        "input": tensor(x),
        "target": tensor(t),
        "output": tensor(r32["output"]),
        "loss": f32(r32["loss"].item()),
        "input_grad": tensor(r32["input_grad"]),
        "param_grads": [{"name": n, **tensor(g)} for n, g in r32["param_grads"].items()],
        "trained": [{"name": n, **tensor(v)} for n, v in r32["trained"].items()],
        "eval_output": tensor(r32["eval_output"]),
    }


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    cases = [case(name, model, n_in, n_out, 20 + i) for i, (name, model, n_in, n_out) in enumerate(MODELS)]
    write(
        "nesting.json",
        {"batch": BATCH, "steps": STEPS, "lr": f32(LR), "momentum": f32(MOMENTUM), "cases": cases},
    )


if __name__ == "__main__":
    main()
