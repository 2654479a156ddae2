#!/usr/bin/env python3
"""Writes the PyTorch parity fixture for `ConvTranspose2d` and for `bias = false`:
nn.ConvTranspose2d at stride 1, 2 and 3, with padding, output padding and without bias, on
images that are not square, and nn.Conv2d and nn.Linear built with bias=False.
tests/parity_image.rs checks the convolutions against it, tests/parity_layers.rs the Linear,
tests/init.rs the initialisation, tests/load_options.rs the loading of a PyTorch state dict of
layers built with bias=False.

The tests need no Python: the JSON file is committed. To make it again, from the repository
root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_conv_transpose_fixture.py

Deterministic (fixed seeds, float32, one thread, PyTorch's deterministic algorithms). The
cases are made exactly as tools/make_image_fixtures.py makes its own (its `layer_case`,
imported): the parameters PyTorch's own initialisation draws from the seed, the input and
the upstream gradient standard normal, and every case computed again in float64 and refused
unless PyTorch's float32 result lies within half of the test's tolerance of float64's, so
that a failure in the tests means a wrong formula, not rounding.

What it writes into tests/fixtures/conv_transpose.json:
  "cases", each as in image_layers.json (see tools/make_image_fixtures.py):
    "name", "torch" (repr), "network" (how `network!` spells the layer, what
    `Layer::describe` writes), "input" [BATCH, C, H, W] or [BATCH, IN], "upstream" (the
    gradient of L = sum(c * layer(x)) with respect to the output), "output", "input_grad",
    "params" (PyTorch's initial parameters, in named_parameters() order: no "bias" for a
    layer built without one) and "param_grads"
  "init", for each module: "torch" (repr), "weight_shape", "fan_in" (PyTorch's, from the
    weight: its dimension 1 times the kernel), "bound" (the bound kaiming_uniform_(a=sqrt(5))
    draws the weight within, and the bias too), "has_bias", and "weight_draw", the mean,
    standard deviation, minimum and maximum of PyTorch's own draw

and tests/fixtures/conv_transpose_no_bias.safetensors, the state dict of
nn.Sequential(ConvTranspose2d(2, 3, 2, stride=2, bias=False), ReLU(), Conv2d(3, 4, 3,
bias=False), Flatten(), Linear(64, 5, bias=False)) as safetensors.torch.save_file writes it
(`0.weight`, `2.weight`, `4.weight`: no bias), with "check.input", a batch of 4 images
[4, 2, 3, 3], and "check.output", the network's output on it, [4, 5].
"""

import math
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_image_fixtures  # noqa: E402
from make_fixtures import OUT_DIR, f32, write  # noqa: E402
from make_image_fixtures import BATCH, layer_case, normal  # noqa: E402

# Every compared tensor of a convolution or a Linear is a sum of products of both signs (over
# the taps, the output positions a pixel feeds, the batch), which can cancel to near zero:
# floors, as for make_image_fixtures' convolutions (tests/parity_image.rs says why).
ALL_FLOORS = {"output": True, "input_grad": True, "weight": True, "bias": True}


