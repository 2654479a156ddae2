#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures that tests/parity.rs checks `nn` against.

The tests need no Python: these JSON files are committed. To make them again, from the
repository root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_fixtures.py

The script is deterministic (fixed seeds, float32, one thread, PyTorch's deterministic
algorithms), so rerunning it with the pinned PyTorch rewrites the same bytes.

What it writes into tests/fixtures/:
  net_mnist.json, net_mse.json, net_smooth.json  one network each (see NETWORKS below)
  losses.json                                    each loss alone: value and input gradient
  schedules.json                                 StepLR and CosineAnnealingLR, 12 epochs

Format. A tensor is {"shape": [...], "data": [numbers]} for small ones, or
{"shape": [...], "f32le": "<base64>"} (little-endian float32 bytes) for large ones, so that
the 784-wide network stays small; either way it holds the exact float32 values, row-major.
"stride": k means only every k-th element of the flattened tensor is stored (elements
0, k, 2k, ...), used for the MNIST network's 100,352-element first weight after the optimizer
runs. Numbers are written with the fewest digits that parse back (decimal -> nearest double ->
nearest float32, which is what serde_json with `float_roundtrip` and `as f32` do) to the same
float32 bits; the script checks that for every number it writes.

A network fixture holds the initial state_dict (PyTorch's nn.Sequential names, parameters and
buffers in state_dict order), an input batch and targets, the output in eval mode before any
training, the train-mode output, loss, every parameter's gradient after one backward and
BatchNorm's buffers after that forward, the eval-mode output after it, and for each optimizer
configuration the losses of 5 steps and the parameters and buffers after them (each step:
zero_grad, train-mode forward, loss, backward, step, on the same batch, from the initial state).

