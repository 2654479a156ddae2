"""Writes the safetensors fixtures of tests/ui/weights/ (see README.md there).

Run from the repository root with Python's `safetensors` and `numpy`:
    python tests/ui/weights/make.py
The output is deterministic: rerunning it rewrites the same bytes.
"""

from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(0)


def f32(*shape):
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


# `named.safetensors`: Named<fc1: Linear<3, 4>, act: ReLU, bn: BatchNorm<4>, fc2: Linear<4, 2>>,
# with values whose literals are hard to get right: -0.0, the smallest subnormal, numbers that
# need nine significant digits, the extremes, infinities and a NaN with a payload.
fc1_weight = f32(4, 3)
fc1_weight.flat[:8] = [
    -0.0,
    np.float32(1e-45),
    0.1,
    np.finfo(np.float32).max,
    -np.finfo(np.float32).tiny,
    16777216.0,
    np.float32(1.0) / np.float32(3.0),
    np.nextafter(np.float32(1.0), np.float32(2.0)),
]
running_mean = f32(4)
running_mean[0] = -np.inf
fc2_bias = np.array([np.inf, 0.0], dtype=np.float32)
fc2_bias.view(np.uint32)[1] = 0x7FC0_1234  # a quiet NaN with a payload
save_file(
    {
        "fc1.weight": fc1_weight,
        "fc1.bias": f32(4),
        "bn.weight": f32(4),
        "bn.bias": f32(4),
        "bn.running_mean": running_mean,
        "bn.running_var": rng.uniform(0.5, 2.0, size=4).astype(np.float32),
        "bn.num_batches_tracked": np.array(7, dtype=np.int64),
        "fc2.weight": f32(2, 4),
        "fc2.bias": fc2_bias,
    },
    HERE / "named.safetensors",
)

# `tiny.safetensors`: Net<Linear<2, 3>, ReLU, Linear<3, 1>>, and variants with one mistake each.
tiny = {
    "0.weight": f32(3, 2),
    "0.bias": f32(3),
    "2.weight": f32(1, 3),
    "2.bias": f32(1),
}
save_file(tiny, HERE / "tiny.safetensors")
save_file({k: v for k, v in tiny.items() if k != "2.bias"}, HERE / "tiny-missing-bias.safetensors")
save_file({**tiny, "0.weight": tiny["0.weight"].astype(np.float64)}, HERE / "tiny-f64.safetensors")
save_file({**tiny, "0.weight": np.ascontiguousarray(tiny["0.weight"].T)}, HERE / "tiny-transposed.safetensors")
# The file of Linear(2, 3), BatchNorm1d(3), Linear(3, 1): a batch norm where the network has ReLU.
save_file(
    {
        **tiny,
        "1.weight": np.ones(3, dtype=np.float32),
        "1.bias": np.zeros(3, dtype=np.float32),
        "1.running_mean": np.zeros(3, dtype=np.float32),
        "1.running_var": np.ones(3, dtype=np.float32),
        "1.num_batches_tracked": np.array(0, dtype=np.int64),
    },
    HERE / "tiny-batchnorm.safetensors",
)
# The same with a damaged counter: a batch norm cannot have seen -3 batches.
save_file(
    {
        **tiny,
        "1.weight": np.ones(3, dtype=np.float32),
        "1.bias": np.zeros(3, dtype=np.float32),
        "1.running_mean": np.zeros(3, dtype=np.float32),
        "1.running_var": np.ones(3, dtype=np.float32),
        "1.num_batches_tracked": np.array(-3, dtype=np.int64),
    },
    HERE / "tiny-negative-count.safetensors",
)
# Tiny's tensors and 2,000 more under names no layer has: one error lists them.
save_file(
    {**tiny, **{f"extra{i}.weight": np.zeros(1, dtype=np.float32) for i in range(2000)}},
    HERE / "tiny-many-extra.safetensors",
)
# The file of Linear(2, 3), LayerNorm(3), Linear(3, 1): a layer norm's weight and bias.
save_file({**tiny, "1.weight": f32(3), "1.bias": f32(3)}, HERE / "tiny-layernorm.safetensors")
# Cut short in its data: the header is intact, the last tensor is not.
whole = (HERE / "tiny.safetensors").read_bytes()
(HERE / "tiny-truncated.safetensors").write_bytes(whole[:-4])

