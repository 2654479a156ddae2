//! Runs the int8 graphs `tools/make_int8_fixtures.py` writes (the format is in
//! `tools/int8_tflite.py`) on `nn::int8`'s kernels, preparing every parameter from the scales
//! and zero points as TFLite Micro does, and compares each sample's output with TFLite Micro's.

use std::collections::HashMap;

use nn::int8::{
    add, avg_pool2d, conv2d, depthwise_conv2d, global_avg_pool, linear, max_pool2d, Activation,
    AddParams, Conv2dShape, Output, Padding, Pool2dShape, Requant, Weights,
};
use nn_safetensors::{Dtype, File};
use serde_json::Value;

use super::fixture;

/// A tensor's quantisation and shape.
struct Tensor {
    shape: Vec<usize>,
    scale: f32,
    zero_point: i32,
}

fn tensor(graph: &Value, id: &Value) -> Tensor {
    let t = &graph["tensors"][id.as_str().unwrap()];
    Tensor {
        shape: t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect(),
        scale: t["scale"].as_f64().unwrap() as f32,
        zero_point: t["zero_point"].as_i64().unwrap() as i32,
    }
}

fn pair(v: &Value) -> [usize; 2] {
    [
        v[0].as_u64().unwrap() as usize,
        v[1].as_u64().unwrap() as usize,
    ]
}

fn activation(op: &Value) -> Activation {
    match op["options"]["activation"].as_str().unwrap_or("NONE") {
        "NONE" => Activation::None,
        "RELU" => Activation::Relu,
        "RELU6" => Activation::Relu6,
        a => panic!("activation {a}"),
    }
}

fn padding(op: &Value) -> Padding {
    match op["options"]["padding"].as_str().unwrap() {
        "SAME" => Padding::Same,
        "VALID" => Padding::Valid,
        p => panic!("padding {p}"),
    }
}

/// The int8 values of tensor `name`.
pub fn i8s(file: &File, name: &str) -> Vec<i8> {
    let t = file
        .tensor(name)
        .unwrap_or_else(|| panic!("no tensor {name}"));
    assert_eq!(t.dtype(), Dtype::I8, "{name}");
    t.data().iter().map(|&b| b as i8).collect()
}

fn i32s(file: &File, name: &str) -> Option<Vec<i32>> {
    let t = file.tensor(name)?;
    assert_eq!(t.dtype(), Dtype::I32, "{name}");
    Some(
        t.data()
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
    )
}

