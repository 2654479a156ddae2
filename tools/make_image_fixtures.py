#!/usr/bin/env python3
"""Writes the PyTorch parity fixture that tests/parity_image.rs checks the image layers against:
Conv2d (stride 1 and 2, padding 0 and 1), MaxPool2d, AvgPool2d, BatchNorm2d (training and
eval), each alone, and a small CNN for 28 × 28 grey images as one network.

The tests need no Python: the JSON file is committed. To make it again, from the repository
root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_image_fixtures.py

The script is deterministic (fixed seeds, float32, one thread, PyTorch's deterministic
algorithms), so rerunning it with the pinned PyTorch rewrites the same bytes. It shares the
number format, the JSON writer and the tolerance of tools/make_fixtures.py (imported from it):
every number is written with the fewest digits that read back to the same float32, and large
tensors as base64 float32 bytes.

Layout. Every image tensor is PyTorch's NCHW, flattened row-major: exactly the flat
`[batch, C*H*W]` rows the Rust layers take.

What it writes into tests/fixtures/image_layers.json:
  "cases", one per layer configuration, each with
    "name"          the case, which tests/parity_image.rs maps to a Rust type
    "torch"         the PyTorch module, as repr() prints it
    "network"       how `network!` spells the same layer (what `Layer::describe` writes)
    "input"         x, [BATCH, C, H, W]
    "upstream"      c, the gradient of the loss with respect to the output: the checked
                    function is L = sum(c * layer(x)), as in tests/gradients.rs
    "output"        layer(x) in training mode
    "input_grad"    dL/dx
    "params"        for Conv2d and BatchNorm2d, the parameters as the test must set them
                    (Conv2d: PyTorch's own initialisation from the seed; BatchNorm2d: moved
                    off 1 and 0), and "param_grads" dL/dparam, in named_parameters() order
  and for BatchNorm2d also
    "buffers"       running_mean and running_var as the test must set them before the pass
                    (moved off 0 and 1, so that the momentum update is checked)
    "buffers_after" running_mean, running_var and num_batches_tracked after the training pass
    "eval_output"   layer(x) in eval mode, with the buffers after the training pass
  "cnn", a small MNIST CNN, nn.Sequential(Conv2d(1, 8, 3), ReLU, MaxPool2d(2),
  Conv2d(8, 16, 3), ReLU, MaxPool2d(2), Flatten, Linear(400, 10)), with
    "torch"         its repr(); "network" the layers as `describe` writes them
    "state_dict"    PyTorch's initial parameters from the seed, in state_dict order
    "input"         [BATCH, 1, 28, 28], standard normal; "target" the class indices
    "output"        the logits; "loss" CrossEntropyLoss (mean); "grads" every parameter's
                    gradient after loss.backward()

Conditioning. As in tools/make_layer_fixtures.py, every case is computed again in float64 from
the same float32 input and parameters, and the script refuses a fixture where PyTorch's float32
result is not within MARGIN (one half) of the test's tolerance of float64's. The tolerance is
|a - b| <= REL * |b| + floor, with floor = REL * max|b| over the tensor where FLOORS below says
so (tests/parity_image.rs gives the reason for each). Then PyTorch and any correct float32
implementation lie within one tolerance of each other, and a failure in the test means a wrong
formula.

Kinks. ReLU and max pooling are not smooth: an element whose pre-activation lies within
rounding of 0, or a pooling window whose two largest values lie within rounding of each other,
could go one way in PyTorch and the other in a correct implementation that rounds differently,
and then gradients differ by a whole term. Rounding moves a value by about 1e-6 of the largest
in its tensor, so the script requires every ReLU input to be at least KINK (1e-5) of the
tensor's largest magnitude away from 0, and in every pooling window whose maximum is positive
the two largest values to be KINK apart, all in float64; it draws a new CNN input until both
hold (deterministically: the generator's sequence is fixed). The pooling cases alone test ties
on purpose: their inputs are multiples of 1/4, so that exact ties occur, and both sides must
take the first maximum, as PyTorch does.
"""

import copy
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import MARGIN, REL, flat64, tensor, tolerance, write  # noqa: E402

BATCH = 3
CNN_BATCH = 4
KINK = 1e-5

# Which compared tensors have an absolute floor (tests/parity_image.rs says why each one needs
# it: each is a sum of terms of both signs, which can cancel to near zero); every other tensor is
# compared relatively alone.
CONV_FLOORS = {"output": True, "input_grad": True, "weight": True, "bias": True}
FLOORS = {
    "conv_s1_p0": CONV_FLOORS,
    "conv_s1_p1": CONV_FLOORS,
    "conv_s2_p0": CONV_FLOORS,
    "conv_s2_p1": CONV_FLOORS,
    "avg_pool_2": {"output": True},
    "avg_pool_3": {"output": True},
    "batch_norm_2d": {
        "output": True,
        "input_grad": True,
        "weight": True,
        "bias": True,
        "running_mean": True,
        "eval_output": True,
    },
}
CNN_FLOORS = {"output": True, "grads": True}


def normal(gen, *shape, scale=1.0):
    return torch.randn(*shape, generator=gen) * scale


