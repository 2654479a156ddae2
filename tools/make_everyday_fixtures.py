#!/usr/bin/env python3
"""Writes tests/fixtures/everyday.json, which tests/parity_everyday.rs checks the tools of daily
training against: RMSprop, Adagrad and Adadelta, and SGD and Adam/AdamW with every element of
every parameter compared (tests/parity.rs samples its larger network's first weight), gradient
clipping, per-step learning-rate schedules, top-k accuracy, NLLLoss and CrossEntropyLoss's int64 and probability targets.

The tests need no Python: the file is committed. To make it again, from the repository root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_everyday_fixtures.py

Deterministic (fixed seeds, float32, one thread, PyTorch's deterministic algorithms). It shares
the number format, the JSON writer and the tolerance of tools/make_fixtures.py.

What it holds:
  "network"     nn.Sequential(Linear(6, 5), Tanh, Linear(5, 3)): its initial state dict, an
                input batch and an MSE target
  "optimizers"  for each configuration (only the arguments given to PyTorch's constructor; the
                test builds its optimizer from the same ones, so defaults are compared too): the
                loss at each of STEPS steps (zero_grad, forward, MSELoss, backward, step) and
                every parameter after them
  "clip"        gradients of the same network's shapes, for each (max_norm, norm_type) the
                total norm clip_grad_norm_ returns and the gradients after it, and
                clip_grad_value_'s result
  "schedules"   the learning rate (and, for OneCycleLR, the momentum: SGD's, or Adam's beta1) at
                every step of LinearLR, ExponentialLR, OneCycleLR and ReduceLROnPlateau, read
                from the optimizer's param_group as a training loop sees it: for the first
                four before each step and once after the last (steps + 1 values), for
                ReduceLROnPlateau after each step(metric)
  "metrics"     logits and targets, and the top-k accuracy for k = 1, 2, 3
  "losses"      NLLLoss on log_softmax outputs, CrossEntropyLoss with int64 indices and with
                probabilities (with and without label smoothing, and logits near 1e4), as
                make_fixtures.py's losses.json: value and gradient

Conditioning: every optimizer run and every clipping is repeated in float64 from the same
float32 start, and the script refuses a fixture where PyTorch's float32 result is not within
MARGIN tolerances of float64's (|a - b| <= REL * |b| + REL * max|b| over the tensor). The losses
are certified as losses.json's are. Schedules are computed by PyTorch in Python floats (double)
and written rounded to float32.
"""

import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import MARGIN, f32, flat64, floats_to_f32, loss_case, tensor, tolerance, write  # noqa: E402

BATCH = 8
STEPS = 6