Conditioning. Every number is computed again in float64 from the same float32 start, and the
script refuses to write a fixture where PyTorch's own float32 result is not within half of the
test's tolerance of float64's, so that a failure in tests/parity.rs points at a formula and not
at rounding. Elements that rounding decides whatever the implementation (a few Adam-updated
values) are found by perturbation and listed, not compared; see "Conditioning" below. This is
also why the inputs are standard normal: with the MNIST network on pixel-like inputs in [0, 1)
and a batch of 8, SGD at lr 0.1 drove a hidden unit to a single, barely positive activation in
the batch, BatchNorm then divided by a standard deviation made of that one value, and PyTorch's
float32 result strayed 2.5 tolerances from float64's (Adam, whose first step is lr * sign(g),
far more).
"""

import base64
import json
import math
import os
import struct
import warnings

# torch warns when numpy is missing; nothing here needs numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch import nn  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")

# Tensors with more elements than this are stored as base64 float32 bytes.
BIG = 1024

STEPS = 5

# Each optimizer configuration, with only the arguments given to PyTorch's constructor (the
# test builds its optimizer from the same arguments, so defaults are compared too: the
# resolved param_group is written next to them).
OPTIMIZERS = [
    ("sgd", {"kind": "sgd", "lr": 0.1}),
    ("sgd_momentum", {"kind": "sgd", "lr": 0.05, "momentum": 0.9}),
    ("sgd_momentum_dampening", {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.1}),
    ("sgd_nesterov", {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd_momentum_weight_decay", {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-2}),
    ("adam", {"kind": "adam", "lr": 1e-2}),
    ("adam_weight_decay", {"kind": "adam", "lr": 1e-2, "weight_decay": 1e-2}),
    ("adamw", {"kind": "adamw", "lr": 1e-2}),
    (
        "adamw_custom",
        {"kind": "adamw", "lr": 5e-3, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1},
    ),
]

NETWORKS = [
    {
        "file": "net_mnist.json",
        "seed": 1,
        "layers": [("linear", 784, 128), ("relu",), ("bn", 128), ("linear", 128, 10)],
        "loss": {"kind": "cross_entropy", "label_smoothing": 0.0},
        "batch": 16,
        # 0.weight has 100,352 elements: after each optimizer run only every 37th is kept
        # (37 is prime to 784, so the sample meets every row and every column).
        "sample_after_steps": {"0.weight": 37},
    },
    {
        "file": "net_mse.json",
        "seed": 2,
        "layers": [("linear", 10, 16), ("tanh",), ("linear", 16, 8), ("sigmoid",), ("linear", 8, 1)],
        "loss": {"kind": "mse"},
        "batch": 16,
        "sample_after_steps": {},
    },
    {
        "file": "net_smooth.json",
        "seed": 3,
        "layers": [
            ("linear", 64, 32),
            ("relu",),
            ("bn", 32),
            ("linear", 32, 16),
            ("tanh",),
            ("linear", 16, 10),
        ],
        "loss": {"kind": "cross_entropy", "label_smoothing": 0.1},
        "batch": 12,
        "sample_after_steps": {},
    },
]


# ---------------------------------------------------------------------------------------------
# JSON output with exact float32 numbers


class F32:
    """A float32 value, written with the fewest digits that read back to the same bits."""

    __slots__ = ("bits", "value")

    def __init__(self, value):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"non-finite value {value} in a fixture")
        self.bits = struct.pack("<f", value)
        self.value = struct.unpack("<f", self.bits)[0]

    def text(self):
        for digits in range(1, 10):
            s = "%.*g" % (digits, self.value)
            # float() rounds the decimal to the nearest double, struct.pack that double to the
            # nearest float32: the reader's path.
            if struct.pack("<f", float(s)) == self.bits:
                return s
        raise AssertionError("9 significant digits always identify a float32")


def f32(x):
    return F32(x)


def tensor(t, stride=None):
    t = t.detach()
    if t.dtype != torch.float32:
        raise TypeError(f"expected float32, got {t.dtype}")
    flat = t.contiguous().reshape(-1)
    out = {"shape": list(t.shape)}
    if stride is not None:
        flat = flat[::stride]
        out["stride"] = stride
    values = flat.tolist()
    if len(values) > BIG:
        raw = struct.pack("<%df" % len(values), *values)
        # tolist() gives the float32 values as exact doubles; packing them back is lossless.
        if struct.unpack("<%df" % len(values), raw) != tuple(values):
            raise AssertionError("float32 bytes do not round-trip")
        out["f32le"] = base64.b64encode(raw).decode("ascii")
    else:
        out["data"] = [f32(v) for v in values]
    return out


def encode(obj, depth=0):
    """Compact JSON, with one line per entry of the top two levels so diffs stay readable."""
    if isinstance(obj, F32):
        return obj.text()
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return json.dumps(obj)
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        raise TypeError("write floats through f32() so that they are float32 values")
    sep = ",\n" + "  " * (depth + 1) if depth < 2 else ","
    if isinstance(obj, dict):
        items = [json.dumps(str(k)) + ":" + encode(v, depth + 1) for k, v in obj.items()]
        if depth < 2 and items:
            return "{\n" + "  " * (depth + 1) + sep.join(items) + "\n" + "  " * depth + "}"
        return "{" + sep.join(items) + "}"
    if isinstance(obj, (list, tuple)):
        items = [encode(v, depth + 1) for v in obj]
        if depth < 2 and items and isinstance(obj[0], (dict, list, tuple)):
            return "[\n" + "  " * (depth + 1) + sep.join(items) + "\n" + "  " * depth + "]"
        return "[" + ",".join(items) + "]"
    raise TypeError(f"cannot encode {type(obj)}")


def write(name, obj):
    path = os.path.join(OUT_DIR, name)
    text = encode(obj) + "\n"
    # Everything written must be valid JSON that reads back to the same float32 values.
    json.loads(text)
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(path)} ({len(text):,} bytes)")


# ---------------------------------------------------------------------------------------------
# Networks


def build(layers):
    mods = []
    for spec in layers:
        kind = spec[0]
        if kind == "linear":
            mods.append(nn.Linear(spec[1], spec[2]))
        elif kind == "bn":
            mods.append(nn.BatchNorm1d(spec[1]))
        elif kind == "relu":
            mods.append(nn.ReLU())
        elif kind == "tanh":
            mods.append(nn.Tanh())
        elif kind == "sigmoid":
            mods.append(nn.Sigmoid())
        else:
            raise ValueError(kind)
    return nn.Sequential(*mods)


def describe(layers):
    names = {"linear": "Linear", "bn": "BatchNorm1d", "relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
    return ", ".join(
        names[s[0]] + ("(" + ", ".join(str(a) for a in s[1:]) + ")" if len(s) > 1 else "()")
        for s in layers
    )


def criterion(spec):
    if spec["kind"] == "cross_entropy":
        return nn.CrossEntropyLoss(label_smoothing=spec["label_smoothing"])
    if spec["kind"] == "mse":
        return nn.MSELoss()
    raise ValueError(spec["kind"])


def floats_to_f32(v):
    """A copy of a configuration with every float as the float32 the Rust side uses."""
    if isinstance(v, dict):
        return {k: floats_to_f32(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [floats_to_f32(x) for x in v]
    if isinstance(v, float):
        return f32(v)
    return v


def make_optimizer(cfg, params):
    kwargs = {k: v for k, v in cfg.items() if k != "kind"}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    # The single-tensor (for-loop) implementations, which PyTorch uses on the CPU anyway;
    # said explicitly so that a future default cannot change the fixtures silently.
    kind = cfg["kind"]
    if kind == "sgd":
        return torch.optim.SGD(params, foreach=False, **kwargs)
    if kind == "adam":
        return torch.optim.Adam(params, foreach=False, **kwargs)
    if kind == "adamw":
        return torch.optim.AdamW(params, foreach=False, **kwargs)
    raise ValueError(kind)


def resolved_group(opt):
    """The optimizer's hyperparameters after PyTorch filled in its defaults."""
    g = opt.param_groups[0]
    keys = ["lr", "momentum", "dampening", "nesterov", "weight_decay", "betas", "eps"]
    out = {}
    for k in keys:
        if k not in g:
            continue
        v = g[k]
        if isinstance(v, bool):
            out[k] = v
        elif isinstance(v, (tuple, list)):
            out[k] = [f32(b) for b in v]
        else:
            out[k] = f32(v)
    return out


