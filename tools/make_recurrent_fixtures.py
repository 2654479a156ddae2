#!/usr/bin/env python3
"""Writes the PyTorch parity fixture that tests/parity_recurrent.rs checks `GRU`, `LSTM` and
`Embedding` against.

The tests need no Python: the JSON file is committed. To make it again, from the repository
root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_recurrent_fixtures.py

Deterministic (fixed seeds, float32, one thread).

What it writes into tests/fixtures/recurrent.json:

"recurrent": one case per layer and size, nn.GRU or nn.LSTM(IN, H, num_layers=L,
batch_first=True) with PyTorch's own initialisation, on a batch x of [B, T, IN] standard
normals:
    "kind", "in", "hidden", "steps", "batch", "layers"
    "params"       the initial state_dict: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
                   and weight_ih_l1, ... for the layers above the first
    "input"        x
    "output"       out, [B, T, H], every step's hidden state
    "last"         out[:, -1], [B, H]
    "h_n"          the last hidden state, [B, H] (and "c_n", the last cell state, for an LSTM);
                   in a stack every layer's, [L, B, H]
    "upstream"     c, [B, T, H]: the gradient of L = sum(c * out) with respect to out
    "grads"        dL/dparam for each parameter, and "input_grad" dL/dx
    "upstream_last", "grads_last", "input_grad_last"   the same for L = sum(c' * out[:, -1])
    "adam"         "target" y [B, H]; then 3 steps of Adam(lr=0.01), each zero_grad,
                   L = MSELoss(out[:, -1], y), backward, step, from the initial parameters:
                   "losses" (before each step) and "params" after the last

"embedding": nn.Embedding(V, D) and nn.Embedding(V, D, padding_idx=P), with PyTorch's
initialisation (normal, the padding row zero), on indices [B, L] that include P and repeats:
    "vocab", "dim", "length", "batch", "padding_idx" (or null)
    "weight", "indices" (as float32, the way the Rust layer takes them), "output" [B, L, D],
    "upstream", "weight_grad" (the padding row's gradient is zero), and "adam" as above with
    L = MSELoss(embedding(indices), y) over the whole output

"from_state": nn.GRU and nn.LSTM called with their initial state, gru(x, h0) and
lstm(x, (h0, c0)), h0 and c0 [L, B, H] standard normals, one layer and two:
    "kind", "in", "hidden", "steps", "batch", "layers", "params", "input", "h0" (and "c0"),
    "upstream" c [B, T, H], "output", and for L = sum(c * out): "grads", "input_grad",
    "h0_grad" (and "c0_grad"), [L, B, H]

"stacked_baked": a network of PyTorch's, LSTM(3, 6, num_layers=2) → GRU(6, 5, num_layers=3)
→ Linear(5, 2) on the GRU's last step, saved as tests/fixtures/recurrent_stacked.safetensors
(`lstm.weight_ih_l1`, `gru.bias_hh_l2`, ...), with "input" [B, 4, 3] and its "output" [B, 2].

"baked": a network of PyTorch's, Embedding(10, 4) → LSTM(4, 6) → GRU(6, 5) → Linear(5, 2) on
the GRU's last step, its state_dict saved as tests/fixtures/recurrent_baked.safetensors (the
names `emb.weight`, `lstm.weight_ih_l0`, ..., `fc.bias`) for `#[weights]`, with "input"
(indices [B, 3] as float32) and its "output" [B, 2].

Conditioning. Every case is run again in float64 from the same float32 start; the script
refuses to write a number whose float32 value is not within half of the test's tolerance of
float64's (rel 1e-5, plus an absolute floor of 1e-5 times the tensor's largest magnitude, for
elements near zero through cancellation), so that a failure in the Rust test points at a
formula and not at rounding.
"""

import copy
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import f32, tensor, write  # noqa: E402

REL = 1e-5
ADAM_STEPS = 3
LR = 0.01

# (kind, IN, H, T, B, seed, num_layers)
RECURRENT = [
    ("gru", 3, 5, 4, 2, 1, 1),
    ("gru", 8, 16, 12, 3, 2, 1),
    ("lstm", 3, 5, 4, 2, 3, 1),
    ("lstm", 8, 16, 12, 3, 4, 1),
    ("gru", 3, 5, 4, 2, 8, 2),
    ("gru", 4, 6, 5, 3, 9, 3),
    ("lstm", 3, 5, 4, 2, 10, 2),
    ("lstm", 4, 6, 5, 3, 11, 3),
]

# (V, D, L, B, padding_idx, seed)
EMBEDDING = [
    (10, 4, 5, 3, None, 5),
    (10, 4, 5, 3, 0, 6),
]


def check(name, got32, want64):
    """Refuses a float32 result further than half a tolerance from float64's."""
    got = got32.detach().double()
    want = want64.detach()
    floor = REL * want.abs().max().item()
    tol = 0.5 * (REL * want.abs() + floor)
    bad = (got - want).abs() > tol
    if bad.any():
        i = bad.nonzero()[0].tolist()
        raise AssertionError(
            f"{name}: float32 {got[tuple(i)].item()} is not within half a tolerance of "
            f"float64 {want[tuple(i)].item()} at {i}"
        )