OPTIMIZERS = [
    ("rmsprop", {"kind": "rmsprop", "lr": 0.01}),
    (
        "rmsprop_centered_momentum",
        {"kind": "rmsprop", "lr": 0.005, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.9, "centered": True},
    ),
    ("rmsprop_momentum", {"kind": "rmsprop", "lr": 0.01, "momentum": 0.5}),
    ("adagrad", {"kind": "adagrad", "lr": 0.05}),
    (
        "adagrad_custom",
        {"kind": "adagrad", "lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-8},
    ),
    ("adadelta", {"kind": "adadelta"}),
    ("adadelta_custom", {"kind": "adadelta", "lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01}),
    # SGD and Adam as well, every element compared (tests/parity.rs samples the big network's
    # first weight).
    ("sgd_momentum", {"kind": "sgd", "lr": 0.1, "momentum": 0.9}),
    ("sgd_nesterov_decay", {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("sgd_dampening", {"kind": "sgd", "lr": 0.1, "momentum": 0.5, "dampening": 0.3}),
    ("adam", {"kind": "adam", "lr": 0.01}),
    ("adam_decay", {"kind": "adam", "lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
    ("adamw", {"kind": "adamw", "lr": 0.01, "weight_decay": 0.1}),
]


def make_optimizer(cfg, params):
    kwargs = {k: v for k, v in cfg.items() if k != "kind"}
    # The single-tensor implementations, which PyTorch uses on the CPU anyway.
    make = {
        "rmsprop": torch.optim.RMSprop,
        "adagrad": torch.optim.Adagrad,
        "adadelta": torch.optim.Adadelta,
        "sgd": torch.optim.SGD,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
    }
    return make[cfg["kind"]](params, foreach=False, **kwargs)


def network():
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))


def run_optimizer(cfg, state, x, t, dtype):
    m = network().to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in state.items()})
    opt = make_optimizer(cfg, m.parameters())
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.mse_loss(m(x.to(dtype)), t.to(dtype))
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return losses, {n: p.detach().clone() for n, p in m.named_parameters()}


def certify(what, pairs):
    """Raises unless every float32 result is within MARGIN tolerances of float64's."""
    worst = 0.0
    for name, got, ref, floor in pairs:
        got, ref = flat64(got, 1), flat64(ref, 1)
        ratio = ((got - ref).abs() / tolerance(ref, floor)).max().item()
        if not ratio <= MARGIN:
            raise AssertionError(f"{what}: {name}: float32 is {ratio:.2f} tolerances from float64")
        worst = max(worst, ratio)
    return worst


def optimizers_fixture(state, x, t):
    runs = []
    for name, cfg in OPTIMIZERS:
        l32, p32 = run_optimizer(cfg, state, x, t, torch.float32)
        l64, p64 = run_optimizer(cfg, state, x, t, torch.float64)
        pairs = [(f"loss {s}", a, b, False) for s, (a, b) in enumerate(zip(l32, l64))]
        pairs += [(n, p32[n], p64[n], True) for n in p32]
        worst = certify(name, pairs)
        print(f"  {name}: float32 within {worst:.3f} tolerances of float64")
        runs.append(
            {
                "name": name,
                "config": floats_to_f32(cfg),
                "losses": [f32(v.item()) for v in l32],
                "params": [{"name": n, **tensor(p)} for n, p in p32.items()],
            }
        )
    return runs


def clip_run(grads, dtype, how, arg):
    m = network().to(dtype)
    for (n, p), g in zip(m.named_parameters(), grads):
        p.grad = g.to(dtype).clone()
    if how == "norm":
        total = nn.utils.clip_grad_norm_(m.parameters(), max_norm=arg[0], norm_type=arg[1], foreach=False)
    else:
        nn.utils.clip_grad_value_(m.parameters(), clip_value=arg, foreach=False)
        total = torch.zeros(())
    return total.detach(), [p.grad.detach().clone() for p in m.parameters()]


def clip_fixture():
    gen = torch.Generator().manual_seed(31)
    shapes = [p.shape for p in network().parameters()]
    grads = [torch.randn(s, generator=gen) * 0.7 for s in shapes]
    norm_cases = []
    for max_norm, norm_type in [(1.0, 2.0), (100.0, 2.0), (0.5, float("inf")), (100.0, float("inf")), (2.0, 1.0), (1.0, 3.0)]:
        t32, g32 = clip_run(grads, torch.float32, "norm", (max_norm, norm_type))
        t64, g64 = clip_run(grads, torch.float64, "norm", (max_norm, norm_type))
        pairs = [("total", t32, t64, False)] + [(f"grad {i}", a, b, True) for i, (a, b) in enumerate(zip(g32, g64))]
        certify(f"clip_grad_norm_({max_norm}, {norm_type})", pairs)
        norm_cases.append(
            {
                "max_norm": f32(max_norm),
                "norm_type": "inf" if norm_type == float("inf") else f32(norm_type),
                "total_norm": f32(t32.item()),
                "grads": tensor(torch.cat([g.reshape(-1) for g in g32])),
            }
        )
    _, v32 = clip_run(grads, torch.float32, "value", 0.4)
    return {
        "grads": tensor(torch.cat([g.reshape(-1) for g in grads])),
        "norm": norm_cases,
        "value": {"clip_value": f32(0.4), "grads": tensor(torch.cat([g.reshape(-1) for g in v32]))},
    }


def schedule(make, steps, optimizer="sgd", metrics=None, momentum=False):
    p = nn.Parameter(torch.zeros(1))
    if optimizer == "sgd":
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    else:
        opt = torch.optim.Adam([p], lr=0.1)
    sched = make(opt)
    lrs, moms = [], []
    for s in range(steps):
        if metrics is None:
            g = opt.param_groups[0]
            lrs.append(f32(g["lr"]))
            moms.append(f32(g["momentum"] if "momentum" in g else g["betas"][0]))
            opt.step()
            sched.step()
        else:
            opt.step()
            sched.step(metrics[s])
            lrs.append(f32(opt.param_groups[0]["lr"]))
    if metrics is None:
        # The rate after the last step too: OneCycleLR defines it at step total_steps (and
        # raises one step later).
        g = opt.param_groups[0]
        lrs.append(f32(g["lr"]))
        moms.append(f32(g["momentum"] if "momentum" in g else g["betas"][0]))
    out = {"lr": lrs}
    if momentum:
        out["momentum"] = moms
    return out


def schedules_fixture():
    from torch.optim.lr_scheduler import ExponentialLR, LinearLR, OneCycleLR, ReduceLROnPlateau

    gen = torch.Generator().manual_seed(32)
    # A validation loss that falls, stalls, and falls again, with steps exactly at and
    # just inside the relative threshold (1e-4) of the best so far.
    metrics = [1.0, 0.8, 0.7, 0.7, 0.69995, 0.6999, 0.7, 0.71, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49]
    metrics += (0.5 + 0.01 * torch.rand(14, generator=gen, dtype=torch.float64)).tolist()
    metrics = [f32(v).value for v in metrics]
    return [
        {"name": "linear_lr_default", "base_lr": f32(0.1), **schedule(lambda o: LinearLR(o), 8)},
        {
            "name": "linear_lr",
            "base_lr": f32(0.1),
            "start_factor": f32(0.25),
            "end_factor": f32(0.9),
            "total_iters": 4,
            **schedule(lambda o: LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=4), 8),
        },
        {"name": "exponential_lr", "base_lr": f32(0.1), "gamma": f32(0.9), **schedule(lambda o: ExponentialLR(o, gamma=0.9), 12)},
        {
            "name": "one_cycle_lr",
            "max_lr": f32(0.1),
            "total_steps": 20,
            **schedule(lambda o: OneCycleLR(o, max_lr=0.1, total_steps=20), 20, momentum=True),
        },
        {
            "name": "one_cycle_lr_three_phase_linear_adam",
            "max_lr": f32(0.01),
            "total_steps": 15,
            "pct_start": f32(0.25),
            "div_factor": f32(10.0),
            "final_div_factor": f32(100.0),
            "base_momentum": f32(0.8),
            "max_momentum": f32(0.9),
            **schedule(
                lambda o: OneCycleLR(
                    o,
                    max_lr=0.01,
                    total_steps=15,
                    pct_start=0.25,
                    anneal_strategy="linear",
                    div_factor=10.0,
                    final_div_factor=100.0,
                    base_momentum=0.8,
                    max_momentum=0.9,
                    three_phase=True,
                ),
                15,
                optimizer="adam",
                momentum=True,
            ),
        },
        {
            "name": "reduce_lr_on_plateau",
            "initial_lr": f32(0.1),
            "factor": f32(0.5),
            "patience": 1,
            "cooldown": 1,
            "min_lr": f32(0.02),
            "metrics": [f32(v) for v in metrics],
            **schedule(
                lambda o: ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1, min_lr=0.02),
                len(metrics),
                metrics=metrics,
            ),
        },
        {
            "name": "reduce_lr_on_plateau_default",
            "initial_lr": f32(0.1),
            "metrics": [f32(v) for v in metrics],
            **schedule(lambda o: ReduceLROnPlateau(o), len(metrics), metrics=metrics),
        },
    ]


def metrics_fixture():
    gen = torch.Generator().manual_seed(33)
    logits = torch.randn(12, 5, generator=gen)
    target = torch.randint(0, 5, (12,), generator=gen)
    acc = {}
    for k in (1, 2, 3):
        hit = (logits.topk(k, dim=1).indices == target[:, None]).any(dim=1)
        acc[str(k)] = {"correct": int(hit.sum().item()), "accuracy": f32(hit.float().mean().item())}
    return {"logits": tensor(logits), "target": [int(v) for v in target.tolist()], "top_k": acc}


def losses_fixture():
    torch.manual_seed(34)
    cases = []
    x = torch.randn(7, 5) * 3
    t = torch.tensor([1, 2, 3, 0, 4, 4, 2])
    log_probs = F.log_softmax(x, dim=1).detach()
    cases.append(loss_case("nll", {"kind": "nll"}, nn.NLLLoss(), log_probs, t))
    cases.append(loss_case("cross_entropy_int64", {"kind": "cross_entropy", "label_smoothing": 0.0}, nn.CrossEntropyLoss(), x, t))
    # Probabilities: softmax rows, a one-hot row, a row that does not sum to 1 (PyTorch does
    # not ask it to), and logits of +-1e4.
    x = torch.randn(6, 5) * 3
    x[0] = torch.tensor([1e4, -1e4, 0.0, 5.0, -5.0])
    p = F.softmax(torch.randn(6, 5), dim=1)
    p[1] = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0])
    p[2] = torch.tensor([0.3, 0.0, 0.5, 0.1, 0.4])
    shifted = torch.randn(4, 6) * 2 + 1e4
    ps = F.softmax(torch.randn(4, 6), dim=1)
    for eps in (0.0, 0.1):
        spec = {"kind": "cross_entropy", "label_smoothing": eps}
        suffix = "" if eps == 0.0 else "_label_smoothing_0_1"
        ce = nn.CrossEntropyLoss(label_smoothing=eps)
        cases.append(loss_case("cross_entropy_probabilities" + suffix, spec, ce, x, p))
        cases.append(loss_case("cross_entropy_probabilities_near_1e4" + suffix, spec, ce, shifted, ps))
    return cases


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(30)
    m = network()
    state = {k: v.detach().clone() for k, v in m.state_dict().items()}
    gen = torch.Generator().manual_seed(35)
    x = torch.randn(BATCH, 6, generator=gen)
    t = torch.randn(BATCH, 3, generator=gen)
    write(
        "everyday.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "network": {
                "state": [{"name": n, **tensor(v)} for n, v in state.items()],
                "input": tensor(x),
                "target": tensor(t),
                "steps": STEPS,
            },
            "optimizers": optimizers_fixture(state, x, t),
            "clip": clip_fixture(),
            "schedules": schedules_fixture(),
            "metrics": metrics_fixture(),
            "losses": losses_fixture(),
        },
    )


if __name__ == "__main__":
    main()
