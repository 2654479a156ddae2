#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures for networks whose forward is code rather than a chain:
several inputs and outputs, branches, concatenation, a layer used twice, losses written from
the outputs.

The tests need no Python: the files are committed. To make them again, from the repository
root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt && .venv/bin/python tools/make_graph_fixtures.py

Deterministic (torch.manual_seed per model, float32, one thread, PyTorch's deterministic
algorithms). It shares the number format and the JSON writer of tools/make_fixtures.py.

Five models, each as a PyTorch user writes it (state-dict keys in brackets):
  "vae"          pytorch/examples' vae/main.py, the class in tools/pytorch_vae.py: fc1 =
                 Linear(784, 400), fc21, fc22 = Linear(400, 20), fc3 = Linear(20, 400), fc4 =
                 Linear(400, 784); forward(x, eps): h1 = relu(fc1(x)), mu = fc21(h1), logvar =
                 fc22(h1), z = mu + eps * exp(0.5 * logvar), recon = sigmoid(fc4(relu(fc3(z)))).
                 The noise eps is an input instead of torch.randn_like, so that the fixture is
                 deterministic. Loss, the example's: binary_cross_entropy(recon, x, sum) - 0.5 *
                 sum(1 + logvar - mu^2 - exp(logvar)). x: the first 8 images of
                 data/mnist/t10k-images-idx3-ubyte.gz, byte / 255. Adam(lr=1e-3).
                 [fc1.weight, fc1.bias, fc21.*, fc22.*, fc3.*, fc4.*]
  "basic_block"  torchvision's resnet.BasicBlock(inplanes=8, planes=16, stride=2, downsample=
                 Sequential(conv1x1(8, 16, stride=2), BatchNorm2d(16))), its definition copied
                 below from torchvision/models/resnet.py (torchvision is not a dependency):
                 conv3x3 is Conv2d(k 3, padding 1, bias=False), conv1x1 Conv2d(k 1, bias=False);
                 out = relu(bn1(conv1(x))), out = bn2(conv2(out)), out += downsample(x),
                 relu(out). PyTorch's default initialisation (torchvision's ResNet would re-draw
                 the convolutions, kaiming_normal_ fan_out; a BasicBlock alone does not). x: 4 x
                 8 x 12 x 12, training mode, mse_loss against `target` (4 x 16 x 6 x 6).
                 SGD(lr=0.1, momentum=0.9).
                 [conv1.weight, bn1.{weight, bias, running_mean, running_var,
                 num_batches_tracked}, conv2.weight, bn2.*, downsample.0.weight, downsample.1.*]
  "unet_level"   one U-Net level: enc = Conv2d(3, 8, 3, padding=1), mid = Conv2d(8, 16, 3,
                 padding=1), dec = Conv2d(24, 8, 3, padding=1), out = Conv2d(8, 1, 1); e =
                 relu(enc(x)), m = relu(mid(max_pool2d(e, 2))), u = interpolate(m, scale 2,
                 nearest), d = relu(dec(cat([u, e], dim=1))), out(d). x: 2 x 3 x 16 x 16,
                 mse_loss against `target` (2 x 1 x 16 x 16). SGD(lr=0.05).
                 [enc.weight, enc.bias, mid.*, dec.*, out.*]
  "siamese"      one encoder = Sequential(Linear(16, 32), ReLU(), Linear(32, 8)) applied to x1
                 and to x2 (6 x 16 each), outputs e1, e2; loss ((e1 - e2) ** 2).mean(). The
                 encoder's gradients are the sums over both uses. SGD(lr=0.1).
                 [encoder.0.weight, encoder.0.bias, encoder.2.weight, encoder.2.bias]
  "two_heads"    trunk = Linear(10, 32), cls = Linear(32, 3), reg = Linear(32, 1); h =
                 relu(trunk(x)), outputs logits = cls(h), value = reg(h); loss
                 cross_entropy(logits, labels) + 0.5 * mse_loss(value, target). x: 8 x 10,
                 labels: 8 class indices, target: 8 x 1. Adam(lr=1e-2).
                 [trunk.weight, trunk.bias, cls.*, reg.*]
Inputs are drawn after the weights, from the same torch.manual_seed stream (torch.randn for
float inputs, torch.randint for labels).