# A crafted header: eight U8 tensors of 2^61 - 1 bytes back to back, whose ends sum with the
# header's length past 2^64 (it made the `safetensors` crate panic with an overflow).
n = 2**61 - 1
crafted = "{" + ",".join(
    f'"t{i}":{{"dtype":"U8","shape":[{n}],"data_offsets":[{i * n},{(i + 1) * n}]}}' for i in range(8)
) + "}"
(HERE / "crafted-offsets-overflow.safetensors").write_bytes(
    len(crafted).to_bytes(8, "little") + crafted.encode() + bytes(16)
)
# `nested.safetensors`: Net<Linear<2, 3>, Square, Head> with Head<Linear<3, 1>> a network of
# its own, so its tensors nest under layer `2` as PyTorch names a module inside a module.
save_file(
    {"0.weight": f32(3, 2), "0.bias": f32(3), "2.0.weight": f32(1, 3), "2.0.bias": f32(1)},
    HERE / "nested.safetensors",
)

# Variants of `nested.safetensors`, one mistake each in the nested network's tensors.
nested = {"0.weight": f32(3, 2), "0.bias": f32(3), "2.0.weight": f32(1, 3), "2.0.bias": f32(1)}
save_file(
    {**nested, "2.0.weight": np.ascontiguousarray(nested["2.0.weight"].T)},
    HERE / "nested-transposed.safetensors",
)
save_file({**nested, "2.0.weight": nested["2.0.weight"].reshape(3)}, HERE / "nested-flat.safetensors")
save_file({**nested, "2.7.weight": f32(1, 3)}, HERE / "nested-extra.safetensors")
save_file({**nested, "2.zzz": np.zeros(4, dtype=np.uint8)}, HERE / "nested-u8.safetensors")
# A nested Head<BatchNorm<3>, Linear<3, 1>> whose batch norm has seen -3 batches.
save_file(
    {
        "0.weight": nested["0.weight"],
        "0.bias": nested["0.bias"],
        "2.0.weight": np.ones(3, dtype=np.float32),
        "2.0.bias": np.zeros(3, dtype=np.float32),
        "2.0.running_mean": np.zeros(3, dtype=np.float32),
        "2.0.running_var": np.ones(3, dtype=np.float32),
        "2.0.num_batches_tracked": np.array(-3, dtype=np.int64),
        "2.1.weight": nested["2.0.weight"],
        "2.1.bias": nested["2.0.bias"],
    },
    HERE / "nested-negative-count.safetensors",
)

# `conv-transpose.safetensors`: #[input(2, 3, 3)] Gen<ConvTranspose2d<2, 3, 2, stride = 2>, ReLU,
# Conv2d<3, 4, 3, bias = false>, Flatten, Linear<64, 5, bias = false>>: a transposed
# convolution's weight in PyTorch's layout, [in, out, k, k], and layers built with bias=False,
# which have a weight alone.
gen = {
    "0.weight": f32(2, 3, 2, 2),
    "0.bias": f32(3),
    "2.weight": f32(4, 3, 3, 3),
    "4.weight": f32(5, 64),
}
save_file(gen, HERE / "conv-transpose.safetensors")
# The same network as layer `1` of Top<Linear<4, 18>, Gen>: baked through the nested network.
save_file(
    {"0.weight": f32(18, 4), "0.bias": f32(18), **{f"1.{k}": v for k, v in gen.items()}},
    HERE / "nested-conv-transpose.safetensors",
)

# `tiny-int8.safetensors`: tiny's network quantised to int8 as `nn::int8::Quantized` does it
# (one symmetric scale per output channel, int32 biases at input_scale · weight_scale, int8
# activations of the ranges below), in the int8 file's format; and variants with one mistake
# each, for `#[weights(..., dtype = int8)]`.
def int8_layer(name, weight, bias, input_range, output_range):
    def quant(lo, hi):
        scale = np.float32((hi - lo) / 255.0)
        zero_point = int(np.clip(-128 - np.round(lo / scale), -128, 127))
        return scale, zero_point

    s_in, zp_in = quant(*input_range)
    s_out, zp_out = quant(*output_range)
    s_w = (np.abs(weight).max(axis=1) / 127.0).astype(np.float32)
    w = np.clip(np.round(weight / s_w[:, None]), -127, 127).astype(np.int8)
    b = np.round(bias.astype(np.float64) / (np.float64(s_in) * s_w)).astype(np.int32)
    return {
        f"{name}.weight": w,
        f"{name}.weight_scale": s_w,
        f"{name}.bias": b,
        f"{name}.input_scale": np.array([s_in], dtype=np.float32),
        f"{name}.input_zero_point": np.array([zp_in], dtype=np.int32),
        f"{name}.output_scale": np.array([s_out], dtype=np.float32),
        f"{name}.output_zero_point": np.array([zp_out], dtype=np.int32),
    }


