#!/usr/bin/env python3
"""Writes the weights-interop fixtures that tests/interop.rs checks `nn` against: safetensors
files written by PyTorch for Rust to read, and PyTorch's outputs on safetensors files that Rust
wrote. The tests need no Python: everything here is committed.

To make them again, from the repository root, in this order:

    # 1. the Rust-written files (tests/fixtures/rust_mnist.safetensors, rust_named.safetensors)
    NN_WRITE_FIXTURES=1 cargo test --test interop to_pytorch
    # 2. this script: PyTorch's files, and PyTorch's outputs on both sides' files
    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_weight_fixtures.py
    # 3. the tests
    cargo test --test interop

Step 1 is needed only when the Rust side's numbers change (initialisation, training, the file
writer); the test then fails and says so, because the committed file is no longer what the code
writes. The script is deterministic (fixed seeds, float32, one thread, deterministic
algorithms), so rerunning it with the pinned packages rewrites the same bytes.

The networks. "mnist" is the MNIST network (784-128 ReLU BatchNorm 128-10) as nn.Sequential
(keys 0.weight, 2.running_mean, ...); "named" is the same layers as attributes fc1, act, bn, fc2
of a Module (keys fc1.weight, bn.running_mean, ...). Rust declares them with nn::network!.

What it writes into tests/fixtures/:
  torch_mnist.safetensors, torch_named.safetensors
      Each network trained for STEPS steps of SGD (lr 0.05, momentum 0.9) in train mode on
      seeded standard-normal batches of BATCH rows, so that BatchNorm's running statistics and
      num_batches_tracked (= STEPS) are not their initial values; saved with
      safetensors.torch.save_file(model.state_dict(), path).
  weights_interop.json
      "input": the fixed batch (ROWS rows of standard-normal data, base64 float32) on which
      every output below is computed, in eval mode.
      "from_pytorch": per network, the file PyTorch wrote (name, size, CRC-32), its eval-mode
      output and its num_batches_tracked.
      "to_pytorch": per network, the file Rust wrote (name, size, CRC-32 of the bytes PyTorch
      loaded), and PyTorch's eval-mode output after model.load_state_dict(
      safetensors.torch.load_file(path), strict=True).
      The CRC-32s let the test prove that the outputs belong to the committed files.

Loading is strict, and stricter than load_state_dict alone: load_state_dict raises on missing
or unexpected keys and on shape mismatches, but silently casts a tensor of another dtype (an F64
weight, an F32 num_batches_tracked). So every tensor's dtype and shape is checked against the
model's state_dict first. Any failure stops the script with an error, writing nothing.

Tensors in the JSON use tools/make_fixtures.py's format (exact float32 values; see its header).

Conditioning. Each output is also computed in float64 from the same float32 weights and inputs,
and the script refuses to write it unless PyTorch's float32 result lies within half of the test's
tolerance of float64's (|a - b| <= REL |b| + REL max|b|, as tests/interop.rs checks), so a failure
in the test points at Rust's arithmetic or its reading of the file, not at rounding.
"""

import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_fixtures as mf  # noqa: E402  (exact float32 JSON: F32, tensor, write)
import safetensors  # noqa: E402
import safetensors.torch  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

OUT_DIR = mf.OUT_DIR
STEPS = 5
BATCH = 32
ROWS = 8
INPUT_SEED = 0
# Per network: (key, PyTorch's file, Rust's file, training seed).
NETWORKS = [
    ("mnist", "torch_mnist.safetensors", "rust_mnist.safetensors", 1),
    ("named", "torch_named.safetensors", "rust_named.safetensors", 2),
]
REL = 1e-5
MARGIN = 0.5


class Named(nn.Module):
    """The MNIST network with named layers: state-dict keys fc1.weight, bn.running_mean, ..."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.act = nn.ReLU()
        self.bn = nn.BatchNorm1d(128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(self.bn(self.act(self.fc1(x))))


def build(key):
    if key == "mnist":
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.BatchNorm1d(128), nn.Linear(128, 10))
    if key == "named":
        return Named()
    raise ValueError(key)


def train(model, seed):
    """STEPS SGD steps in train mode, each on a new seeded batch."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, foreach=False)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(STEPS):
        x = torch.randn(BATCH, 784, generator=gen)
        y = torch.randint(0, 10, (BATCH,), generator=gen)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()