For each model, tests/fixtures/graph_<name>.safetensors holds the initial state dict as
`safetensors.torch.save_file(model.state_dict())` writes it (loadable with strict=True, which
the script checks), and tests/fixtures/graph.json has, under "models" -> <name>:
  "torch"           the model's repr; "keys": the state-dict keys in order; "seed"
  "optimizer"       {"kind": "adam" | "sgd", "lr", and "momentum" where there is one}
  "inputs"          {input name: tensor}; labels are {"shape": [8], "dtype": "int64", "data":
                    [integers]}
  "outputs"         {output name: tensor}, training mode, initial weights
  "loss"            the loss there
  "grads"           {parameter name: dL/dparameter} after one backward from the initial state
  "input_grads"     {input name: dL/dinput} for every float input; a target's gradient too
                    (for "vae", x is both the encoder's input and the BCE target, and its
                    gradient counts both uses; "input_grads_bce_target_constant" holds
                    {"x": ...} with the target taken as a constant, the encoder path only)
  "step_losses"     the loss of each of the STEPS optimizer steps (the first is "loss")
  "trained"         {state-dict name: tensor} after STEPS steps on the same batch, each
                    forward (training mode), loss, zero_grad, backward, step, from the initial
                    state: parameters and BatchNorm's running statistics, and
                    num_batches_tracked as {"shape": [], "dtype": "int64", "data": [3]}
  "eval_outputs"    {output name: tensor}: the trained model's outputs in eval mode on the
                    same inputs (the same as training mode but for "basic_block")
  "tolerance"       the relative tolerance REL the Rust test can use, see below; "float32_error"
                    and "perturbation" are the measurements it was chosen from
A tensor is {"shape": [...], "data": [...]} or, above 1,024 elements, {"shape": [...],
"f32le": "<base64>"}. The vae's fc1.weight and fc4.weight (313,600 elements) in "grads" and
"trained" keep only every STRIDE-th element of the flattened tensor, with "stride": STRIDE
(elements 0, 11, 22, ...; 11 divides neither 400 nor 784, so the sample meets every row and
column); everything else is whole.

