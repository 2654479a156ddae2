//! The tensors a network's own built-in layers need from a weights file: their state-dict
//! keys, types and shapes, in PyTorch's layouts.

use nn_safetensors::Dtype;

use crate::size::Size;
use crate::valid::{self, ImageKind, Keeps, Kind, Resolved};

/// One tensor a layer needs.
pub struct ExpectedTensor<'a> {
    pub layer: &'a Resolved<'a>,
    /// The layer as declared, for messages: `Linear<784, 128>`.
    pub shown: String,
    /// `weight`, `running_mean`, ...
    pub name: &'static str,
    /// The state-dict key, `0.weight`.
    pub key: String,
    pub dtype: Dtype,
    pub shape: Vec<Size>,
}

/// The shape of a `Linear<IN, OUT>` weight, from its input and output sizes: `[OUT, IN]`.
/// nn-core's `Linear` is the source (`weight: [[f32; IN]; OUT]`, row `o` holding the
/// weights into output `o`), and it is PyTorch's layout too. The one place the macro
/// states it: the tensors wanted and the hint for a transposed weight both ask here.
pub fn linear_weight<T>(inputs: T, outputs: T) -> [T; 2] {
    [outputs, inputs]
}

/// What the network's own built-in layers need, layer by layer, in declaration order.
/// A layer that fills itself from the file (a network, an inline block, a layer of the
/// user's) needs nothing here.
pub fn tensors<'a>(layers: &'a [Resolved<'a>]) -> Vec<ExpectedTensor<'a>> {
    let mut wants = Vec::new();
    for layer in layers {
        let shown = valid::show(&layer.kind, &layer.decl.ty);
        let mut want = |name: &'static str, dtype: Dtype, shape: Vec<Size>| {
            wants.push(ExpectedTensor {
                layer,
                shown: shown.clone(),
                name,
                key: format!("{}.{name}", layer.name),
                dtype,
                shape,
            })
        };
        match &layer.kind {
            Kind::Linear {
                inputs,
                outputs,
                bias,
            } => {
                let weight = linear_weight(inputs.clone(), outputs.clone());
                want("weight", Dtype::F32, weight.to_vec());
                if *bias {
                    want("bias", Dtype::F32, vec![outputs.clone()]);
                }
            }
            Kind::BatchNorm { width }
            | Kind::Image(ImageKind::BatchNorm2d(width) | ImageKind::BatchNorm1d(width)) => {
                for name in ["weight", "bias", "running_mean", "running_var"] {
                    want(name, Dtype::F32, vec![width.clone()]);
                }
                want("num_batches_tracked", Dtype::I64, vec![]);
            }
            // `LayerNorm<N>`, the one width-keeping built-in with data.
            Kind::Activation(Keeps {
                width: Some(width), ..
            }) => {
                for name in ["weight", "bias"] {
                    want(name, Dtype::F32, vec![width.clone()]);
                }
            }
            Kind::Image(ImageKind::Conv(conv)) => {
                let (kh, kw) = (conv.kernel.h.clone(), conv.kernel.w.clone());
                let weight = vec![conv.cout.clone(), conv.in_per_group(), kh, kw];
                let cout = &conv.cout;
                want("weight", Dtype::F32, weight);
                if conv.bias {
                    want("bias", Dtype::F32, vec![cout.clone()]);
                }
            }
            // PyTorch's layout for a transposed convolution: input channels first.
            Kind::Image(ImageKind::ConvTranspose(conv, _)) => {
                let (cin, cout, k) = (&conv.cin, &conv.cout, &conv.k);
                let weight = vec![cin.clone(), cout.clone(), k.clone(), k.clone()];
                want("weight", Dtype::F32, weight);
                if conv.bias {
                    want("bias", Dtype::F32, vec![cout.clone()]);
                }
            }
            // Layers without tensors; a network (or a layer of the user's, which the
            // compiler then refuses) fills itself from the file.
            Kind::Activation(_) | Kind::Image(_) | Kind::Sequence(_) | Kind::User => {}
        }
    }
    wants
}
