#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures of MLPerf Tiny's four reference models and of the layers
they need (tools/mlperf_models.py holds the PyTorch ports), in the format and with the checks
of tools/make_graph_fixtures.py, whose machinery this script uses: the initial state dict in
tests/fixtures/mlperf_<name>.safetensors, and under "models" -> <name> in
tests/fixtures/mlperf.json the outputs (training mode), the loss, every gradient, the input's
gradient, three optimizer steps, the eval outputs after them and the certified tolerance.

To keep the files small, every tensor of more than SAMPLE_ABOVE elements in "grads" and
"trained" (and the input gradient of the image models) keeps every STRIDE-th element only
("stride": 11), as make_graph_fixtures.py does for the VAE. A bias before BatchNorm has a
gradient that is zero but for rounding: its tensor carries "floor", the model's largest
gradient, which the comparison uses instead of its own largest value.

Run from the repository root: .venv/bin/python tools/make_mlperf_fixtures.py

Models (the loss is mse_loss against a random target of the output's shape; inputs drawn
after the weights from the same torch.manual_seed stream):
  "mobile_layers" MobileLayers: depthwise Conv2d(stride 2, padding 1, groups 4, bias=False),
                  Conv2d((3, 2), padding (2, 1), dilation 2, groups 2), MaxPool2d(3, stride 2,
                  padding 1), AvgPool2d((2, 3), stride 1, padding 1), a (3, 2) stride-2
                  convolution with TensorFlow's 'same' padding, AdaptiveAvgPool2d(1); x 3 x 4 x
                  10 x 9. SGD(lr=0.1, momentum=0.9).
  "ds_cnn"        keyword spotting, x 4 x 1 x 49 x 10. SGD(lr=0.05, momentum=0.9).
Not "mobilenet_v1": in training mode at the batches a fixture can hold (2 or 4 images of
96 x 96) PyTorch's own float32 result is 0.35% from float64 in the first gradients and its
trained BatchNorm biases move by more than 100% under a perturbation of 1e-6 (channels whose
ReLU leaves almost nothing, which BatchNorm then divides by almost nothing), so no tolerance
certifies it; its layers are the DS-CNN's, which is certified. Its eval-mode outputs have a
fixture of their own (tools/make_mobilenet_eval_fixture.py).
  "resnet8"       image classification, x 4 x 3 x 32 x 32. SGD(lr=0.05, momentum=0.9).
  "autoencoder"   anomaly detection, x 16 x 640, its target x itself. SGD(lr=0.1).
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_graph_fixtures as graph  # noqa: E402
from make_fixtures import write  # noqa: E402
from mlperf_models import MobileLayers, ResNet8, autoencoder, ds_cnn  # noqa: E402

SAMPLE_ABOVE = 1024


def big(make):
    """The state-dict names of `make`'s tensors of more than SAMPLE_ABOVE elements."""
    return {k for k, v in make().state_dict().items() if v.numel() > SAMPLE_ABOVE}


def image_model(name, make, seed, x_shape, out, optimizer):
    return {
        "name": name,
        "file": f"mlperf_{name}",
        "make": make,
        "seed": seed,
        "inputs": lambda: {"x": torch.randn(*x_shape), "target": torch.randn(x_shape[0], out)},
        "forward": lambda m, i: {"out": m(i["x"])},
        "loss": lambda o, i: F.mse_loss(o["out"], i["target"]),
        "optimizer": optimizer,
        "sampled": big(make),
        "sampled_inputs": {"x"} if x_shape[-1] * x_shape[-2] * x_shape[-3] > SAMPLE_ABOVE else set(),
    }


SGD = {"kind": "sgd", "lr": 0.05, "momentum": 0.9}
# SGD for every model: a bias before BatchNorm has a gradient of rounding noise only, which
# Adam would scale up to steps of lr in a direction no two implementations share.
SGD_AE = {"kind": "sgd", "lr": 0.1}

MODELS = [
    image_model("mobile_layers", MobileLayers, 50, (3, 4, 10, 9), 3, {"kind": "sgd", "lr": 0.1, "momentum": 0.9}),
    image_model("ds_cnn", ds_cnn, 51, (4, 1, 49, 10), 12, SGD),
    image_model("resnet8", ResNet8, 53, (4, 3, 32, 32), 10, SGD),
    {
        "name": "autoencoder",
        "file": "mlperf_autoencoder",
        "make": autoencoder,
        "seed": 54,
        "inputs": lambda: {"x": torch.randn(16, 640)},
        "forward": lambda m, i: {"out": m(i["x"])},
        "loss": lambda o, i: F.mse_loss(o["out"], i["x"].detach()),  # the target a constant
        "optimizer": SGD_AE,
        "sampled": big(autoencoder),
    },
]


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    only = sys.argv[1:]
    models = {spec["name"]: graph.case(spec) for spec in MODELS if not only or spec["name"] in only}
    write(
        "mlperf.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "steps": graph.STEPS,
            "tolerance_rule": "|a - b| <= tolerance * |b| + tolerance * max|b| over each tensor",
            "models": models,
        },
    )


if __name__ == "__main__":
    main()