Tolerance. Every number is computed again in float64 from the same float32 start, and again in
float64 from PERTURBATIONS starts (weights and inputs) moved by DELTA relative. Per model,
"tolerance" is the smallest REL in LADDER with which, for every tensor (the comparison the Rust
test makes: |a - b| <= REL * |b| + REL * max|b| over the tensor), PyTorch's float32 result is
within MARGIN tolerances of float64's and no perturbation moves the float64 result by more than
MARGIN tolerances: the float32 difference is PyTorch's own rounding, the perturbation how much
rounding of the inputs alone can move the result whatever the implementation. The script
refuses a model that needs more than the top of LADDER. num_batches_tracked must be equal.
With PyTorch 2.15 every model holds at 1e-5 but the vae, at 5e-5: Adam divides each gradient
element by its own RMS, and 15 of the 313,600 elements of its trained fc4.weight move by 2.1e-5
(relative, on the scale above) under the perturbation; PyTorch's float32 is within 1.1e-6.
"""

import os
import sys
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import OUT_DIR, f32, flat64, tensor, write  # noqa: E402
from pytorch_mnist import ROOT, load_t10k_split  # noqa: E402
from pytorch_vae import VAE, loss_function  # noqa: E402

STEPS = 3
STRIDE = 11
MARGIN = 0.5
LADDER = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3]
DELTA = 2.0**-20
PERTURBATIONS = 3
NEGLIGIBLE = 1e-4


# ---------------------------------------------------------------------------------------------
# torchvision's BasicBlock, copied from torchvision/models/resnet.py (BSD-3-Clause), less the
# arguments a BasicBlock refuses anyway (groups != 1, base_width != 64, dilation > 1).


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(
        in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups, bias=False, dilation=dilation
    )


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        # Both self.conv1 and self.downsample layers downsample the input when stride != 1
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)

        return out


def basic_block():
    return BasicBlock(8, 16, stride=2, downsample=nn.Sequential(conv1x1(8, 16, stride=2), nn.BatchNorm2d(16)))


# ---------------------------------------------------------------------------------------------
# The other models


class UNetLevel(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(3, 8, 3, padding=1)
        self.mid = nn.Conv2d(8, 16, 3, padding=1)
        self.dec = nn.Conv2d(24, 8, 3, padding=1)
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        e = F.relu(self.enc(x))
        m = F.relu(self.mid(F.max_pool2d(e, 2)))
        u = F.interpolate(m, scale_factor=2, mode="nearest")
        d = F.relu(self.dec(torch.cat([u, e], dim=1)))
        return self.out(d)


class Siamese(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))

    def forward(self, x1, x2):
        return self.encoder(x1), self.encoder(x2)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(10, 32)
        self.cls = nn.Linear(32, 3)
        self.reg = nn.Linear(32, 1)

    def forward(self, x):
        h = F.relu(self.trunk(x))
        return self.cls(h), self.reg(h)


def mnist_batch(n):
    (x, _), _ = load_t10k_split(os.path.join(ROOT, "data", "mnist"))
    return x[:n].clone()


def vae_loss(out, ins):
    return loss_function(out["recon"], ins["x"], out["mu"], out["logvar"])


# Each model: its class, seed, inputs (drawn after the weights), forward (inputs -> named
# outputs), loss (outputs, inputs -> scalar), optimizer, and which tensors are sampled.
MODELS = [
    {
        "name": "vae",
        "make": VAE,
        "seed": 40,
        "inputs": lambda: {"x": mnist_batch(8), "eps": torch.randn(8, 20)},
        "forward": lambda m, i: dict(zip(("recon", "mu", "logvar"), m(i["x"], i["eps"]))),
        "loss": vae_loss,
        "optimizer": {"kind": "adam", "lr": 1e-3},
        "sampled": {"fc1.weight", "fc4.weight"},
        # x is also the BCE target, which must stay in [0, 1] when perturbed.
        "probabilities": {"x"},
    },
    {
        "name": "basic_block",
        "make": basic_block,
        "seed": 41,
        "inputs": lambda: {"x": torch.randn(4, 8, 12, 12), "target": torch.randn(4, 16, 6, 6)},
        "forward": lambda m, i: {"out": m(i["x"])},
        "loss": lambda o, i: F.mse_loss(o["out"], i["target"]),
        "optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 0.9},
    },
    {
        "name": "unet_level",
        "make": UNetLevel,
        "seed": 42,
        "inputs": lambda: {"x": torch.randn(2, 3, 16, 16), "target": torch.randn(2, 1, 16, 16)},
        "forward": lambda m, i: {"out": m(i["x"])},
        "loss": lambda o, i: F.mse_loss(o["out"], i["target"]),
        "optimizer": {"kind": "sgd", "lr": 0.05},
    },
    {
        "name": "siamese",
        "make": Siamese,
        "seed": 43,
        "inputs": lambda: {"x1": torch.randn(6, 16), "x2": torch.randn(6, 16)},
        "forward": lambda m, i: dict(zip(("e1", "e2"), m(i["x1"], i["x2"]))),
        "loss": lambda o, i: ((o["e1"] - o["e2"]) ** 2).mean(),
        "optimizer": {"kind": "sgd", "lr": 0.1},
    },
    {
        "name": "two_heads",
        "make": TwoHeads,
        "seed": 44,
        "inputs": lambda: {
            "x": torch.randn(8, 10),
            "labels": torch.randint(0, 3, (8,)),
            "target": torch.randn(8, 1),
        },
        "forward": lambda m, i: dict(zip(("logits", "value"), m(i["x"]))),
        "loss": lambda o, i: F.cross_entropy(o["logits"], i["labels"]) + 0.5 * F.mse_loss(o["value"], i["target"]),
        "optimizer": {"kind": "adam", "lr": 1e-2},
    },
]


def optimizer(cfg, params):
    # The single-tensor (for-loop) implementations, said explicitly as tools/make_fixtures.py does.
    kwargs = {k: v for k, v in cfg.items() if k != "kind"}
    if cfg["kind"] == "adam":
        return torch.optim.Adam(params, foreach=False, **kwargs)
    return torch.optim.SGD(params, foreach=False, **kwargs)


def cast(state, dtype):
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}


def fresh(spec, state, dtype):
    m = spec["make"]().to(dtype)
    m.load_state_dict(cast(state, dtype), strict=True)
    m.train()
    return m


def run(spec, state, inputs, dtype):
    """Everything the fixture records, in `dtype`, from `state` and `inputs`."""
    ins = cast(inputs, dtype)
    m = fresh(spec, state, dtype)
    leaves = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in ins.items()}
    out = spec["forward"](m, leaves)
    loss = spec["loss"](out, leaves)
    loss.backward()
    r = {
        "outputs": {k: v.detach().clone() for k, v in out.items()},
        "loss": loss.detach(),
        "grads": {n: p.grad.detach().clone() for n, p in m.named_parameters()},
        "input_grads": {k: v.grad.detach().clone() for k, v in leaves.items() if v.is_floating_point()},
    }
    if spec["name"] == "vae":
        # The same gradient with the BCE target taken as a constant: the encoder path only.
        x = ins["x"].clone().requires_grad_(True)
        o = spec["forward"](fresh(spec, state, dtype), {"x": x, "eps": ins["eps"]})
        (g,) = torch.autograd.grad(loss_function(o["recon"], ins["x"], o["mu"], o["logvar"]), x)
        r["x_target_constant"] = g

    m = fresh(spec, state, dtype)
    opt = optimizer(spec["optimizer"], m.parameters())
    losses = []
    for _ in range(STEPS):
        loss = spec["loss"](spec["forward"](m, ins), ins)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    r["step_losses"] = torch.stack(losses)
    r["trained"] = {k: v.detach().clone() for k, v in m.state_dict().items()}
    m.eval()
    with torch.no_grad():
        r["eval_outputs"] = spec["forward"](m, ins)
    return r


def quantities(r):
    """(name, tensor) for every float quantity the fixture records, in a fixed order."""
    q = [(f"outputs/{k}", v) for k, v in r["outputs"].items()]
    q.append(("loss", r["loss"]))
    q += [(f"grads/{k}", v) for k, v in r["grads"].items()]
    q += [(f"input_grads/{k}", v) for k, v in r["input_grads"].items()]
    if "x_target_constant" in r:
        q.append(("input_grads_bce_target_constant/x", r["x_target_constant"]))
    q.append(("step_losses", r["step_losses"]))
    q += [(f"trained/{k}", v) for k, v in r["trained"].items() if v.is_floating_point()]
    q += [(f"eval_outputs/{k}", v) for k, v in r["eval_outputs"].items()]
    return q


def negligible(r64):
    """{parameter: floor} for the gradients that are zero but for rounding (a bias before
    BatchNorm, whose mean BatchNorm takes away; a BatchNorm's weight whose scale a later
    BatchNorm takes away, through a ReLU and a depthwise convolution, while its bias is still
    0): PyTorch's values there are noise, so that
    they are compared on the scale of the model's largest gradient, the floor, instead of
    their own. A gradient is negligible below NEGLIGIBLE times that scale."""
    top = max(g.abs().max().item() for g in r64["grads"].values())
    return {k: top for k, g in r64["grads"].items() if g.abs().max().item() < NEGLIGIBLE * top}


def relative(got, ref, floor=0.0):
    """The smallest REL with |got - ref| <= REL * |ref| + REL * max(max|ref|, floor)
    everywhere."""
    got, ref = flat64(got, 1), flat64(ref, 1)
    scale = ref.abs() + max(ref.abs().max().item(), floor)
    diff = (got - ref).abs()
    if (diff[scale == 0] != 0).any():
        return float("inf")
    return (diff / scale).nan_to_num(0.0).max().item()


def perturbed(spec, state, inputs, gen):
    def p(t):
        if not t.is_floating_point():
            return t
        t = t.to(torch.float64)
        return t * (1 + DELTA * (2 * torch.rand(t.shape, generator=gen, dtype=torch.float64) - 1))

    unit = spec.get("probabilities", set())
    ins = {k: p(v).clamp(0, 1) if k in unit else p(v) for k, v in inputs.items()}
    return {k: p(v) for k, v in state.items()}, ins


def certify(spec, state, inputs, r32):
    """The model's tolerance and what it was chosen from; raises when none in LADDER holds."""
    name = spec["name"]
    r64 = run(spec, state, inputs, torch.float64)
    for k, v in r32["trained"].items():
        if not v.is_floating_point() and not torch.equal(v, r64["trained"][k]):
            raise AssertionError(f"{name}: {k}: {v} != {r64['trained'][k]}")
    gen = torch.Generator().manual_seed(spec["seed"])
    moved = [quantities(run(spec, *perturbed(spec, state, inputs, gen), torch.float64)) for _ in range(PERTURBATIONS)]
    q32, q64 = quantities(r32), quantities(r64)
    floors = {f"grads/{k}": v for k, v in negligible(r64).items()}
    err32, err_p = (0.0, ""), (0.0, "")
    for i, (what, ref) in enumerate(q64):
        floor = floors.get(what, 0.0)
        e = relative(q32[i][1], ref, floor)
        if e > err32[0]:
            err32 = (e, what)
        for mp in moved:
            e = relative(mp[i][1], ref, floor)
            if e > err_p[0]:
                err_p = (e, what)
    need = max(err32[0], err_p[0]) / MARGIN
    fits = [rel for rel in LADDER if need <= rel]
    if not fits:
        raise AssertionError(
            f"{name} cannot be a parity fixture: float32 is {err32[0]:.2e} relative from float64 "
            f"({err32[1]}), a perturbation of {DELTA:.1e} moves {err_p[0]:.2e} ({err_p[1]})"
        )
    rel = fits[0]
    print(
        f"  {name}: tolerance {rel:g}: float32 within {err32[0] / rel:.3f} of it from float64 (worst: "
        f"{err32[1]}), perturbations within {err_p[0] / rel:.3f} (worst: {err_p[1]})"
    )
    return rel, err32, err_p, negligible(r64)


