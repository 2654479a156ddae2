#!/usr/bin/env python3
"""Writes tests/fixtures/int8/: TFLite Micro's int8 outputs for each int8 layer and for a small
MLP and a small CNN, with the parameters read out of the `.tflite`.

Each case is a Keras model whose weights are drawn from a seeded generator, converted to full
int8 by TFLiteConverter with a representative data set (per-channel convolution weights, int8
input and output), then run by TFLite Micro's interpreter on seeded int8 inputs. The graph,
its quantisation parameters and weights are read back out of the `.tflite` by
tools/int8_tflite.py (its docstring gives the format); per case:
  tests/fixtures/int8/<case>.safetensors  the weights, biases and weight scales, plus
                                          "input0" (and "input1") and "output": int8 batches
                                          in this project's layout (TFLite Micro's outputs)
  tests/fixtures/int8/cases.json          {case: graph}
  tests/fixtures/int8/<case>_file.safetensors  for "mlp" and "cnn_chain", the same model as the
                                          int8 file of a declaration (tools/tflite_to_int8.py)

Run from the repository root, in a virtual environment with tools/requirements-int8.txt:
  python3 -m venv .venv-tf && .venv-tf/bin/pip install -r tools/requirements-int8.txt
  .venv-tf/bin/python tools/make_int8_fixtures.py
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(__file__))
import int8_tflite  # noqa: E402
import tflite_to_int8  # noqa: E402

OUT = os.path.join("tests", "fixtures", "int8")
SAMPLES = 4
L = tf.keras.layers


def seeded_weights(model, seed):
    """Replaces every weight by a seeded draw: uniform in ±1/sqrt(fan in) for kernels (as
    PyTorch initialises), the same for biases, so outputs are neither saturated nor zero."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        kernel = ws[0]
        fan_in = int(np.prod(kernel.shape[:-1])) if kernel.ndim > 1 else kernel.shape[0]
        if isinstance(layer, L.DepthwiseConv2D):
            fan_in = int(np.prod(kernel.shape[:2]))
        bound = 1.0 / np.sqrt(fan_in)
        layer.set_weights([rng.uniform(-bound, bound, w.shape).astype(np.float32) for w in ws])


