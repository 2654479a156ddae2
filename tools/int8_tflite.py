"""Reads an int8 `.tflite` model into the graph form the int8 fixtures use, and runs it in
TFLite Micro's interpreter (PyPI `tflite-micro`, the reference the int8 kernels match).

Shared by tools/make_int8_fixtures.py (fixtures of the layers and of two small networks) and
by any check of a whole TFLite model (a local run over MLPerf Tiny's reference models, for
example). Needs the packages of tools/requirements-int8.txt.

The graph form, the fixture format the Rust tests read:
  JSON: {"inputs": [tensor ids], "output": id, "tensors": {id: {"shape", "scale",
  "zero_point"}}, "ops": [{"op", "inputs": [ids], "output": id, "options": {...}}]}
  safetensors: "<op index>.weight" (int8), "<op index>.bias" (int32), "<op index>.weight_scale"
  (float32, one per output channel or one for the tensor).
Every shape and weight is in this project's layout, not TFLite's: images are [C, H, W] (TFLite:
[H, W, C]), convolution weights [out, in, kH, kW] (TFLite: [out, kH, kW, in]), depthwise weights
[C * M, 1, kH, kW] (TFLite: [1, kH, kW, C * M]), and a fully-connected layer after a flattened
image takes its inputs in channel-major order (its columns permuted to match). Integer sums are
exact, so the two layouts give the same bits.
"""

import numpy as np

from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
ACTIVATIONS = {0: "NONE", 1: "RELU", 3: "RELU6"}
PADDINGS = {0: "SAME", 1: "VALID"}
DTYPES = {9: np.int8, 2: np.int32, 0: np.float32, 4: np.int64}


class Unsupported(Exception):
    pass


def _activation(opts):
    a = opts.fusedActivationFunction
    if a not in ACTIVATIONS:
        raise Unsupported(f"fused activation {a}")
    return ACTIVATIONS[a]