def recurrent_run(kind, module, x, upstream, upstream_last, target, dtype):
    """Forward, both gradients and the Adam steps, in `dtype`."""
    m = copy.deepcopy(module).to(dtype)
    out = {}
    xs = x.to(dtype).detach().clone().requires_grad_()
    y, state = m(xs)
    out["output"] = y
    out["last"] = y[:, -1]
    if kind == "lstm" and m.num_layers > 1:
        out["h_n"], out["c_n"] = state[0], state[1]
    elif kind == "lstm":
        out["h_n"], out["c_n"] = state[0][0], state[1][0]
    elif m.num_layers > 1:
        out["h_n"] = state
    else:
        out["h_n"] = state[0]
    (y * upstream.to(dtype)).sum().backward()
    out["grads"] = {k: p.grad.clone() for k, p in m.named_parameters()}
    out["input_grad"] = xs.grad.clone()
    m.zero_grad()
    xs = x.to(dtype).detach().clone().requires_grad_()
    y, _ = m(xs)
    (y[:, -1] * upstream_last.to(dtype)).sum().backward()
    out["grads_last"] = {k: p.grad.clone() for k, p in m.named_parameters()}
    out["input_grad_last"] = xs.grad.clone()
    m = copy.deepcopy(module).to(dtype)
    opt = torch.optim.Adam(m.parameters(), lr=LR)
    losses = []
    for _ in range(ADAM_STEPS):
        opt.zero_grad()
        y, _ = m(x.to(dtype))
        loss = nn.functional.mse_loss(y[:, -1], target.to(dtype))
        losses.append(loss.detach())
        loss.backward()
        opt.step()
    out["losses"] = torch.stack(losses)
    out["after"] = {k: p.detach().clone() for k, p in m.named_parameters()}
    return out


def recurrent_case(kind, n_in, hidden, steps, batch, seed, layers):
    torch.manual_seed(seed)
    module = (nn.GRU if kind == "gru" else nn.LSTM)(
        n_in, hidden, num_layers=layers, batch_first=True
    )
    x = torch.randn(batch, steps, n_in)
    upstream = torch.randn(batch, steps, hidden)
    upstream_last = torch.randn(batch, hidden)
    target = torch.randn(batch, hidden)
    r32 = recurrent_run(kind, module, x, upstream, upstream_last, target, torch.float32)
    r64 = recurrent_run(kind, module, x, upstream, upstream_last, target, torch.float64)
    name = f"{kind} {n_in}→{hidden} × {steps}, {layers} layers"
    for key in ("output", "last", "h_n", "c_n", "input_grad", "input_grad_last", "losses"):
        if key in r32:
            check(f"{name} {key}", r32[key], r64[key])
    for group in ("grads", "grads_last", "after"):
        for k in r32[group]:
            check(f"{name} {group} {k}", r32[group][k], r64[group][k])
    case = {
        "kind": kind,
        "in": n_in,
        "hidden": hidden,
        "steps": steps,
        "batch": batch,
        "layers": layers,
        "params": {k: tensor(v) for k, v in module.state_dict().items()},
        "input": tensor(x),
        "upstream": tensor(upstream),
        "upstream_last": tensor(upstream_last),
    }
    for key in ("output", "last", "h_n", "c_n", "input_grad", "input_grad_last"):
        if key in r32:
            case[key] = tensor(r32[key])
    case["grads"] = {k: tensor(v) for k, v in r32["grads"].items()}
    case["grads_last"] = {k: tensor(v) for k, v in r32["grads_last"].items()}
    case["adam"] = {
        "lr": f32(LR),
        "target": tensor(target),
        "losses": tensor(r32["losses"]),
        "params": {k: tensor(v) for k, v in r32["after"].items()},
    }
    return case


def from_state_run(kind, module, x, h0, c0, upstream, dtype):
    m = copy.deepcopy(module).to(dtype)
    xs = x.to(dtype).detach().clone().requires_grad_()
    hs = h0.to(dtype).detach().clone().requires_grad_()
    if kind == "lstm":
        cs = c0.to(dtype).detach().clone().requires_grad_()
        y, _ = m(xs, (hs, cs))
    else:
        y, _ = m(xs, hs)
    (y * upstream.to(dtype)).sum().backward()
    out = {
        "output": y,
        "input_grad": xs.grad.clone(),
        "h0_grad": hs.grad.clone(),
        "grads": {k: p.grad.clone() for k, p in m.named_parameters()},
    }
    if kind == "lstm":
        out["c0_grad"] = cs.grad.clone()
    return out