def cases(gen):
    """(name, module, how network! spells it, input)."""
    return [
        (
            "convt_s1",
            nn.ConvTranspose2d(2, 3, 3),
            "ConvTranspose2d<2, 3, 3>",
            normal(gen, BATCH, 2, 3, 4),
        ),
        (
            "convt_s2_p1",
            nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1),
            "ConvTranspose2d<3, 2, 3, stride = 2, padding = 1>",
            normal(gen, BATCH, 3, 4, 5),
        ),
        (
            # The output padding adds the bottom row and the right column: 2H and 2W.
            "convt_s2_p1_op1",
            nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1),
            "ConvTranspose2d<2, 4, 3, stride = 2, padding = 1, output_padding = 1>",
            normal(gen, BATCH, 2, 3, 5),
        ),
        (
            # DCGAN's step, which its generator takes without bias: kernel 4, stride 2,
            # padding 1 doubles each side.
            "convt_k4_s2_p1_no_bias",
            nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, bias=False),
            "ConvTranspose2d<4, 2, 4, stride = 2, padding = 1, bias = false>",
            normal(gen, BATCH, 4, 4, 3),
        ),
        (
            # Stride above the kernel: output pixels that no input reaches, and an output
            # padding of 2 reaching past the last window.
            "convt_s3_p1_op2",
            nn.ConvTranspose2d(2, 3, 2, stride=3, padding=1, output_padding=2),
            "ConvTranspose2d<2, 3, 2, stride = 3, padding = 1, output_padding = 2>",
            normal(gen, BATCH, 2, 3, 2),
        ),
        (
            "conv_p1_no_bias",
            nn.Conv2d(3, 4, 3, padding=1, bias=False),
            "Conv2d<3, 4, 3, padding = 1, bias = false>",
            normal(gen, BATCH, 3, 5, 6),
        ),
        (
            "conv_s2_no_bias",
            nn.Conv2d(2, 17, 3, stride=2, bias=False),
            "Conv2d<2, 17, 3, stride = 2, bias = false>",
            normal(gen, BATCH, 2, 7, 8),
        ),
        (
            "linear_no_bias",
            nn.Linear(6, 5, bias=False),
            "Linear<6, 5, bias = false>",
            normal(gen, BATCH, 6),
        ),
    ]


def draw_stats(t):
    t = t.detach().to(torch.float64).reshape(-1)
    return {
        "mean": f32(t.mean().item()),
        "std": f32(t.std().item()),
        "min": f32(t.min().item()),
        "max": f32(t.max().item()),
    }


def init_case(module):
    """PyTorch's default initialisation of `module`: the fan in and bound it computes, and
    its own draw's statistics."""
    w = module.weight
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(w)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)): gain sqrt(2/6), times sqrt(3)
    if not (w.abs().max().item() <= bound):
        raise AssertionError(f"{module}: weight outside the bound")
    if module.bias is not None and not (module.bias.abs().max().item() <= bound):
        raise AssertionError(f"{module}: bias outside the bound")
    return {
        "torch": repr(module),
        "weight_shape": list(w.shape),
        "fan_in": fan_in,
        "bound": f32(bound),
        "has_bias": module.bias is not None,
        "weight_draw": draw_stats(w),
    }


def no_bias_checkpoint():
    """A small generator of images without any bias, saved as PyTorch users save one."""
    torch.manual_seed(2)
    net = nn.Sequential(
        nn.ConvTranspose2d(2, 3, 2, stride=2, bias=False),
        nn.ReLU(),
        nn.Conv2d(3, 4, 3, bias=False),
        nn.Flatten(),
        nn.Linear(64, 5, bias=False),
    )
    x = torch.randn(4, 2, 3, 3)
    with torch.no_grad():
        y = net(x)
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    assert sorted(state) == ["0.weight", "2.weight", "4.weight"], sorted(state)
    state["check.input"] = x.contiguous()
    state["check.output"] = y.contiguous()
    path = os.path.join(OUT_DIR, "conv_transpose_no_bias.safetensors")
    save_file(state, path)
    os.chmod(path, 0o644)
    print(f"wrote {os.path.relpath(path)} with {sorted(state)}")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)  # the modules' own initialisation
    gen = torch.Generator().manual_seed(12)
    made = cases(gen)
    for name, *_ in made:
        make_image_fixtures.FLOORS[name] = ALL_FLOORS
    out = [layer_case(*case, gen) for case in made]
    torch.manual_seed(1)
    init = [
        init_case(nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)),
        init_case(nn.ConvTranspose2d(16, 48, 3, bias=False)),
    ]
    write(
        "conv_transpose.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "batch": BATCH,
            "cases": out,
            "init": init,
        },
    )
    no_bias_checkpoint()


if __name__ == "__main__":
    main()