def quarters(gen, *shape):
    """Multiples of 1/4 in [-2, 2): exact in float32, with many exact ties in a window."""
    return torch.randint(-8, 8, shape, generator=gen).to(torch.float32) / 4


def bn_input(gen, c, h, w):
    """Channels far from zero mean (offsets 10 and -50 on the first two), which a one-pass
    variance E[x^2] - E[x]^2 would get wrong, with different spreads."""
    x = normal(gen, BATCH, c, h, w) * torch.tensor([1.5, 2.0, 0.5])[:c].view(1, c, 1, 1)
    x[:, 0] += 10.0
    x[:, 1] -= 50.0
    return x


def cases(gen):
    """(name, module, how network! spells it, input)."""
    return [
        ("conv_s1_p0", nn.Conv2d(2, 3, 3), "Conv2d<2, 3, 3>", normal(gen, BATCH, 2, 6, 5)),
        (
            "conv_s1_p1",
            nn.Conv2d(3, 4, 3, padding=1),
            "Conv2d<3, 4, 3, padding = 1>",
            normal(gen, BATCH, 3, 5, 5),
        ),
        (
            # 8 x 7 with stride 2: the last row and column are in no window.
            "conv_s2_p0",
            nn.Conv2d(2, 3, 3, stride=2),
            "Conv2d<2, 3, 3, stride = 2>",
            normal(gen, BATCH, 2, 8, 7),
        ),
        (
            "conv_s2_p1",
            nn.Conv2d(2, 4, 3, stride=2, padding=1),
            "Conv2d<2, 4, 3, stride = 2, padding = 1>",
            normal(gen, BATCH, 2, 7, 6),
        ),
        # An odd height, so that floor mode leaves the last row out.
        ("max_pool_2", nn.MaxPool2d(2), "MaxPool2d<2>", quarters(gen, BATCH, 3, 7, 6)),
        ("max_pool_3", nn.MaxPool2d(3), "MaxPool2d<3>", quarters(gen, BATCH, 2, 8, 7)),
        ("avg_pool_2", nn.AvgPool2d(2), "AvgPool2d<2>", normal(gen, BATCH, 3, 7, 6)),
        ("avg_pool_3", nn.AvgPool2d(3), "AvgPool2d<3>", normal(gen, BATCH, 2, 8, 7)),
        ("batch_norm_2d", nn.BatchNorm2d(3), "BatchNorm2d<3>", bn_input(gen, 3, 5, 6)),
    ]


def run(module, x, c, dtype):
    """The layer's training output, dL/dx, parameter gradients and buffers after the pass, and
    its eval output after the pass, in `dtype`."""
    m = module.to(dtype)
    m.train()
    m.zero_grad()
    x = x.detach().to(dtype).clone().requires_grad_(True)
    y = m(x)
    y.backward(c.to(dtype))
    grads = {n: p.grad.detach().clone() for n, p in m.named_parameters()}
    bufs = {n: b.detach().clone() for n, b in m.named_buffers()}
    m.eval()
    with torch.no_grad():
        eval_out = m(x.detach())
    return {
        "output": y.detach(),
        "input_grad": x.grad.detach(),
        "grads": grads,
        "buffers": bufs,
        "eval_output": eval_out,
    }


def certify(name, pairs, floors):
    """Refuses the case unless PyTorch's float32 result is within MARGIN tolerances of
    float64's on every pair (what, float32, float64); returns the largest share of a tolerance
    used, and per floored tensor the share it would use without its floor."""
    worst, unfloored = 0.0, {}
    for what, got, ref in pairs:
        got, ref = flat64(got, 1), flat64(ref, 1)
        floor = floors.get(what, False)
        ratio = ((got - ref).abs() / tolerance(ref, floor)).nan_to_num(0.0).max().item()
        if not ratio <= MARGIN:
            raise AssertionError(f"{name}: {what}: float32 is {ratio:.2f} tolerances from float64")
        worst = max(worst, ratio)
        if floor:
            bare = ((got - ref).abs() / tolerance(ref, False)).nan_to_num(0.0).max().item()
            unfloored[what] = max(unfloored.get(what, 0.0), bare)
    return worst, unfloored


