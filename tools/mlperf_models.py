"""MLPerf Tiny's four reference models in PyTorch, as mlcommons/tiny defines them in Keras
(benchmark/training/*/keras_model.py), with the state-dict names of examples/mlperf/models.rs.

TensorFlow's padding='same' is Conv2dSame below: the padding that gives ceil(n / stride)
outputs, split with the odd row or column at the end (PyTorch's padding='same' refuses a
stride above 1). Keras's Conv2D and DepthwiseConv2D have a bias by default, and so do these.
The reference's Dropout layers (the identity at inference) are left out, as in the Rust
declarations, so that a training step is deterministic.

Also MobileLayers: one small network through every layer issue 18 adds (groups, a
rectangular kernel, dilation, padding='same' at stride 2, MaxPool2d with a stride and
padding, AvgPool2d with a rectangular window, AdaptiveAvgPool2d(1)).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def same_pads(n, k, s, d=1):
    """TensorFlow's 'same' padding of one side: (before, after)."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """nn.Conv2d with TensorFlow's padding='same', for the input size it is built for."""

    def __init__(self, cin, cout, k, h, w, stride=1, groups=1, bias=True):
        super().__init__(cin, cout, k, stride=stride, groups=groups, bias=bias)
        kh, kw = self.kernel_size
        sh, sw = self.stride
        top, bottom = same_pads(h, kh, sh)
        left, right = same_pads(w, kw, sw)
        self.pads = (left, right, top, bottom)

    def forward(self, x):
        return super().forward(F.pad(x, self.pads))


def separable(cin, cout, h, w, stride):
    """A depthwise-separable block: 3x3 depthwise (same), BN, ReLU, 1x1, BN, ReLU."""
    return [
        Conv2dSame(cin, cin, 3, h, w, stride=stride, groups=cin),
        nn.BatchNorm2d(cin),
        nn.ReLU(),
        nn.Conv2d(cin, cout, 1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    ]


def ds_cnn():
    layers = [Conv2dSame(1, 64, (10, 4), 49, 10, stride=2), nn.BatchNorm2d(64), nn.ReLU()]
    for _ in range(4):
        layers += separable(64, 64, 25, 5, 1)
    layers += [nn.AvgPool2d((25, 5)), nn.Flatten(), nn.Linear(64, 12)]
    return nn.Sequential(*layers)


MOBILENET = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]


def mobilenet_v1():
    layers = [Conv2dSame(3, 8, 3, 96, 96, stride=2), nn.BatchNorm2d(8), nn.ReLU()]
    c, side = 8, 48
    for cout, stride in MOBILENET:
        layers += separable(c, cout, side, side, stride)
        c, side = cout, math.ceil(side / stride)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 2)]
    return nn.Sequential(*layers)


def autoencoder():
    sizes = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
    layers.append(nn.Linear(128, 640))
    return nn.Sequential(*layers)


class Stack(nn.Module):
    """A ResNet-8 stack: two 3x3 convolutions (same), the shortcut a 1x1 strided projection
    (no BatchNorm, as the reference) where the stack strides."""

    def __init__(self, cin, cout, side, stride):
        super().__init__()
        self.conv1 = Conv2dSame(cin, cout, 3, side, side, stride=stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = Conv2dSame(cout, cout, 3, side // stride, side // stride)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride)
        else:
            self.shortcut = None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu((x if self.shortcut is None else self.shortcut(x)) + y)


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2dSame(3, 16, 3, 32, 32)
        self.bn1 = nn.BatchNorm2d(16)
        self.stack1 = Stack(16, 16, 32, 1)
        self.stack2 = Stack(16, 32, 32, 2)
        self.stack3 = Stack(32, 64, 16, 2)
        self.pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.stack3(self.stack2(self.stack1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class MobileLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False)
        self.grouped = nn.Conv2d(4, 6, (3, 2), padding=(2, 1), dilation=2, groups=2)
        self.max = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg = nn.AvgPool2d((2, 3), stride=1, padding=1)
        self.same = Conv2dSame(6, 8, (3, 2), 6, 5, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(14, 3)

    def forward(self, x):
        a = F.relu(self.dw(x))
        b = self.grouped(a)
        c = self.max(b)
        e = self.same(F.relu(self.avg(b)))
        return self.fc(torch.flatten(self.gap(torch.cat([c, e], dim=1)), 1))


def mult_adds(m, x):
    """Multiply-adds of one sample as torchinfo counts them (its LayerInfo.calculate_macs): a
    convolution's weight and bias times its output positions, another layer's weight and
    bias once."""
    total = 0

    def hook(mod, _inputs, out):
        nonlocal total
        own = sum(p.numel() for p in mod.parameters(recurse=False))
        total += own * (out.shape[2] * out.shape[3] if isinstance(mod, nn.Conv2d) else 1)

    handles = [mod.register_forward_hook(hook) for mod in m.modules()]
    m.eval()
    with torch.no_grad():
        m(x)
    for h in handles:
        h.remove()
    return total


if __name__ == "__main__":
    shapes = {"ds_cnn": (1, 1, 49, 10), "mobilenet_v1": (1, 3, 96, 96), "ResNet8": (1, 3, 32, 32), "autoencoder": (1, 640)}
    for make in (ds_cnn, mobilenet_v1, ResNet8, autoencoder):
        m = make()
        params = sum(p.numel() for p in m.parameters())
        print(f"{make.__name__}: {params} parameters, {mult_adds(m, torch.zeros(shapes[make.__name__]))} mult-adds")