def buffers(net):
    """BatchNorm's buffers: (name, tensor) for statistics, (name, int) for counts."""
    return [
        (name, int(b.item()) if b.dtype == torch.int64 else b.detach().clone())
        for name, b in net.named_buffers()
    ]


def encode_buffers(bufs):
    return [
        {"name": n, "value": v} if isinstance(v, int) else {"name": n, **tensor(v)} for n, v in bufs
    ]


def simulate(spec, state0, x, y, dtype):
    """Everything the fixture records, computed in `dtype` from the same float32 start."""
    net = build(spec["layers"]).to(dtype)
    net.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in state0.items()})
    x = x.to(dtype)
    if y.is_floating_point():
        y = y.to(dtype)
    crit = criterion(spec["loss"])
    res = {}

    # Eval mode first: running statistics as initialised.
    net.eval()
    with torch.no_grad():
        res["eval_before"] = net(x)

    # One training forward and backward.
    net.train()
    net.zero_grad()
    out = net(x)
    loss = crit(out, y)
    loss.backward()
    res["output"] = out.detach()
    res["loss"] = loss.item()
    res["grads"] = {n: p.grad.clone() for n, p in net.named_parameters()}
    res["buffers"] = buffers(net)

    # Eval mode again, with the running statistics that forward updated.
    net.eval()
    with torch.no_grad():
        res["eval_after"] = net(x)

    res["runs"] = []
    for name, cfg in OPTIMIZERS:
        net.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in state0.items()})
        net.train()
        opt = make_optimizer(cfg, net.parameters())
        losses = []
        for _ in range(STEPS):
            opt.zero_grad()
            l = crit(net(x), y)
            l.backward()
            opt.step()
            losses.append(l.item())
        res["runs"].append(
            {
                "name": name,
                "config": cfg,
                "group": resolved_group(opt),
                "losses": losses,
                "params": {n: p.detach().clone() for n, p in net.named_parameters()},
                "buffers": buffers(net),
            }
        )
    return res


# ---------------------------------------------------------------------------------------------
# Conditioning. A parity test at float32 precision can only hold where the float32 result is
# itself close to the exact one, so every number written is computed again in float64 from
# the same float32 start, and PyTorch's float32 result must lie within MARGIN times the test's
# tolerance of it. The tolerance is the one tests/parity.rs uses: |a - b| <= REL * |b| + floor,
# floor = REL * max|b| over the (stored part of the) tensor where the test has a floor, else 0.
#
# Some elements are ill-conditioned whatever the implementation: Adam divides each gradient
# element by its own running RMS, so an element whose gradients are small through
# cancellation (an absolute rounding error that is large relative to the element) moves by an
# amount that rounding decides. To find them without trusting either float32 result, the
# float64 computation is repeated from starts (weights and inputs) perturbed by DELTA
# relative; an element that moves by more than MARGIN tolerances under such a perturbation is
# ill-conditioned. DELTA = 2^-20 (16 float32 ulps) is the smallest power of two at which this
# accounts for every place where PyTorch's own float32 result strays from float64 by more than
# MARGIN tolerances (at 2^-22 and 2^-24 some such elements go unflagged): accumulated rounding
# in sums of hundreds of terms is several ulps, not one. Only optimizer runs have such
# elements (Adam's, through the division by each element's RMS, and BatchNorm's running
# statistics downstream of them). They are listed in the fixture ("ill_conditioned", flat
# indices into the full tensor) and not compared; the script refuses fixtures where they are
# more than MAX_ILL of any tensor's compared elements, and the test checks that bound too.