def convert(model, shapes, seed):
    rng = np.random.default_rng(seed + 1000)

    def representative():
        for _ in range(64):
            yield [rng.normal(0, 1, (1, *s)).astype(np.float32) for s in shapes]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def case(name, shapes, build, seed):
    inputs = [L.Input(s, batch_size=1) for s in shapes]
    out = build(*inputs)
    model = tf.keras.Model(inputs, out)
    seeded_weights(model, seed)
    tfl = convert(model, shapes, seed)
    graph, arrays = int8_tflite.read_graph(tfl)
    rng = np.random.default_rng(seed + 2000)
    xs = [rng.integers(-128, 128, (SAMPLES, *s), dtype=np.int64).astype(np.int8) for s in shapes]
    y = int8_tflite.run_micro(tfl, xs)
    for j, x in enumerate(xs):
        arrays[f"input{j}"] = int8_tflite.to_project_layout(x)
    arrays["output"] = int8_tflite.to_project_layout(y)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, os.path.join(OUT, f"{name}.safetensors"))
    ops = " ".join(o["op"] for o in graph["ops"])
    print(f"{name}: {ops}; output {list(y.shape)}, {len(np.unique(y))} distinct values")
    return graph, tfl


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}

    def add(name, shapes, build, seed, names=None):
        cases[name], tfl = case(name, shapes, build, seed)
        if names:
            # The same model as the int8 file of a declaration (tools/tflite_to_int8.py).
            tensors = tflite_to_int8.convert(tfl, names)
            # Keras layers named as the declaration's (`stack1_conv1` for `stack1.conv1`):
            # TFLite names each operator's output after them, so the order is checked.
            ops = [o for o in int8_tflite.op_output_names(tfl)]
            kinds = ("FULLY_CONNECTED", "CONV_2D", "ADD")
            taken = [k for k, op in enumerate(cases[name]["ops"]) if op["op"] in kinds]
            for n, k in zip(names, taken):
                keras = "/" + n.replace(".", "_") + "_"
                assert not n.startswith("stack") or keras in ops[k], (n, ops[k])
            save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, os.path.join(OUT, f"{name}_file.safetensors"))

    # One layer each.
    add("linear", [(24,)], lambda x: L.Dense(10)(x), 1)
    add("linear_relu", [(16,)], lambda x: L.Dense(12, activation="relu")(x), 2)
    add("linear_relu6", [(16,)], lambda x: L.ReLU(6.0)(L.Dense(12)(x)), 3)
    # 8 rows at stride 2 and kernel 3 pad 0 above and 1 below: TFLite's SAME is asymmetric.
    add("conv_same_stride2_relu", [(8, 8, 3)],
        lambda x: L.Conv2D(4, 3, strides=2, padding="same", activation="relu")(x), 4)
    add("conv_valid_relu6", [(7, 6, 3)],
        lambda x: L.ReLU(6.0)(L.Conv2D(5, (3, 2), padding="valid")(x)), 5)
    # An even kernel at stride 1: 1 row above, 2 below.
    add("conv_same_even_kernel", [(6, 7, 2)],
        lambda x: L.Conv2D(3, 4, padding="same")(x), 6)
    add("conv_1x1", [(5, 5, 8)], lambda x: L.Conv2D(6, 1)(x), 7)
    add("depthwise_same_relu", [(7, 7, 4)],
        lambda x: L.DepthwiseConv2D(3, padding="same", activation="relu")(x), 8)
    add("depthwise_stride2_multiplier2", [(8, 9, 3)],
        lambda x: L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="valid")(x), 9)
    add("max_pool", [(6, 6, 3)], lambda x: L.MaxPooling2D(2)(x), 10)
    add("max_pool_same", [(7, 7, 3)], lambda x: L.MaxPooling2D(3, strides=2, padding="same")(x), 11)
    add("avg_pool", [(6, 6, 3)], lambda x: L.AveragePooling2D(2)(x), 12)
    add("avg_pool_same", [(7, 8, 3)],
        lambda x: L.AveragePooling2D(3, strides=2, padding="same")(x), 13)
    add("global_avg_pool", [(5, 5, 6)], lambda x: L.GlobalAveragePooling2D()(x), 14)
    add("add", [(20,), (20,)], lambda a, b: L.Add()([a, L.Dense(20)(b)]), 15)
    add("add_relu", [(4, 4, 3), (4, 4, 3)],
        lambda a, b: L.ReLU()(L.Add()([L.Conv2D(3, 1)(a), b])), 16)

    # Two small networks.
    def mlp(x):
        h = L.Dense(64, activation="relu")(x)
        h = L.Dense(32, activation="relu")(h)
        return L.Dense(10)(h)

    add("mlp", [(49,)], mlp, 17, names=["0", "2", "4"])

    def cnn(x):
        h = L.Conv2D(4, 3, padding="same", activation="relu")(x)
        h = L.MaxPooling2D(2)(h)
        r = L.Conv2D(4, 3, padding="same", activation="relu")(h)
        r = L.Conv2D(4, 3, padding="same")(r)
        h = L.ReLU()(L.Add()([h, r]))
        h = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(h)
        h = L.Conv2D(8, 1, activation="relu")(h)
        h = L.AveragePooling2D(2)(h)
        h = L.Flatten()(h)
        return L.Dense(10)(h)

    add("cnn", [(12, 12, 1)], cnn, 18)

    # A chain a `network!` declares (tests/int8.rs): its int8 file loads unchanged.
    def cnn_chain(x):
        h = L.Conv2D(4, 3, padding="same", activation="relu")(x)
        h = L.MaxPooling2D(2)(h)
        h = L.Conv2D(8, 3, activation="relu")(h)
        h = L.AveragePooling2D(2)(h)
        h = L.Flatten()(h)
        return L.Dense(10)(h)

    add("cnn_chain", [(12, 12, 1)], cnn_chain, 19, names=["0", "3", "7"])

    # A residual network a `network!` with its forward written as code declares
    # (tests/int8_residual.rs): a convolution, a stack with an identity shortcut and one that
    # halves the image with a 1x1 projection (ResNet-8's two stacks), nested networks.
    def residual(x):
        h = L.Conv2D(8, 3, padding="same", activation="relu", name="conv")(x)
        y = L.Conv2D(8, 3, padding="same", activation="relu", name="stack1_conv1")(h)
        y = L.Conv2D(8, 3, padding="same", name="stack1_conv2")(y)
        h = L.ReLU()(L.Add(name="stack1_add")([h, y]))
        y = L.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="stack2_conv1")(h)
        y = L.Conv2D(16, 3, padding="same", name="stack2_conv2")(y)
        s = L.Conv2D(16, 1, strides=2, name="stack2_shortcut")(h)
        h = L.ReLU()(L.Add(name="stack2_add")([s, y]))
        h = L.AveragePooling2D(4, name="pool")(h)
        h = L.Flatten()(h)
        return L.Dense(10, name="fc")(h)

    add("residual", [(8, 8, 3)], residual, 20, names=[
        "conv", "stack1.conv1", "stack1.conv2", "stack1.add",
        "stack2.conv1", "stack2.conv2", "stack2.shortcut", "stack2.add", "fc"])

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
