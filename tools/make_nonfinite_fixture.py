"""Writes tests/fixtures/nonfinite.json: what PyTorch computes where NaN and the infinities
meet the layers, losses and optimizers, for tests/nonfinite.rs and tests/nonfinite_training.rs:

- each activation and its gradient at NaN, the infinities, signed zeros and a few ordinary
  values;
- pooling, normalisation and softmax layers on inputs with NaN and infinities among ordinary
  values: outputs, input and parameter gradients, batch norm's running statistics;
- each loss on outputs and targets with NaN and infinities: value and gradient;
- each optimizer's parameters after a step with NaN and infinite gradients, and from NaN and
  infinite parameters, and after a second, ordinary step.

Run from the repository root with PyTorch installed:
    python tools/make_nonfinite_fixture.py
Deterministic; NaN and infinities are written as the strings "nan", "inf", "-inf", every
other number as the float32 value PyTorch computed. Tensors are flat, row-major.
"""

import json
import math
from pathlib import Path

import torch

XS = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.5, -1.5, 100.0, -100.0]

ACTIVATIONS = {
    "ReLU": torch.nn.ReLU(),
    "Sigmoid": torch.nn.Sigmoid(),
    "Tanh": torch.nn.Tanh(),
    "LeakyReLU": torch.nn.LeakyReLU(0.01),
    "ELU": torch.nn.ELU(1.0),
    "GELU": torch.nn.GELU(),
    "GELU<tanh>": torch.nn.GELU(approximate="tanh"),
    "SiLU": torch.nn.SiLU(),
}


