#!/usr/bin/env python3
"""Writes the int8 weights file of a network declared with `network!` from a TFLite int8 model
whose layers match the declaration, so that `nn::int8::Quantized::<Net>::load` runs the model
TFLite quantised, unchanged.

  python tools/tflite_to_int8.py MODEL.tflite OUT.safetensors NAME [NAME ...]

NAME is the declaration's name of each layer with weights and of each residual add, in order:
the field name (`fc1`, `stack1.conv1` in a nested network), the index in an unnamed network
(`0`, `2`, ...), an add's name (`stack1.add`: `add`, `add_1`, ... in each forward). TFLite's
fully-connected, convolution and ADD operators are taken in order, one per name (an ADD
keeps its output's scale and zero point); pools, reshapes and the final softmax carry no
tensors. Images are transposed from TFLite's NHWC to this crate's NCHW (a convolution's
weight [out, kH, kW, in] becomes [out, in, kH, kW]; a fully-connected layer after a flattened
image has its columns permuted to channel-major order). The format is in the README (int8
section); tools/int8_tflite.py does the reading.
"""

import os
import sys

import numpy as np
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(__file__))
import int8_tflite  # noqa: E402


def convert(model_bytes, names):
    graph, arrays = int8_tflite.read_graph(model_bytes)
    dense = [(k, op) for k, op in enumerate(graph["ops"]) if op["op"] in ("FULLY_CONNECTED", "CONV_2D", "ADD")]
    others = {op["op"] for op in graph["ops"]} - {"FULLY_CONNECTED", "CONV_2D", "ADD", "MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE"}
    if others:
        raise SystemExit(f"operators without an int8 layer here: {sorted(others)}")
    if len(dense) != len(names):
        raise SystemExit(f"the model has {len(dense)} layers with weights and adds, {len(names)} names were given")
    out = {}
    for name, (k, op) in zip(names, dense):
        x = graph["tensors"][op["inputs"][0]]
        y = graph["tensors"][op["output"]]
        if op["op"] == "ADD":
            out[f"{name}.output_scale"] = np.array([y["scale"]], np.float32)
            out[f"{name}.output_zero_point"] = np.array([y["zero_point"]], np.int32)
            continue
        w = arrays[f"{k}.weight"]
        n_out = w.shape[0]
        scale = arrays[f"{k}.weight_scale"].astype(np.float32)
        if scale.size == 1:
            scale = np.repeat(scale, n_out)
        bias = arrays.get(f"{k}.bias", np.zeros(n_out, np.int32)).astype(np.int32)
        out[f"{name}.weight"] = w
        out[f"{name}.weight_scale"] = scale
        out[f"{name}.bias"] = bias
        for side, t in (("input", x), ("output", y)):
            out[f"{name}.{side}_scale"] = np.array([t["scale"]], np.float32)
            out[f"{name}.{side}_zero_point"] = np.array([t["zero_point"]], np.int32)
    return out


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    model, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(model, "rb") as f:
        tensors = convert(f.read(), names)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, dest)
    print(f"{dest}: {len(tensors)} tensors for {len(names)} layers")


if __name__ == "__main__":
    main()