tiny_int8 = {
    **int8_layer("0", tiny["0.weight"], tiny["0.bias"], (-1.0, 1.0), (0.0, 2.0)),
    **int8_layer("2", tiny["2.weight"], tiny["2.bias"], (0.0, 2.0), (-1.5, 1.5)),
}
save_file(tiny_int8, HERE / "tiny-int8.safetensors")
save_file(
    {k: v for k, v in tiny_int8.items() if k != "0.weight_scale"},
    HERE / "tiny-int8-missing-scale.safetensors",
)
save_file(
    {**tiny_int8, "0.weight_scale": tiny_int8["0.weight_scale"][:2].copy()},
    HERE / "tiny-int8-scale-count.safetensors",
)
save_file(
    {**tiny_int8, "2.input_zero_point": np.array([200], dtype=np.int32)},
    HERE / "tiny-int8-zero-point.safetensors",
)
# The second layer reads the first's output (zero point -128) as if its zero point were -100.
save_file(
    {**tiny_int8, "2.input_zero_point": np.array([-100], dtype=np.int32)},
    HERE / "tiny-int8-input-quantisation.safetensors",
)
save_file(
    {**tiny_int8, "0.bias": tiny_int8["0.bias"].astype(np.float32)},
    HERE / "tiny-int8-f32-bias.safetensors",
)

# `dw-int8.safetensors`: #[input(4, 5, 5)] Net<Conv2d<4, 4, 3, padding = same, groups = 4,
# bias = false>, ReLU, AdaptiveAvgPool2d<1>, Flatten, Linear<4, 2>> in int8 (the depthwise
# weight [4, 1, 3, 3]); and variants with one mistake each.
dw_weight = f32(4, 9)
dw_int8 = {
    **int8_layer("0", dw_weight, np.zeros(4, dtype=np.float32), (-1.0, 1.0), (0.0, 2.0)),
    **int8_layer("4", f32(2, 4), f32(2), (0.0, 2.0), (-1.5, 1.5)),
}
dw_int8["0.weight"] = dw_int8["0.weight"].reshape(4, 1, 3, 3)
save_file(dw_int8, HERE / "dw-int8.safetensors")
save_file(
    {**dw_int8, "0.weight_scale": dw_int8["0.weight_scale"][:3].copy()},
    HERE / "dw-int8-scale-count.safetensors",
)
save_file(
    {**dw_int8, "0.weight": np.zeros((4, 4, 3, 3), dtype=np.int8)},
    HERE / "dw-int8-full-weight.safetensors",
)

# `res-int8.safetensors`: Net { fc: Linear<2, 3>, block: Block!<4>, out: Linear<3, 1> }, the
# template's forward `relu(x + self.fc2(relu(self.fc1(x))))`, in int8: the block's layers under
# `block.`, its add's output quantisation as `block.add`; and variants with one mistake each.
def int8_activation(name, lo, hi):
    scale = np.float32((hi - lo) / 255.0)
    zero_point = int(np.clip(-128 - np.round(lo / scale), -128, 127))
    return {
        f"{name}.output_scale": np.array([scale], dtype=np.float32),
        f"{name}.output_zero_point": np.array([zero_point], dtype=np.int32),
    }


res_int8 = {
    **int8_layer("fc", f32(3, 2), f32(3), (-1.0, 1.0), (0.0, 2.0)),
    **int8_layer("block.fc1", f32(4, 3), f32(4), (0.0, 2.0), (0.0, 2.0)),
    **int8_layer("block.fc2", f32(3, 4), f32(3), (0.0, 2.0), (-1.0, 1.0)),
    **int8_activation("block.add", 0.0, 3.0),
    **int8_layer("out", f32(1, 3), f32(1), (0.0, 3.0), (-1.5, 1.5)),
}
save_file(res_int8, HERE / "res-int8.safetensors")
save_file(
    {**res_int8, "block.fc2.weight_scale": res_int8["block.fc2.weight_scale"][:2].copy()},
    HERE / "res-int8-scale-count.safetensors",
)
save_file(
    {k: v for k, v in res_int8.items() if k != "block.add.output_zero_point"},
    HERE / "res-int8-missing-add.safetensors",
)
# The layer after the block reads the add's output (zero point -128) as if it were -100.
save_file(
    {**res_int8, "out.input_zero_point": np.array([-100], dtype=np.int32)},
    HERE / "res-int8-input-quantisation.safetensors",
)

for path in HERE.glob("*.safetensors"):
    path.chmod(0o644)  # safetensors writes 0600; these are committed files