fn f32s(file: &File, name: &str) -> Vec<f32> {
    let t = file
        .tensor(name)
        .unwrap_or_else(|| panic!("no tensor {name}"));
    assert_eq!(t.dtype(), Dtype::F32, "{name}");
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// Runs `graph` on one sample (`inputs` by graph input) and returns the output.
pub fn run(graph: &Value, file: &File, inputs: &[Vec<i8>]) -> Vec<i8> {
    let mut values: HashMap<String, Vec<i8>> = HashMap::new();
    for (id, x) in graph["inputs"].as_array().unwrap().iter().zip(inputs) {
        values.insert(id.as_str().unwrap().to_owned(), x.clone());
    }
    for (k, op) in graph["ops"].as_array().unwrap().iter().enumerate() {
        let ins = op["inputs"].as_array().unwrap();
        let x = tensor(graph, &ins[0]);
        let xv = &values[ins[0].as_str().unwrap()];
        let y = tensor(graph, &op["output"]);
        let mut out = vec![0i8; y.shape.iter().product()];
        let output = Output::new(y.scale, y.zero_point, activation(op));
        let weights = || {
            let requant: Vec<Requant> = f32s(file, &format!("{k}.weight_scale"))
                .iter()
                .map(|&s| Requant::product(x.scale, s, y.scale))
                .collect();
            (
                i8s(file, &format!("{k}.weight")),
                i32s(file, &format!("{k}.bias")),
                requant,
            )
        };
        let conv_shape = || {
            let o = &op["options"];
            Conv2dShape::tflite(
                [x.shape[0], x.shape[1], x.shape[2]],
                y.shape[0],
                {
                    let w = file.tensor(&format!("{k}.weight")).unwrap().shape();
                    [w[2], w[3]]
                },
                pair(&o["stride"]),
                pair(&o["dilation"]),
                padding(op),
            )
        };
        let pool_shape = || {
            let o = &op["options"];
            Pool2dShape::tflite(
                [x.shape[0], x.shape[1], x.shape[2]],
                pair(&o["window"]),
                pair(&o["stride"]),
                padding(op),
            )
        };
        match op["op"].as_str().unwrap() {
            "FULLY_CONNECTED" => {
                let (w, b, r) = weights();
                linear(
                    xv,
                    x.zero_point,
                    Weights {
                        weight: &w,
                        bias: b.as_deref(),
                        requant: &r,
                    },
                    output,
                    &mut out,
                );
            }
            "CONV_2D" => {
                let (w, b, r) = weights();
                let s = conv_shape();
                assert_eq!(s.output, [y.shape[1], y.shape[2]], "op {k}: output size");
                conv2d(
                    &s,
                    xv,
                    x.zero_point,
                    Weights {
                        weight: &w,
                        bias: b.as_deref(),
                        requant: &r,
                    },
                    output,
                    &mut out,
                );
            }
            "DEPTHWISE_CONV_2D" => {
                let (w, b, r) = weights();
                let s = conv_shape();
                assert_eq!(s.output, [y.shape[1], y.shape[2]], "op {k}: output size");
                depthwise_conv2d(
                    &s,
                    xv,
                    x.zero_point,
                    Weights {
                        weight: &w,
                        bias: b.as_deref(),
                        requant: &r,
                    },
                    output,
                    &mut out,
                );
            }
            // Pools keep their input's quantisation; TFLite checks that scale and zero point
            // are the same.
            "MAX_POOL_2D" | "AVERAGE_POOL_2D" => {
                assert_eq!((x.scale, x.zero_point), (y.scale, y.zero_point));
                let s = pool_shape();
                assert_eq!(s.output, [y.shape[1], y.shape[2]], "op {k}: output size");
                if op["op"] == "MAX_POOL_2D" {
                    max_pool2d(&s, xv, output, &mut out);
                } else {
                    avg_pool2d(&s, xv, output, &mut out);
                }
            }
            "MEAN" => {
                let count = x.shape[1] * x.shape[2];
                let r = Requant::mean(x.scale, y.scale, count);
                global_avg_pool(xv, x.zero_point, r, output, &mut out);
            }
            "ADD" => {
                let x2 = tensor(graph, &ins[1]);
                let p = AddParams::new(
                    (x.scale, x.zero_point),
                    (x2.scale, x2.zero_point),
                    (y.scale, y.zero_point),
                    activation(op),
                );
                add(xv, &values[ins[1].as_str().unwrap()], &p, &mut out);
            }
            "RESHAPE" => out.copy_from_slice(xv),
            other => panic!("operator {other}"),
        }
        values.insert(op["output"].as_str().unwrap().to_owned(), out);
    }
    values.remove(graph["output"].as_str().unwrap()).unwrap()
}

/// Runs case `name` of `tests/fixtures/int8/` on every sample and asserts TFLite Micro's
/// outputs bit for bit; returns the number of values compared.
pub fn check(name: &str) -> usize {
    let cases = fixture::fixture("int8/cases.json");
    let graph = &cases[name];
    assert!(graph.is_object(), "no case {name} in int8/cases.json");
    let bytes = fixture::bytes(&format!("int8/{name}.safetensors"));
    let file = File::parse(&bytes).unwrap();
    let n_inputs = graph["inputs"].as_array().unwrap().len();
    let inputs: Vec<Vec<i8>> = (0..n_inputs)
        .map(|j| i8s(&file, &format!("input{j}")))
        .collect();
    let want = i8s(&file, "output");
    let samples = file.tensor("output").unwrap().shape()[0];
    let per_out = want.len() / samples;
    let mut compared = 0;
    for n in 0..samples {
        let sample: Vec<Vec<i8>> = inputs
            .iter()
            .map(|x| {
                let per = x.len() / samples;
                x[n * per..(n + 1) * per].to_vec()
            })
            .collect();
        let got = run(graph, &file, &sample);
        let w = &want[n * per_out..(n + 1) * per_out];
        let differ = got.iter().zip(w).filter(|(a, b)| a != b).count();
        assert!(
            differ == 0,
            "{name}, sample {n}: {differ} of {} values differ from TFLite Micro's\n got  {got:?}\n want {w:?}",
            w.len()
        );
        compared += w.len();
    }
    compared
}

/// A safetensors file of `(name, dtype, shape, bytes)`, written by hand.
pub fn write_safetensors(path: &std::path::Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let start = data.len();
        data.extend_from_slice(bytes);
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut json = serde_json::to_vec(&header).unwrap();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(data);
    std::fs::write(path, out).unwrap();
}