def file_facts(path):
    with open(path, "rb") as f:
        data = f.read()
    return {"bytes": len(data), "crc32": zlib.crc32(data)}


def certified_eval(what, key, state, x):
    """The eval-mode output of network `key` holding `state`, after checking that float32
    PyTorch is within MARGIN tolerances of float64 on it."""
    out = {}
    for dtype in (torch.float32, torch.float64):
        model = build(key).to(dtype)
        model.load_state_dict({k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}, strict=True)
        model.eval()
        with torch.no_grad():
            out[dtype] = model(x.to(dtype))
    y32, y64 = out[torch.float32], out[torch.float64]
    tol = REL * y64.abs() + REL * y64.abs().max()
    ratio = ((y32.to(torch.float64) - y64).abs() / tol).max().item()
    if not ratio <= MARGIN:
        raise AssertionError(f"{what}: float32 is {ratio:.2f} tolerances from float64")
    print(f"  {what}: float32 within {ratio:.3f} tolerances of float64")
    return y32


def strict_load(key, path):
    """A model of network `key` holding the file at `path`; fails unless the file holds exactly
    the model's state-dict keys, each with its dtype and shape."""
    if not os.path.exists(path):
        raise SystemExit(
            f"error: {os.path.relpath(path)} is missing; write it first with\n"
            "    NN_WRITE_FIXTURES=1 cargo test --test interop to_pytorch"
        )
    model = build(key)
    loaded = safetensors.torch.load_file(path)
    want = model.state_dict()
    problems = []
    for k in sorted(set(want) | set(loaded)):
        if k not in loaded:
            problems.append(f"missing tensor {k}")
        elif k not in want:
            problems.append(f"unexpected tensor {k}")
        elif loaded[k].dtype != want[k].dtype or loaded[k].shape != want[k].shape:
            problems.append(
                f"{k}: {loaded[k].dtype} {list(loaded[k].shape)}, but the model's is "
                f"{want[k].dtype} {list(want[k].shape)}"
            )
    if problems:
        raise SystemExit(f"error: {os.path.relpath(path)} does not fit {key}:\n  " + "\n  ".join(problems))
    # strict=True raises on missing or unexpected keys and shape mismatches; checked above too.
    result = model.load_state_dict(loaded, strict=True)
    if result.missing_keys or result.unexpected_keys:
        raise SystemExit(f"error: {os.path.relpath(path)}: {result}")
    return model


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    os.makedirs(OUT_DIR, exist_ok=True)

    torch.manual_seed(INPUT_SEED)
    x = torch.randn(ROWS, 784)

    # Read Rust's files first, so that a bad one stops the script before it writes anything.
    to_pytorch = []
    for key, _, rust_file, _ in NETWORKS:
        path = os.path.join(OUT_DIR, rust_file)
        model = strict_load(key, path)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        nbt = [int(v.item()) for k, v in state.items() if k.endswith("num_batches_tracked")]
        to_pytorch.append(
            {
                "network": key,
                "file": rust_file,
                **file_facts(path),
                "num_batches_tracked": nbt[0],
                "eval_output": mf.tensor(certified_eval(rust_file, key, state, x)),
            }
        )

    from_pytorch = []
    for key, torch_file, _, seed in NETWORKS:
        torch.manual_seed(seed)
        model = build(key)
        train(model, seed)
        path = os.path.join(OUT_DIR, torch_file)
        safetensors.torch.save_file(model.state_dict(), path)
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path):,} bytes)")
        state = {k: v.clone() for k, v in model.state_dict().items()}
        nbt = [int(v.item()) for k, v in state.items() if k.endswith("num_batches_tracked")]
        assert nbt == [STEPS], nbt
        from_pytorch.append(
            {
                "network": key,
                "file": torch_file,
                **file_facts(path),
                "num_batches_tracked": nbt[0],
                "eval_output": mf.tensor(certified_eval(torch_file, key, state, x)),
            }
        )

    mf.write(
        "weights_interop.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "safetensors_version": safetensors.__version__,
            "input": mf.tensor(x),
            "from_pytorch": from_pytorch,
            "to_pytorch": to_pytorch,
        },
    )


if __name__ == "__main__":
    main()