REL = 1e-5
MARGIN = 0.5
DELTA = 2.0**-20
PERTURBATIONS = 3
MAX_ILL = 0.05


def quantities(res, sample):
    """Every number the test compares: (key, values, floor, stride) in a fixed order."""

    def bufs(key, b):
        # running_var has no floor in the test: it is never near zero.
        return [((*key, n), v, not n.endswith("running_var"), 1) for n, v in b if not isinstance(v, int)]

    q = [
        (("eval_before",), res["eval_before"], True, 1),
        (("output",), res["output"], True, 1),
        (("loss",), res["loss"], False, 1),
    ]
    q += [(("grads", n), g, True, 1) for n, g in res["grads"].items()]
    q += bufs(("buffers",), res["buffers"])
    q.append((("eval_after",), res["eval_after"], True, 1))
    for run in res["runs"]:
        k = ("runs", run["name"])
        q += [((*k, "loss", s), v, False, 1) for s, v in enumerate(run["losses"])]
        q += [((*k, "params", n), p, True, sample.get(n, 1)) for n, p in run["params"].items()]
        q += bufs((*k, "buffers"), run["buffers"])
    return q


def flat64(v, stride):
    return torch.as_tensor(v).detach().to(torch.float64).reshape(-1)[::stride]


def tolerance(ref, floor):
    tol = REL * ref.abs()
    return tol + REL * ref.abs().max() if floor else tol


def conditioning(what, r32, r64, perturbed, sample):
    """The ill-conditioned elements, {key: [flat indices]}; raises when float32 PyTorch is not
    within MARGIN tolerances of float64 on the others."""
    q32, q64 = quantities(r32, sample), quantities(r64, sample)
    qp = [quantities(r, sample) for r in perturbed]
    ill_sets, failures = {}, []
    worst, total, n_ill = (0.0, ""), 0, 0
    for i, (key, v64, floor, stride) in enumerate(q64):
        name = "/".join(str(k) for k in key)
        ref = flat64(v64, stride)
        tol = tolerance(ref, floor)
        moved = torch.stack([(flat64(p[i][1], stride) - ref).abs() for p in qp]).max(dim=0).values
        ill = moved > MARGIN * tol
        if ill.any():
            if ref.numel() == 1:
                failures.append(f"{name}: a scalar that a perturbation of {DELTA:.1e} moves")
            ill_sets[key] = [int(j) * stride for j in ill.nonzero().flatten().tolist()]
        err = (flat64(q32[i][1], stride) - ref).abs() / tol
        err[ill] = 0.0
        ratio = err.max().item()
        if ratio > worst[0]:
            worst = (ratio, name)
        if not ratio <= MARGIN:
            failures.append(f"{name}: float32 is {ratio:.2f} tolerances from float64")
        if ill.sum().item() > MAX_ILL * ref.numel():
            failures.append(f"{name}: {ill.sum().item()} of {ref.numel()} elements ill-conditioned")
        total += ref.numel()
        n_ill += ill.sum().item()
    for run32, run64 in zip(r32["runs"], r64["runs"]):
        for (n, a), (_, b) in zip(run32["buffers"], run64["buffers"]):
            if isinstance(a, int) and a != b:
                failures.append(f"{run32['name']}/{n}: {a} != {b}")
    if failures:
        raise AssertionError(f"{what} cannot be a parity fixture:\n  " + "\n  ".join(failures))
    print(
        f"  conditioning: float32 within {worst[0]:.3f} tolerances of float64 (worst: {worst[1]}); "
        f"{n_ill} of {total:,} compared elements ill-conditioned: "
        + (", ".join(f"{'/'.join(str(k) for k in key)} {len(v)}" for key, v in ill_sets.items()) or "none")
    )
    return ill_sets