def enc(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


out = {"x": [enc(v) for v in XS]}
for name, module in ACTIVATIONS.items():
    ys, gs = [], []
    for v in XS:
        x = torch.tensor([v], dtype=torch.float32, requires_grad=True)
        y = module(x)
        y.backward(torch.ones_like(y))
        ys.append(enc(y.item()))
        gs.append(enc(x.grad.item()))
    out[name] = {"y": ys, "dy": gs}

NAN, INF = float("nan"), float("inf")


def flat(t):
    return [enc(v) for v in t.detach().reshape(-1).tolist()]


def layer_case(module, x, dy, params=None):
    """Training-mode forward and backward of `module` on `x` with upstream gradient `dy`."""
    for name, values in (params or {}).items():
        getattr(module, name).data.copy_(torch.tensor(values))
    x = torch.tensor(x, requires_grad=True)
    y = module(x)
    y.backward(torch.tensor(dy))
    case = {"x": flat(x), "dy": flat(torch.tensor(dy)), "y": flat(y), "dx": flat(x.grad)}
    for name, values in (params or {}).items():
        case[name] = [enc(v) for v in values]
    for name, p in module.named_parameters():
        case["grad_" + name] = flat(p.grad)
    for name, b in module.named_buffers():
        if b.is_floating_point():
            case[name] = flat(b)
    return case


# Each window of the pools holds one way NaN and the infinities meet: a NaN first, NaNs
# tied, infinities tied, all −∞, NaN after +∞, ordinary ties, NaN after an ordinary maximum.
POOL_X = [
    [NAN, 1.0, 1.0, NAN, INF, 1.0, -INF, -INF, 1.0, INF, -INF, 2.0, -0.0, 0.0, 5.0, NAN],
    [2.0, 3.0, NAN, 3.0, 2.0, INF, -INF, -INF, -INF, NAN, 2.0, 1.0, 0.0, -0.0, 6.0, 4.0],
]
# One row per feature pattern (columns: NaN, +∞, ±∞, ordinary).
NORM_X = [[NAN, INF, -INF, 1.0], [1.0, 1.0, INF, 2.0], [2.0, 2.0, 0.0, 4.0]]
NORM_DY = [[0.5, -1.0, 2.0, 0.25], [1.5, 0.5, -0.5, -1.0], [-2.0, 1.0, 1.0, 0.75]]
# Rows of three logits.
ROWS = [
    [NAN, 1.0, 2.0],
    [INF, 1.0, 2.0],
    [-INF, 1.0, 2.0],
    [-INF, -INF, -INF],
    [INF, INF, 1.0],
    [INF, -INF, 0.0],
    [1e4, -INF, 0.0],
    [1.0, 2.0, 3.0],
]
ROWS_DY = [[0.5, -1.0, 0.25 * (i + 1)] for i in range(len(ROWS))]


def layers():
    out = {}
    dy = [float(i + 1) for i in range(8)]
    # MaxPool2d(2) on one sample of 1 x 4 x 8 (four windows per output row, so that the
    # vectorised chunks run), written as rows of the 2 x 16 pairs above: row i of POOL_X
    # holds the top and bottom rows of its windows, two values of each window in turn.
    pool_x = []
    for r in range(2):
        top = [POOL_X[r][4 * w + k] for w in range(4) for k in (0, 1)]
        bottom = [POOL_X[r][4 * w + k] for w in range(4) for k in (2, 3)]
        pool_x += top + bottom
    x = torch.tensor(pool_x).reshape(1, 1, 4, 8)
    out["MaxPool2d"] = layer_case(torch.nn.MaxPool2d(2), x.tolist(), [[[dy[:4], dy[4:]]]])
    out["AvgPool2d"] = layer_case(torch.nn.AvgPool2d(2), x.tolist(), [[[dy[:4], dy[4:]]]])
    affine = {"weight": [1.0, 2.0, -1.0, 0.5], "bias": [0.0, 0.5, 1.0, -0.25]}
    out["BatchNorm"] = layer_case(torch.nn.BatchNorm1d(4), NORM_X, NORM_DY, affine)
    bn = torch.nn.BatchNorm1d(4)
    for name, values in affine.items():
        getattr(bn, name).data.copy_(torch.tensor(values))
    bn.eval()
    out["BatchNorm"]["eval_y"] = flat(bn(torch.tensor(NORM_X)))
    # BatchNorm2d(4) on 3 samples of 4 channels of 1 x 1: the same numbers, a channel each.
    x2 = torch.tensor(NORM_X).reshape(3, 4, 1, 1).tolist()
    dy2 = torch.tensor(NORM_DY).reshape(3, 4, 1, 1).tolist()
    out["BatchNorm2d"] = layer_case(torch.nn.BatchNorm2d(4), x2, dy2, affine)
    # LayerNorm(4) over the columns above as rows, each completed by a 3: NaN, +∞, ±∞ and
    # ordinary rows.
    xt = torch.tensor(NORM_X).t().contiguous().tolist()
    dyt = [r + [1.0] for r in torch.tensor(NORM_DY).t().tolist()]
    xt = [r + [3.0] for r in xt]
    out["LayerNorm"] = layer_case(torch.nn.LayerNorm(4), xt, dyt, affine)
    out["Softmax"] = layer_case(torch.nn.Softmax(dim=1), ROWS, ROWS_DY)
    out["LogSoftmax"] = layer_case(torch.nn.LogSoftmax(dim=1), ROWS, ROWS_DY)
    return out


TARGETS = [0.0, 1.0, 0.5, NAN, INF, -INF]

ELEMENTWISE_LOSSES = {
    "MSELoss": torch.nn.MSELoss(),
    "L1Loss": torch.nn.L1Loss(),
    "SmoothL1Loss": torch.nn.SmoothL1Loss(beta=1.0),
    "BCEWithLogitsLoss": torch.nn.BCEWithLogitsLoss(),
}

SOFT_TARGETS = [[0.2, 0.3, 0.5], [0.0, 0.0, 1.0], [NAN, 0.5, 0.5], [INF, 0.0, 0.0]]


def loss_and_grad(loss, x, target):
    """A loss of one sample, mean-reduced, and its gradient."""
    x = torch.tensor(x, requires_grad=True)
    value = loss(x, target)
    value.backward()
    return enc(value.item()), flat(x.grad)


def losses():
    out = {"x": [enc(v) for v in XS], "targets": [enc(v) for v in TARGETS]}
    for name, loss in ELEMENTWISE_LOSSES.items():
        values, grads = [], []
        for t in TARGETS:
            for v in XS:
                value, grad = loss_and_grad(loss, [v], torch.tensor([t]))
                values.append(value)
                grads += grad
        out[name] = {"loss": values, "grad": grads}
    out["rows"] = [[enc(v) for v in r] for r in ROWS]
    out["soft_targets"] = [[enc(v) for v in r] for r in SOFT_TARGETS]
    for eps in (0.0, 0.1):
        ce = torch.nn.CrossEntropyLoss(label_smoothing=eps)
        key = f"CrossEntropyLoss({eps})"
        hard = [loss_and_grad(ce, [r], torch.tensor([c])) for c in (0, 1) for r in ROWS]
        soft = [loss_and_grad(ce, [r], torch.tensor([t])) for t in SOFT_TARGETS for r in ROWS]
        out[key] = {
            "classes": {"loss": [v for v, _ in hard], "grad": [g for _, gs in hard for g in gs]},
            "probabilities": {"loss": [v for v, _ in soft], "grad": [g for _, gs in soft for g in gs]},
        }
    nll = [loss_and_grad(torch.nn.NLLLoss(), [r], torch.tensor([c])) for c in (0, 1) for r in ROWS]
    out["NLLLoss"] = {"loss": [v for v, _ in nll], "grad": [g for _, gs in nll for g in gs]}
    return out


# One parameter tensor: ordinary values, then NaN and the infinities.
PARAMS = [0.5, -0.3, 0.2, 0.1, NAN, INF, -INF, 0.4]
# The first step's gradient: NaN and the infinities on ordinary parameters, ordinary values
# on the others; the second step's is ordinary everywhere.
GRADS = [
    [NAN, INF, -INF, 0.25, 0.1, 0.1, -0.1, 0.0],
    [0.1, -0.2, 0.3, 0.25, 0.1, -0.1, 0.1, 0.2],
]

OPTIMIZERS = {
    "Sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "Sgd(weight_decay)": lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01),
    "Sgd(momentum)": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "Sgd(dampening)": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1),
    "Sgd(nesterov)": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "Sgd(momentum, weight_decay)": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "Adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "Adam(weight_decay)": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01),
    "AdamW": lambda p: torch.optim.AdamW(p, lr=0.01),
    "AdamW(weight_decay=0)": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.0),
    "RmsProp": lambda p: torch.optim.RMSprop(p, lr=0.01),
    "RmsProp(momentum)": lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.9),
    "RmsProp(centered)": lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True),
    "RmsProp(weight_decay)": lambda p: torch.optim.RMSprop(p, lr=0.01, weight_decay=0.01),
    "Adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1),
    "Adagrad(weight_decay)": lambda p: torch.optim.Adagrad(p, lr=0.1, weight_decay=0.01),
    "Adadelta": lambda p: torch.optim.Adadelta(p, lr=1.0),
    "Adadelta(weight_decay)": lambda p: torch.optim.Adadelta(p, lr=1.0, weight_decay=0.01),
}


def optimizers():
    out = {"params": [enc(v) for v in PARAMS], "grads": [[enc(v) for v in g] for g in GRADS]}
    for name, make in OPTIMIZERS.items():
        p = torch.nn.Parameter(torch.tensor(PARAMS))
        # The single-tensor loops, the implementation PyTorch picks for CPU tensors.
        opt = make([p])
        for group in opt.param_groups:
            if "foreach" in group:
                group["foreach"] = False
        after = []
        for g in GRADS:
            p.grad = torch.tensor(g)
            opt.step()
            after.append(flat(p))
        out[name] = after
    return out


out["layers"] = layers()
out["losses"] = losses()
out["optimizers"] = optimizers()

path = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nonfinite.json"
path.write_text(json.dumps(out, indent=1) + "\n")