def ints(t):
    return {"shape": list(t.shape), "dtype": "int64", "data": [int(v) for v in t.reshape(-1).tolist()]}


def entry(name, t, sampled):
    if not t.is_floating_point():
        return ints(t)
    return tensor(t, STRIDE if name in sampled else None)


def case(spec):
    name = spec["name"]
    torch.manual_seed(spec["seed"])
    m = spec["make"]()
    inputs = spec["inputs"]()
    state = {k: v.detach().clone().contiguous() for k, v in m.state_dict().items()}
    path = os.path.join(OUT_DIR, spec.get("file", f"graph_{name}") + ".safetensors")
    save_file(state, path)
    spec["make"]().load_state_dict(load_file(path), strict=True)

    r32 = run(spec, state, inputs, torch.float32)
    rel, err32, err_p, floors = certify(spec, state, inputs, r32)
    sampled = spec.get("sampled", set())
    out = {
        "torch": repr(m),
        "keys": list(state.keys()),
        "seed": spec["seed"],
        "optimizer": {k: f32(v) if isinstance(v, float) else v for k, v in spec["optimizer"].items()},
        "inputs": {k: entry(k, v, ()) for k, v in inputs.items()},
        "outputs": {k: tensor(v) for k, v in r32["outputs"].items()},
        "loss": f32(r32["loss"].item()),
        "grads": {k: entry(k, v, sampled) for k, v in r32["grads"].items()},
        "input_grads": {k: entry(k, v, spec.get("sampled_inputs", ())) for k, v in r32["input_grads"].items()},
    }
    if "x_target_constant" in r32:
        out["input_grads_bce_target_constant"] = {"x": tensor(r32["x_target_constant"])}
    for k, floor in floors.items():
        out["grads"][k]["floor"] = f32(floor)
    out.update(
        {
            "step_losses": [f32(v) for v in r32["step_losses"].tolist()],
            "trained": {k: entry(k, v, sampled) for k, v in r32["trained"].items()},
            "eval_outputs": {k: tensor(v) for k, v in r32["eval_outputs"].items()},
            "tolerance": f32(rel),
            "float32_error": {"relative": f32(err32[0]), "worst": err32[1]},
            "perturbation": {"relative": f32(err_p[0]), "worst": err_p[1]},
        }
    )
    return out


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    models = {spec["name"]: case(spec) for spec in MODELS}
    write(
        "graph.json",
        {
            "torch_version": torch.__version__.split("+")[0],
            "steps": STEPS,
            "tolerance_rule": "|a - b| <= tolerance * |b| + tolerance * max|b| over each tensor",
            "models": models,
        },
    )


if __name__ == "__main__":
    main()
