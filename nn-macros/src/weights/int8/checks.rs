//! Every tensor of an int8 file checked against the layer that reads it: dtype, shape, one
//! scale per output channel, scales positive and finite, zero points in int8's range.

use super::plan::{Dense, Quant, Step};
use nn_safetensors::{Dtype, File, Tensor};

use crate::ctxt::Ctxt;
use crate::valid::{self, Resolved};

/// The tensors of one int8 layer, checked.
pub(super) struct Tensors {
    pub(super) weight: Vec<u8>,
    pub(super) weight_scale: Vec<f32>,
    pub(super) bias: Vec<i32>,
    pub(super) input: Quant,
    pub(super) output: Quant,
}

pub(super) fn f32s(t: &Tensor<'_>) -> Vec<f32> {
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub(super) fn i32s(t: &Tensor<'_>) -> Vec<i32> {
    t.data()
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub(super) fn show_shape(s: &[usize]) -> String {
    let dims: Vec<String> = s.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// The int8 tensors of layer `layer`, named `name` in the file, every mistake pushed to
/// `errors`.
pub(super) fn read_layer(
    file: &File<'_>,
    layer: &Resolved<'_>,
    name: &str,
    dense: &Dense,
    path: &str,
    errors: &mut Ctxt,
) -> Option<Tensors> {
    let shown = valid::show(&layer.kind, &layer.decl.ty);
    let out = dense.outputs();
    let err = |msg: String| syn::Error::new_spanned(&layer.decl.ty, format!("`{path}`: {msg}"));
    let writers = "`nn::int8::Quantized::save` and `tools/tflite_to_int8.py` write every tensor \
                   of the int8 format (README: \"int8\")";
    // The weight first: an f32 file is told as such, once.
    let weight_key = format!("{name}.weight");
    match file.tensor(&weight_key) {
        Some(t) if t.dtype() == Dtype::F32 => {
            errors.push(err(format!(
                "tensor `{weight_key}` is F32: this is a float32 file, and `dtype = int8` bakes \
                 an int8 one; quantise the network first \
                 (`nn::int8::Quantized::<Net>::quantize(&net, &calibration)?.save(..)`) and \
                 bake that file, or bake this one as float32 by removing `dtype = int8`"
            )));
            return None;
        }
        _ => {}
    }
    let mut ok = true;
    let mut get = |key: String, dtype: Dtype, shape: Vec<usize>, what: &str| {
        let Some(t) = file.tensor(&key) else {
            errors.push(err(format!(
                "tensor `{key}` is missing: an int8 `{shown}` needs it ({what}), {dtype} of \
                 shape {}; {writers}",
                show_shape(&shape)
            )));
            ok = false;
            return None;
        };
        if t.dtype() != dtype {
            errors.push(err(format!(
                "tensor `{key}` has type {}, but an int8 `{shown}` needs {dtype} there ({what})",
                t.dtype(),
            )));
            ok = false;
            return None;
        }
        if t.shape() != shape.as_slice() {
            let msg = if key.ends_with(".weight_scale") && t.shape().len() == 1 {
                format!(
                    "tensor `{key}` holds {} scales, but `{shown}` has {out} output channels: \
                     an int8 layer has one weight scale per output channel (TFLite's \
                     per-channel quantisation; a per-tensor scale is written {out} times)",
                    t.shape()[0]
                )
            } else {
                format!(
                    "tensor `{key}` has shape {}, but an int8 `{shown}` needs {}",
                    show_shape(t.shape()),
                    show_shape(&shape)
                )
            };
            errors.push(err(msg));
            ok = false;
            return None;
        }
        Some(t)
    };
    let weight = get(
        weight_key,
        Dtype::I8,
        dense.weight_shape(),
        "the int8 weights",
    )
    .map(|t| t.data().to_vec());
    // The rest of the layer's tensors follow its weight: one error says it.
    weight.as_ref()?;
    let weight_scale = get(
        format!("{name}.weight_scale"),
        Dtype::F32,
        vec![out],
        "one scale per output channel",
    )
    .map(|t| f32s(t));
    let bias = get(
        format!("{name}.bias"),
        Dtype::I32,
        vec![out],
        "the biases, at the scale input_scale · weight_scale",
    )
    .map(|t| i32s(t));
    let mut quant = |side: &str| {
        let scale = get(
            format!("{name}.{side}_scale"),
            Dtype::F32,
            vec![1],
            "the activation's scale",
        )
        .map(|t| f32s(t)[0]);
        let zero_point = get(
            format!("{name}.{side}_zero_point"),
            Dtype::I32,
            vec![1],
            "the activation's zero point",
        )
        .map(|t| i32s(t)[0]);
        (side.to_string(), scale, zero_point)
    };
    let sides = [quant("input"), quant("output")];
    if !ok {
        return None;
    }
    let bad_scale = |key: String, v: f32| {
        err(format!(
            "tensor `{key}` holds {v}, but a scale is a positive, finite number; the file \
             is damaged, or not an int8 file"
        ))
    };
    let mut quants = Vec::new();
    for (side, scale, zero_point) in sides {
        let (scale, zero_point) = (scale?, zero_point?);
        if !(scale.is_finite() && scale > 0.0) {
            errors.push(bad_scale(format!("{name}.{side}_scale"), scale));
            ok = false;
        }
        if !(-128..=127).contains(&zero_point) {
            let hint = if (0..=255).contains(&zero_point) {
                "; a zero point of 128 or more is a uint8 model's: quantise it to int8 \
                 (TFLite's `inference_input_type = tf.int8`)"
            } else {
                ""
            };
            errors.push(err(format!(
                "tensor `{name}.{side}_zero_point` is {zero_point}, outside int8's range: an \
                 int8 activation's zero point is in -128..=127{hint}"
            )));
            ok = false;
        }
        quants.push(Quant { scale, zero_point });
    }
    let weight_scale = weight_scale?;
    if let Some(s) = weight_scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        errors.push(bad_scale(format!("{name}.weight_scale"), *s));
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(Tensors {
        weight: weight?,
        weight_scale,
        bias: bias?,
        input: quants[0],
        output: quants[1],
    })
}

/// Each layer's input quantisation against the output quantisation of the layer before it
/// (pools and clamps keep theirs): an error at the layer that reads, naming both tensors.
pub(super) fn check_quantisation(
    steps: &[Step<'_>],
    tensors: &[Tensors],
    path: &str,
) -> syn::Result<()> {
    let mut before: Option<(&str, Quant)> = None;
    let mut next = tensors.iter();
    for step in steps {
        let Step::Dense { layer, .. } = step else {
            continue;
        };
        let t = next.next().expect("one per dense step");
        if let Some((source, q)) = before {
            let source = format!("{source}.output");
            if let Some(e) = mismatch(&layer.decl.ty, &layer.name, t.input, &source, q, path) {
                return Err(e);
            }
        }
        before = Some((layer.name.as_str(), t.output));
    }
    Ok(())
}

/// The error of a layer named `name` whose input quantisation `found` is not `expected`, as
/// tensors `{source}_scale` and `{source}_zero_point` hold it (a layer's or an add's output,
/// or the input as the first layer reading it takes it); `None` when equal.
pub(super) fn mismatch(
    at: &dyn quote::ToTokens,
    name: &str,
    found: Quant,
    source: &str,
    expected: Quant,
    path: &str,
) -> Option<syn::Error> {
    let (a, b) = (found, expected);
    let (what, found, expected) = if a.zero_point != b.zero_point {
        (
            "zero_point",
            a.zero_point.to_string(),
            b.zero_point.to_string(),
        )
    } else if a.scale.to_bits() != b.scale.to_bits() {
        ("scale", format!("{:e}", a.scale), format!("{:e}", b.scale))
    } else {
        return None;
    };
    Some(syn::Error::new_spanned(
        at,
        format!(
            "`{path}`: tensor `{name}.input_{what}` holds {found}, but the value the layer reads \
             is quantised by `{source}_{what}`, which holds {expected}; a layer's input \
             quantisation is the output quantisation of the layer before it: write both the same"
        ),
    ))
}