def read_graph(model_bytes):
    """(graph JSON, tensors dict) of an int8 model of supported operators."""
    m = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    sg = m.subgraphs[0]

    def const(i):
        t = sg.tensors[i]
        data = m.buffers[t.buffer].data
        if data is None or len(data) == 0:
            return None
        raw = np.asarray(data, dtype=np.uint8).tobytes()
        return np.frombuffer(raw, dtype=DTYPES[t.type]).reshape(list(t.shape))

    def quant(i):
        q = sg.tensors[i].quantization
        return np.asarray(q.scale, np.float32), np.asarray(q.zeroPoint, np.int64)

    # Tensor ids are TFLite's; layouts are this project's (channel-major images).
    tensors = {}
    image_hwc = {}  # tensor id -> (H, W, C) of an image flattened into it

    def activation_tensor(i):
        t = sg.tensors[i]
        if t.type != 9:
            raise Unsupported(f"tensor {t.name!r} of type {t.type}, not int8")
        shape = [int(d) for d in t.shape]
        shape = shape[1:] if len(shape) > 1 else shape  # the batch of one, when there is one
        if len(shape) == 3:
            shape = [shape[2], shape[0], shape[1]]
        scale, zp = quant(i)
        tensors[str(i)] = {
            "shape": shape,
            "scale": float(scale[0]),
            "zero_point": int(zp[0]),
        }
        return str(i)

    for i in sg.inputs:
        activation_tensor(i)
    ops, arrays = [], {}
    output = str(sg.outputs[0])
    for k, op in enumerate(sg.operators):
        code = m.operatorCodes[op.opcodeIndex]
        name = OP_NAMES[max(code.builtinCode, code.deprecatedBuiltinCode)]
        opts = op.builtinOptions
        entry = {"op": name, "inputs": [], "options": {}}
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            x, w, b = op.inputs[0], op.inputs[1], op.inputs[2]
            entry["inputs"] = [str(x)]
            wq = const(w)
            if name == "CONV_2D":
                weight = wq.transpose(0, 3, 1, 2)  # O H W I -> O I H W
            else:
                weight = wq[0].transpose(2, 0, 1)[:, None]  # 1 H W CM -> CM 1 H W
                entry["options"]["depth_multiplier"] = int(opts.depthMultiplier)
            entry["options"].update(
                stride=[int(opts.strideH), int(opts.strideW)],
                dilation=[int(opts.dilationHFactor), int(opts.dilationWFactor)],
                padding=PADDINGS[opts.padding],
                activation=_activation(opts),
            )
            arrays[f"{k}.weight"] = np.ascontiguousarray(weight, np.int8)
            arrays[f"{k}.weight_scale"] = quant(w)[0]
            if b >= 0:
                arrays[f"{k}.bias"] = const(b).astype(np.int32)
        elif name == "FULLY_CONNECTED":
            x, w = op.inputs[0], op.inputs[1]
            b = op.inputs[2] if len(op.inputs) > 2 else -1
            entry["inputs"] = [str(x)]
            weight = const(w)
            shape = [int(d) for d in sg.tensors[x].shape]
            if str(x) in image_hwc or len(shape) == 4:
                h, wd, c = image_hwc.get(str(x)) or shape[1:]
                weight = weight.reshape(-1, h, wd, c).transpose(0, 3, 1, 2).reshape(weight.shape[0], -1)
            entry["options"]["activation"] = _activation(opts)
            arrays[f"{k}.weight"] = np.ascontiguousarray(weight, np.int8)
            arrays[f"{k}.weight_scale"] = quant(w)[0]
            if b >= 0:
                arrays[f"{k}.bias"] = const(b).astype(np.int32)
        elif name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            entry["inputs"] = [str(op.inputs[0])]
            entry["options"].update(
                window=[int(opts.filterHeight), int(opts.filterWidth)],
                stride=[int(opts.strideH), int(opts.strideW)],
                padding=PADDINGS[opts.padding],
                activation=_activation(opts),
            )
        elif name == "MEAN":
            axes = sorted(int(a) for a in const(op.inputs[1]).reshape(-1))
            if axes != [1, 2]:
                raise Unsupported(f"MEAN over axes {axes}")
            entry["inputs"] = [str(op.inputs[0])]
        elif name == "ADD":
            entry["inputs"] = [str(op.inputs[0]), str(op.inputs[1])]
            entry["options"]["activation"] = _activation(opts)
        elif name == "RESHAPE":
            x = op.inputs[0]
            entry["inputs"] = [str(x)]
            shape = [int(d) for d in sg.tensors[x].shape]
            if len(shape) == 4:
                image_hwc[str(op.outputs[0])] = tuple(shape[1:])
        elif name == "SOFTMAX" and k == len(sg.operators) - 1:
            # A final softmax is left out: the graph's output is its input, the logits.
            output = str(op.inputs[0])
            break
        else:
            raise Unsupported(f"operator {name}")
        entry["output"] = activation_tensor(op.outputs[0])
        ops.append(entry)
    graph = {
        "inputs": [str(i) for i in sg.inputs],
        "output": output,
        "softmax": output != str(sg.outputs[0]),
        "tensors": tensors,
        "ops": ops,
    }
    return graph, arrays


def op_output_names(model_bytes):
    """The name of each operator's output tensor, in the order of the graph's ops (TFLite names
    it after the Keras layers fused into the operator)."""
    m = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    sg = m.subgraphs[0]
    return [sg.tensors[op.outputs[0]].name.decode() for op in sg.operators]


def to_project_layout(x):
    """A batch of TFLite activations ([N, H, W, C] or [N, F]) in this project's layout."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2) if x.ndim == 4 else x)


def run_micro(model_bytes, inputs, tensor=None):
    """TFLite Micro's int8 outputs, one sample at a time: `inputs` is a list (one per model
    input) of [N, ...] int8 arrays in TFLite's layout. With `tensor` (an id of the graph),
    that tensor's values instead of the model's output (the logits before a final softmax)."""
    config = runtime.InterpreterConfig.kPreserveAllTensors if tensor else runtime.InterpreterConfig.kAllocationRecording
    interp = runtime.Interpreter.from_bytes(bytes(model_bytes), intrepreter_config=config)
    outs = []
    for n in range(inputs[0].shape[0]):
        for j, x in enumerate(inputs):
            interp.set_input(x[n : n + 1], j)
        interp.invoke()
        y = interp.GetTensor(int(tensor), 0)["tensor_data"] if tensor else interp.get_output(0)
        outs.append(np.array(y))
    return np.concatenate(outs, axis=0)
