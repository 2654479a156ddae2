#!/usr/bin/env python3
"""Writes the checkpoint that tests/load_options.rs loads with a key prefix: a PyTorch model's
state dict saved inside a wrapper, as training frameworks do (PyTorch Lightning's
`LightningModule` holding the network as `self.model`, `torch.compile`'s `_orig_mod.`,
`DataParallel`'s `module.`), so every key starts with `model.`.

The tests need no Python: the file is committed. To make it again, from the repository root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_load_fixtures.py

Deterministic (fixed seed, float32, one thread): rerunning it with the pinned packages rewrites
the same bytes.

What it writes into tests/fixtures/load_checkpoint.safetensors:
  model.fc1.weight ... model.fc2.bias   the network `Net` below (fc1, act, bn, fc2), trained for
                                        three SGD steps in train mode so that BatchNorm's running
                                        statistics and num_batches_tracked (= 3) are not their
                                        initial values; `model.` is the wrapper's attribute name
  check.input                           a batch of 4 rows, [4, 6]
  check.output                          the network's eval-mode output on it, [4, 2]
The `check.` tensors lie outside the prefix: a load with prefix `model.` ignores them, and the
test reads them itself.
"""

import os

import torch
from safetensors.torch import save_file
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "load_checkpoint.safetensors")


class Net(nn.Module):
    """`nn::network! { struct Net { fc1: Linear<6, 5>, act: ReLU, bn: BatchNorm<5>, fc2: Linear<5, 2> } }`"""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.act = nn.ReLU()
        self.bn = nn.BatchNorm1d(5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        return self.fc2(self.bn(self.act(self.fc1(x))))


class Wrapper(nn.Module):
    """What a training framework saves: the network as an attribute, `model`."""

    def __init__(self):
        super().__init__()
        self.model = Net()


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    wrapper = Wrapper()
    opt = torch.optim.SGD(wrapper.parameters(), lr=0.1)
    wrapper.train()
    for _ in range(3):
        x = torch.randn(8, 6)
        loss = wrapper.model(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    wrapper.eval()
    x = torch.randn(4, 6)
    with torch.no_grad():
        y = wrapper.model(x)
    state = {k: v.detach().clone().contiguous() for k, v in wrapper.state_dict().items()}
    assert all(k.startswith("model.") for k in state), list(state)
    assert int(state["model.bn.num_batches_tracked"]) == 3
    state["check.input"] = x.contiguous()
    state["check.output"] = y.contiguous()
    save_file(state, OUT)
    print("wrote", os.path.normpath(OUT), "with", sorted(state))


if __name__ == "__main__":
    main()