def from_state_case(kind, n_in, hidden, steps, batch, seed, layers):
    torch.manual_seed(seed)
    module = (nn.GRU if kind == "gru" else nn.LSTM)(
        n_in, hidden, num_layers=layers, batch_first=True
    )
    x = torch.randn(batch, steps, n_in)
    h0 = torch.randn(layers, batch, hidden)
    c0 = torch.randn(layers, batch, hidden)
    upstream = torch.randn(batch, steps, hidden)
    r32 = from_state_run(kind, module, x, h0, c0, upstream, torch.float32)
    r64 = from_state_run(kind, module, x, h0, c0, upstream, torch.float64)
    name = f"{kind} {n_in}→{hidden} × {steps}, {layers} layers, from a given state"
    for key in ("output", "input_grad", "h0_grad", "c0_grad"):
        if key in r32:
            check(f"{name} {key}", r32[key], r64[key])
    for k in r32["grads"]:
        check(f"{name} grads {k}", r32["grads"][k], r64["grads"][k])
    case = {
        "kind": kind,
        "in": n_in,
        "hidden": hidden,
        "steps": steps,
        "batch": batch,
        "layers": layers,
        "params": {k: tensor(v) for k, v in module.state_dict().items()},
        "input": tensor(x),
        "h0": tensor(h0),
        "upstream": tensor(upstream),
        "grads": {k: tensor(v) for k, v in r32["grads"].items()},
    }
    if kind == "lstm":
        case["c0"] = tensor(c0)
    for key in ("output", "input_grad", "h0_grad", "c0_grad"):
        if key in r32:
            case[key] = tensor(r32[key])
    return case


# (kind, IN, H, T, B, seed, num_layers)
FROM_STATE = [
    ("gru", 3, 5, 4, 2, 13, 1),
    ("gru", 3, 5, 4, 2, 14, 2),
    ("lstm", 3, 5, 4, 2, 15, 1),
    ("lstm", 3, 5, 4, 2, 16, 2),
]


def embedding_run(module, idx, upstream, target, dtype):
    m = copy.deepcopy(module).to(dtype)
    y = m(idx)
    (y * upstream.to(dtype)).sum().backward()
    out = {"output": y, "weight_grad": m.weight.grad.clone()}
    m = copy.deepcopy(module).to(dtype)
    opt = torch.optim.Adam(m.parameters(), lr=LR)
    losses = []
    for _ in range(ADAM_STEPS):
        opt.zero_grad()
        loss = nn.functional.mse_loss(m(idx), target.to(dtype))
        losses.append(loss.detach())
        loss.backward()
        opt.step()
    out["losses"] = torch.stack(losses)
    out["after"] = m.weight.detach().clone()
    return out


def embedding_case(vocab, dim, length, batch, padding_idx, seed):
    torch.manual_seed(seed)
    module = nn.Embedding(vocab, dim, padding_idx=padding_idx)
    idx = torch.randint(0, vocab, (batch, length))
    # The padding index (or 0) and a repeat in every case.
    idx[0, 1] = 0 if padding_idx is None else padding_idx
    idx[1, 2] = idx[0, 0]
    upstream = torch.randn(batch, length, dim)
    target = torch.randn(batch, length, dim)
    r32 = embedding_run(module, idx, upstream, target, torch.float32)
    r64 = embedding_run(module, idx, upstream, target, torch.float64)
    for key in ("output", "weight_grad", "losses", "after"):
        check(f"embedding {key}", r32[key], r64[key])
    return {
        "vocab": vocab,
        "dim": dim,
        "length": length,
        "batch": batch,
        "padding_idx": padding_idx,
        "weight": tensor(module.weight),
        "indices": tensor(idx.float()),
        "output": tensor(r32["output"]),
        "upstream": tensor(upstream),
        "weight_grad": tensor(r32["weight_grad"]),
        "adam": {
            "lr": f32(LR),
            "target": tensor(target),
            "losses": tensor(r32["losses"]),
            "weight": tensor(r32["after"]),
        },
    }


class Baked(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, idx):
        y, _ = self.lstm(self.emb(idx))
        y, _ = self.gru(y)
        return self.fc(y[:, -1])


class StackedBaked(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 6, num_layers=2, batch_first=True)
        self.gru = nn.GRU(6, 5, num_layers=3, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        y, _ = self.lstm(x)
        y, _ = self.gru(y)
        return self.fc(y[:, -1])


def stacked_baked_case():
    from safetensors.torch import save_file

    torch.manual_seed(12)
    model = StackedBaked()
    x = torch.randn(3, 4, 3)
    out = model(x)
    out64 = copy.deepcopy(model).double()(x.double())
    check("stacked baked output", out, out64)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                        "recurrent_stacked.safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    print(f"wrote {os.path.relpath(path)}")
    return {"input": tensor(x), "output": tensor(out)}


def baked_case():
    from safetensors.torch import save_file

    torch.manual_seed(7)
    model = Baked()
    idx = torch.randint(0, 10, (4, 3))
    out = model(idx)
    out64 = copy.deepcopy(model).double()(idx)
    check("baked output", out, out64)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                        "recurrent_baked.safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    print(f"wrote {os.path.relpath(path)}")
    return {"input": tensor(idx.float()), "output": tensor(out)}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    write(
        "recurrent.json",
        {
            "torch": torch.__version__,
            "recurrent": [recurrent_case(*c) for c in RECURRENT],
            "embedding": [embedding_case(*c) for c in EMBEDDING],
            "baked": baked_case(),
            "stacked_baked": stacked_baked_case(),
            "from_state": [from_state_case(*c) for c in FROM_STATE],
        },
    )


if __name__ == "__main__":
    main()