def layer_case(name, module, network, x, gen):
    module.eval()  # no running statistics change here
    with torch.no_grad():
        c = torch.randn(module(x).shape, generator=gen)
    case = {"name": name, "torch": repr(module), "network": network}
    if isinstance(module, nn.BatchNorm2d):
        n = module.num_features
        with torch.no_grad():
            module.weight.copy_(1 + 0.5 * torch.randn(n, generator=gen))
            module.bias.copy_(0.5 * torch.randn(n, generator=gen))
            module.running_mean.copy_(torch.randn(n, generator=gen))
            module.running_var.copy_(0.5 + torch.rand(n, generator=gen))
        case["buffers"] = [
            {"name": b, **tensor(getattr(module, b))} for b in ("running_mean", "running_var")
        ]
    params = [{"name": n, **tensor(p)} for n, p in module.named_parameters()]
    if params:
        case["params"] = params
    # Each run starts from the same state: the float64 run converts a copy.
    r64 = run(copy.deepcopy(module), x, c, torch.float64)
    r32 = run(module, x, c, torch.float32)
    pairs = [("output", r32["output"], r64["output"]), ("input_grad", r32["input_grad"], r64["input_grad"])]
    pairs += [(n, r32["grads"][n], r64["grads"][n]) for n in r32["grads"]]
    if isinstance(module, nn.BatchNorm2d):
        pairs += [(b, r32["buffers"][b], r64["buffers"][b]) for b in ("running_mean", "running_var")]
        pairs.append(("eval_output", r32["eval_output"], r64["eval_output"]))
    worst, unfloored = certify(name, pairs, FLOORS.get(name, {}))
    note = ", ".join(f"{k} {v:.3f}" for k, v in unfloored.items())
    print(f"  {name}: float32 within {worst:.3f} tolerances of float64" + (f" (without floors: {note})" if note else ""))
    case.update(
        {
            "input": tensor(x),
            "upstream": tensor(c),
            "output": tensor(r32["output"]),
            "input_grad": tensor(r32["input_grad"]),
        }
    )
    if params:
        case["param_grads"] = [{"name": n, **tensor(g)} for n, g in r32["grads"].items()]
    if isinstance(module, nn.BatchNorm2d):
        case["buffers_after"] = [
            {"name": b, **tensor(r32["buffers"][b])} for b in ("running_mean", "running_var")
        ] + [{"name": "num_batches_tracked", "count": int(r32["buffers"]["num_batches_tracked"])}]
        case["eval_output"] = tensor(r32["eval_output"])
    return case


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 10),
    )


CNN_NETWORK = [
    "Conv2d<1, 8, 3>",
    "ReLU",
    "MaxPool2d<2>",
    "Conv2d<8, 16, 3>",
    "ReLU",
    "MaxPool2d<2>",
    "Flatten",
    "Linear<400, 10>",
]


def kink_margin(net64, x64):
    """The smallest distance, over the tensor's largest magnitude, of a ReLU input from 0 and of
    the two largest values of a pooling window with a positive maximum from each other."""
    worst = float("inf")
    h = x64
    for layer in net64:
        if isinstance(layer, nn.ReLU):
            worst = min(worst, (h.abs().min() / h.abs().max()).item())
        if isinstance(layer, nn.MaxPool2d):
            k = layer.kernel_size
            n, c, hh, ww = h.shape
            win = h[:, :, : hh // k * k, : ww // k * k].unfold(2, k, k).unfold(3, k, k)
            win = win.reshape(n, c, hh // k, ww // k, k * k)
            top = win.topk(2, dim=-1).values
            live = top[..., 0] > 0
            gap = (top[..., 0] - top[..., 1])[live]
            worst = min(worst, (gap.min() / h.abs().max()).item())
        h = layer(h)
    return worst


def cnn_fixture(gen):
    torch.manual_seed(11)
    net = cnn()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    net64 = cnn().to(torch.float64)
    net64.load_state_dict({k: v.to(torch.float64) for k, v in state.items()})
    for attempt in range(1, 101):
        x = torch.randn(CNN_BATCH, 1, 28, 28, generator=gen)
        target = torch.randint(0, 10, (CNN_BATCH,), generator=gen)
        with torch.no_grad():
            margin = kink_margin(net64, x.to(torch.float64))
        if margin > KINK:
            break
    else:
        raise AssertionError("no CNN input away from the kinks in 100 draws")
    print(f"  cnn: input draw {attempt}, kink margin {margin:.2e} (needs {KINK:.0e})")

    def run_cnn(model, dtype):
        model.train()
        model.zero_grad()
        out = model(x.to(dtype))
        loss = nn.CrossEntropyLoss()(out, target)
        loss.backward()
        return out.detach(), loss.detach(), {n: p.grad.detach().clone() for n, p in model.named_parameters()}

    o64, l64, g64 = run_cnn(net64, torch.float64)
    o32, l32, g32 = run_cnn(net, torch.float32)
    pairs = [("output", o32, o64), ("loss", l32.reshape(1), l64.reshape(1))]
    pairs += [("grads", g32[n], g64[n]) for n in g32]
    worst, unfloored = certify("cnn", pairs, CNN_FLOORS)
    note = ", ".join(f"{k} {v:.3f}" for k, v in unfloored.items())
    print(f"  cnn: float32 within {worst:.3f} tolerances of float64 (without floors: {note})")
    return {
        "torch": repr(net),
        "network": CNN_NETWORK,
        "state_dict": [{"name": k, **tensor(v)} for k, v in state.items()],
        "input": tensor(x),
        "target": target.tolist(),
        "output": tensor(o32),
        "loss": tensor(l32.reshape(1)),
        "grads": [{"name": n, **tensor(g)} for n, g in g32.items()],
    }


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)  # the modules' own initialisation
    gen = torch.Generator().manual_seed(6)
    out = [layer_case(*case, gen) for case in cases(gen)]
    write(
        "image_layers.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "batch": BATCH,
            "cases": out,
            "cnn": cnn_fixture(gen),
        },
    )


if __name__ == "__main__":
    main()