def perturbed_start(state0, x, y, gen):
    def p(t):
        if not t.is_floating_point():
            return t
        t = t.to(torch.float64)
        return t * (1 + DELTA * (2 * torch.rand(t.shape, generator=gen, dtype=torch.float64) - 1))

    return {k: p(v) for k, v in state0.items()}, p(x), p(y)


def network_fixture(spec):
    torch.manual_seed(spec["seed"])
    net = build(spec["layers"])
    n_in, n_out = spec["layers"][0][1], spec["layers"][-1][2]
    batch = spec["batch"]

    x = torch.randn(batch, n_in)
    if spec["loss"]["kind"] == "cross_entropy":
        y = torch.randint(0, n_out, (batch,))
        target = [int(v) for v in y.tolist()]
    else:
        y = torch.randn(batch, n_out)
        target = tensor(y)

    state0 = {k: v.clone() for k, v in net.state_dict().items()}
    param_names = [n for n, _ in net.named_parameters()]
    state_dict = []
    for name, v in state0.items():
        entry = {"name": name, "param": name in param_names}
        if v.dtype == torch.int64:
            entry["value"] = int(v.item())
        else:
            entry.update(tensor(v))
        state_dict.append(entry)

    sample = spec["sample_after_steps"]
    r32 = simulate(spec, state0, x, y, torch.float32)
    r64 = simulate(spec, state0, x, y, torch.float64)
    gen = torch.Generator().manual_seed(spec["seed"])
    perturbed = [
        simulate(spec, *perturbed_start(state0, x, y, gen), torch.float64) for _ in range(PERTURBATIONS)
    ]
    ill = conditioning(spec["file"], r32, r64, perturbed, sample)

    def t(key, v, stride=None):
        out = tensor(v, stride)
        if key in ill:
            out["ill_conditioned"] = ill[key]
        return out

    runs = [
        {
            "name": run["name"],
            "config": floats_to_f32(run["config"]),
            "torch_param_group": run["group"],
            "losses": [f32(v) for v in run["losses"]],
            "params": [
                {"name": n, **t(("runs", run["name"], "params", n), p, sample.get(n))}
                for n, p in run["params"].items()
            ],
            "buffers": [
                {"name": b["name"], "value": b["value"]}
                if "value" in b
                else {"name": b["name"], **t(("runs", run["name"], "buffers", b["name"]), v)}
                for b, (_, v) in zip(encode_buffers(run["buffers"]), run["buffers"])
            ],
        }
        for run in r32["runs"]
    ]
    for key in ill:
        if key[0] != "runs":
            raise AssertionError(f"{key} is ill-conditioned: tests/parity.rs compares it whole")

    write(
        spec["file"],
        {
            "torch_version": torch.__version__.split("+")[0],
            "layers": describe(spec["layers"]),
            "loss": floats_to_f32(spec["loss"]),
            "batch": batch,
            "input": tensor(x),
            "target": target,
            "state_dict": state_dict,
            "eval_before_training": tensor(r32["eval_before"]),
            "train": {
                "output": tensor(r32["output"]),
                "loss": f32(r32["loss"]),
                "grads": [{"name": n, **tensor(g)} for n, g in r32["grads"].items()],
                "buffers": encode_buffers(r32["buffers"]),
            },
            "eval_after_train_forward": tensor(r32["eval_after"]),
            "steps": STEPS,
            "optimizers": runs,
        },
    )


# ---------------------------------------------------------------------------------------------
# Losses alone


def loss_and_grad(module, x, target, dtype):
    x = x.detach().to(dtype).clone().requires_grad_(True)
    value = module(x, target.to(dtype) if target.is_floating_point() else target)
    value.backward()
    return value.item(), x.grad


def loss_case(name, spec, module, x, target):
    """One loss on float32 data: value and gradient, certified against float64 as the network
    fixtures are (the data are exact here, so no perturbation: only the loss rounds)."""
    value, grad = loss_and_grad(module, x, target, torch.float32)
    value64, grad64 = loss_and_grad(module, x, target, torch.float64)
    c = [
        ("value", flat64(value, 1), flat64(value64, 1), False),
        ("gradient", flat64(grad, 1), flat64(grad64, 1), True),
    ]
    for what, got, ref, floor in c:
        ratio = ((got - ref).abs() / tolerance(ref, floor)).max().item()
        if not ratio <= MARGIN:
            raise AssertionError(f"{name}: {what}: float32 is {ratio:.2f} tolerances from float64")
    if target.dtype == torch.int64:
        t = [int(v) for v in target.tolist()]
    else:
        t = tensor(target)
    return {
        "name": name,
        "loss": floats_to_f32(spec),
        "input": tensor(x),
        "target": t,
        "value": f32(value),
        "grad": tensor(grad),
    }


def losses_fixture():
    torch.manual_seed(4)
    cases = []

    x = torch.randn(6, 5) * 2
    t = torch.randn(6, 5)
    cases.append(loss_case("mse", {"kind": "mse"}, nn.MSELoss(), x, t))

    # Some differences exactly zero: PyTorch's L1 gradient there is 0.
    x = torch.randn(6, 5) * 2
    t = torch.randn(6, 5)
    t[0, :3] = x[0, :3]
    t[3, 4] = x[3, 4]
    cases.append(loss_case("l1", {"kind": "l1"}, nn.L1Loss(), x, t))

    # Differences on both sides of beta, and exactly at it.
    for beta in (1.0, 0.5):
        x = torch.randn(6, 5) * 1.5
        t = torch.randn(6, 5)
        t[1, 1] = x[1, 1] - beta
        t[2, 2] = x[2, 2] + beta
        name = "smooth_l1_beta_" + str(beta).replace(".", "_")
        cases.append(loss_case(name, {"kind": "smooth_l1", "beta": beta}, nn.SmoothL1Loss(beta=beta), x, t))

    # Logits from moderate to extreme, hard and soft targets.
    x = torch.randn(6, 5) * 4
    x[0] = torch.tensor([-100.0, -30.0, 0.0, 30.0, 100.0])
    x[1] = torch.tensor([1e4, -1e4, 20.0, -20.0, 1e-3])
    t = torch.rand(6, 5)
    t[:2] = torch.tensor([[0.0, 1.0, 0.5, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0, 1.0]])
    cases.append(loss_case("bce_with_logits", {"kind": "bce_with_logits"}, nn.BCEWithLogitsLoss(), x, t))

    # Cross-entropy: ordinary logits, plus rows of +-1e4 whose naive exp overflows.
    x = torch.randn(7, 5) * 3
    x[0] = torch.tensor([1e4, -1e4, 0.0, 5.0, -5.0])
    x[1] = torch.tensor([-1e4, 1e4, 1e4, 0.0, -1e4])
    x[2] = torch.tensor([1e4, 1e4, 1e4, 1e4, 1e4])
    target = torch.tensor([1, 2, 3, 0, 4, 4, 2])
    # Ordinary spreads around a large offset: the loss is of order 1 while the logits are
    # near 1e4, so log-sum-exp must be taken relative to the maximum.
    shifted = torch.randn(5, 6) * 2 + 1e4
    shifted_target = torch.tensor([0, 5, 2, 2, 3])
    for eps in (0.0, 0.1):
        spec = {"kind": "cross_entropy", "label_smoothing": eps}
        suffix = "" if eps == 0.0 else "_label_smoothing_0_1"
        ce = nn.CrossEntropyLoss(label_smoothing=eps)
        cases.append(loss_case("cross_entropy" + suffix, spec, ce, x, target))
        cases.append(loss_case("cross_entropy_logits_near_1e4" + suffix, spec, ce, shifted, shifted_target))

    write("losses.json", {"torch_version": torch.__version__.split("+")[0], "cases": cases})


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules


def schedule(make, base_lr, epochs=12):
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(f32(opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
    return lrs


def schedules_fixture():
    from torch.optim.lr_scheduler import CosineAnnealingLR, StepLR

    base = 0.1
    write(
        "schedules.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "step_lr": {
                "base_lr": f32(base),
                "step_size": 3,
                "gamma": f32(0.5),
                "lr": schedule(lambda o: StepLR(o, step_size=3, gamma=0.5), base),
            },
            "cosine_annealing_lr": {
                "base_lr": f32(base),
                "t_max": 10,
                "eta_min": f32(0.001),
                "lr": schedule(lambda o: CosineAnnealingLR(o, T_max=10, eta_min=0.001), base),
            },
        },
    )


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    os.makedirs(OUT_DIR, exist_ok=True)
    for spec in NETWORKS:
        network_fixture(spec)
    losses_fixture()
    schedules_fixture()


if __name__ == "__main__":
    main()
