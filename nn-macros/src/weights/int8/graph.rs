//! `dtype = int8` for a network whose forward is written as code: its layer calls, `relu`,
//! `flatten` and `+` (TFLite's ADD), with networks declared from templates nested in it.
//!
//! A template's layers are declared in another `network!` call, which this one cannot see;
//! so the network first asks each template it uses for its declaration (`#[__inlined]`, see
//! `crate::template::request`) and then bakes the templates' layers with its own, every size
//! a number and every tensor checked here: an error in a nested network's tensors is at the
//! template's layer, naming the tensor as the file does (`stack2.shortcut.weight`).
//!
//! The nested networks' layers run in place, in the order the forwards call them, and the
//! activations of the whole are laid out when the crate compiles, as TFLite Micro's arena
//! planner lays them out when it starts: each value at the first offset of the scratch that
//! no value alive beside it holds. Every value begins at 0 or where another ends, so an
//! inference writes every byte of `SCRATCH_BYTES`.

use std::collections::HashMap;

use nn_safetensors::{Dtype, File};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use super::checks::{f32s, i32s, mismatch, read_layer, Tensors};
use super::plan::{conv_dense, lit, no_form, pool_step, Act, Dense, Quant, Step};
use super::{describe, emit, step_tokens, Emit};
use crate::ast::{Declared, Input};
use crate::attr::Attr;
use crate::graph::{Graph, Op};
use crate::size::Size;
use crate::valid::{self, ImageKind, Keeps, Kind, Net};

/// Where a value lives: the caller's input, the caller's output, or the scratch.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    In,
    Out,
    Scratch(usize),
}

/// One int8 operation of a forward, and its index in `LAYERS` (a nested network's first).
enum IntOp<'a> {
    /// A layer with weights or a pool: its field, what it computes (its activation folded
    /// in as the forward goes on), its tensors and the quantisation of what it reads.
    Layer {
        field: syn::Ident,
        step: Step<'a>,
        tensors: Option<Tensors>,
        quant: Quant,
        index: usize,
    },
    Add {
        field: syn::Ident,
        act: Act,
        quant: [Quant; 3],
        index: usize,
    },
    /// A network nested: its operations, on this network's values.
    Nested { field: syn::Ident, flat: Vec<Flat> },
}

/// An operation of the forward with the nested networks' operations in place: a layer or an
/// add, reached from the network by `path` (`stack1.conv1`), writing value `out` and reading
/// `reads`; `index` is its place in `LAYERS`.
struct Flat {
    path: TokenStream,
    add: bool,
    index: usize,
    out: usize,
    reads: Vec<usize>,
}

/// A network baked: what its parent needs of it.
struct Built {
    fields: TokenStream,
    values: TokenStream,
    /// Its operations, on values `0..lens.len()`, from `x` to `y`.
    flat: Vec<Flat>,
    lens: Vec<usize>,
    x: usize,
    y: usize,
    n_in: usize,
    n_out: usize,
    out_image: Option<[usize; 3]>,
    input: (Quant, String),
    output: (Quant, String),
    layers: Vec<(String, u64)>,
    /// The structs of the networks nested in it.
    items: TokenStream,
}

/// The reading of the file shared by a network and those nested in it.
struct Cx<'f> {
    file: &'f File<'f>,
    path: String,
    /// The names of the layers and adds read, for the tensors no one reads.
    read: Vec<String>,
    /// The network at the top, whose name names the nested ones.
    owner: String,
}

/// The baked struct of `input`, a network whose forward is code.
pub(super) fn bake(
    input: &Input,
    net: &Net<'_>,
    attr: &Attr,
    file_path: &std::path::Path,
    bytes: &[u8],
) -> syn::Result<TokenStream> {
    let path = attr.path.value();
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &attr.attr,
            "`dtype = int8` bakes a network with sizes as numbers: a generic network has no \
             int8 form; declare it at its sizes",
        ));
    }
    let file = File::parse(bytes)
        .map_err(|e| syn::Error::new_spanned(&attr.attr, format!("`{path}`: {e}")))?;
    let mut cx = Cx {
        file: &file,
        path: path.clone(),
        read: Vec::new(),
        owner: input.ident.to_string(),
    };
    let built = cx.network(input, net, "", None, None)?;
    let extra: Vec<&str> = file
        .names()
        .filter(|k| {
            !cx.read.iter().any(|n| {
                k.strip_prefix(n.as_str())
                    .is_some_and(|r| r.starts_with('.'))
            })
        })
        .collect();
    if !extra.is_empty() {
        return Err(syn::Error::new_spanned(
            &attr.attr,
            format!(
                "`{path}`: unexpected tensors {}: the int8 layers of `{}` are {}; the file is \
                 for another network",
                crate::weights::check::listing(extra.iter().copied()),
                input.ident,
                crate::weights::check::listing(cx.read.iter().map(String::as_str))
            ),
        ));
    }
    let (place, scratch) = plan_memory(&built.flat, &built.lens, built.x, built.y);
    let run = run_body(&built.flat, &place, &built.lens);
    let (n_in, n_out) = (built.n_in, built.n_out);
    emit(Emit {
        input,
        attr,
        file_path,
        fields: built.fields,
        values: built.values,
        n_in,
        n_out,
        scratch: quote!(#scratch),
        in_q: built.input.0.tokens(),
        out_q: built.output.0.tokens(),
        layers: built.layers,
        body: quote! {
            let mut out = [0i8; #n_out];
            {
                let (x, y, scratch) = (&x[..], &mut out[..], &mut scratch[..]);
                let _ = (&x, &y, &scratch);
                #run
            }
            out
        },
        items: built.items,
    })
}

/// A size the forward's input declares, as a number.
fn number(s: &Size, at: &syn::Ident) -> syn::Result<usize> {
    match s {
        Size::Lit(n) => Ok(*n as usize),
        Size::Expr(_) => Err(syn::Error::new(
            at.span(),
            "an int8 network is baked with its input's sizes as numbers",
        )),
    }
}

/// `tokens` with each identifier in `sizes` replaced by its number.
fn substitute(tokens: TokenStream, sizes: &HashMap<String, usize>) -> TokenStream {
    use proc_macro2::{Group, Literal, TokenTree};
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Ident(i) => match sizes.get(&i.to_string()) {
                Some(n) => {
                    let mut l = Literal::usize_unsuffixed(*n);
                    l.set_span(i.span());
                    TokenTree::Literal(l)
                }
                None => TokenTree::Ident(i),
            },
            TokenTree::Group(g) => {
                let mut inner = Group::new(g.delimiter(), substitute(g.stream(), sizes));
                inner.set_span(g.span());
                TokenTree::Group(inner)
            }
            other => other,
        })
        .collect()
}

impl Cx<'_> {
    /// The file's `{name}_scale` and `{name}_zero_point` (an add's output), checked, with
    /// errors at `span`.
    fn quant(&self, name: &str, span: Span) -> syn::Result<Quant> {
        let path = &self.path;
        let get = |key: String, dtype: Dtype| {
            let t = self.file.tensor(&key).ok_or_else(|| {
                syn::Error::new(
                    span,
                    format!(
                        "`{path}`: tensor `{key}` is missing: an int8 add needs it (its output's \
                         quantisation, TFLite's ADD), {dtype} of shape [1]; \
                         `nn::int8::Quantized::save` and `tools/tflite_to_int8.py` write every \
                         tensor of the int8 format (README: \"int8\")"
                    ),
                )
            })?;
            if t.dtype() != dtype || t.shape() != [1] {
                return Err(syn::Error::new(
                    span,
                    format!(
                        "`{path}`: tensor `{key}` is {} of shape {:?}, but an int8 add needs \
                         {dtype} of shape [1] there",
                        t.dtype(),
                        t.shape()
                    ),
                ));
            }
            Ok(t)
        };
        let scale = f32s(get(format!("{name}_scale"), Dtype::F32)?)[0];
        let zero_point = i32s(get(format!("{name}_zero_point"), Dtype::I32)?)[0];
        if !(scale.is_finite() && scale > 0.0 && (-128..=127).contains(&zero_point)) {
            return Err(syn::Error::new(
                span,
                format!(
                    "`{path}`: tensors `{name}_scale` and `{name}_zero_point` hold {scale} and \
                     {zero_point}, but an int8 activation has a positive, finite scale and a \
                     zero point in -128..=127"
                ),
            ));
        }
        Ok(Quant { scale, zero_point })
    }

    /// Network `input` (validated as `net`), its tensors under `prefix`, given an image or
    /// features of a width, quantised as `quant` (`None` at the top: the input's
    /// declaration, and the quantisation of the first layer that reads it).
    fn network<'a>(
        &mut self,
        input: &Input,
        net: &'a Net<'a>,
        prefix: &str,
        given: Option<(Option<[usize; 3]>, usize)>,
        quant: Option<(Quant, String)>,
    ) -> syn::Result<Built> {
        let graph: &Graph = net.graph.as_deref().expect("a forward written as code");
        let fwd = input.forward.as_ref().expect("a forward written as code");
        let ident = &input.ident;
        let refuse = |span: Span, why: &str| syn::Error::new(span, why.to_string());
        let ([only_in], [only_out]) = (&graph.inputs[..], &graph.outputs[..]) else {
            return Err(refuse(
                ident.span(),
                "an int8 network takes one input and returns one value",
            ));
        };
        let (in_image, n_in) = match given {
            Some(given) => given,
            None => {
                let at = &fwd.inputs[0].name;
                match &fwd.inputs[0].declared {
                    Declared::Image(s) => {
                        let i = [number(&s.c, at)?, number(&s.h, at)?, number(&s.w, at)?];
                        (Some(i), 0)
                    }
                    Declared::Features(n) => (None, number(n, at)?),
                    Declared::Labels => unreachable!("an input is never labels"),
                }
            }
        };
        let n = graph.values.len();
        // Reads of each value, a view's counted as its source's: folding a batch norm or an
        // activation into what makes a value needs it read once.
        let mut src: Vec<usize> = (0..n).collect();
        let mut reads = vec![0usize; n];
        for node in &graph.nodes {
            match &node.op {
                Op::Alias => src[node.out] = graph.values[node.out].storage,
                Op::Call { arg, .. } => reads[src[*arg]] += 1,
                Op::Add(a, b) => {
                    reads[src[*a]] += 1;
                    reads[src[*b]] += 1;
                }
                _ => {}
            }
        }
        // Each value's int8 value (views and folded steps share one), and per int8 value
        // its length, quantisation and the operation that writes it.
        let mut map: Vec<usize> = (0..n).collect();
        let mut img: Vec<Option<[usize; 3]>> = vec![None; n];
        let mut len = vec![0usize; n];
        let mut q: Vec<Option<(Quant, String)>> = vec![None; n];
        let mut writer: Vec<Option<usize>> = vec![None; n];
        let x = only_in.value;
        len[x] = in_image.map_or(n_in, |i| i.iter().product());
        img[x] = in_image;
        q[x] = quant;
        let mut ops: Vec<(IntOp<'a>, usize, Vec<usize>)> = Vec::new();
        let mut layers: Vec<(String, u64)> = Vec::new();
        let mut items = TokenStream::new();
        let mut adds = 0usize;
        let path = self.path.clone();
        for node in &graph.nodes {
            let out = node.out;
            match &node.op {
                Op::Input => {}
                Op::Alias => {
                    let a = graph.values[out].storage;
                    map[out] = map[a];
                }
                Op::Call { field, ty, arg } => {
                    let a = map[*arg];
                    let Some(field) = field else {
                        // `relu(..)`, `relu6(..)`: folded into what makes the value.
                        let act = ty.clone().into_iter().find_map(|t| match t {
                            proc_macro2::TokenTree::Ident(i) if i == "ReLU" => Some(Act::Relu),
                            proc_macro2::TokenTree::Ident(i) if i == "ReLU6" => Some(Act::Relu6),
                            _ => None,
                        });
                        let Some(act) = act else {
                            return Err(refuse(
                                node.span,
                                "this function has no int8 form: an int8 forward calls its \
                                 layers, `relu`, `relu6` and `flatten`, and adds values with `+`",
                            ));
                        };
                        let folded = match writer[a].map(|w| &mut ops[w].0) {
                            Some(
                                IntOp::Layer {
                                    step:
                                        Step::Dense {
                                            act: at @ Act::None,
                                            ..
                                        },
                                    index,
                                    ..
                                }
                                | IntOp::Add {
                                    act: at @ Act::None,
                                    index,
                                    ..
                                },
                            ) if reads[src[*arg]] == 1 => {
                                *at = act;
                                Some(*index)
                            }
                            _ => None,
                        };
                        let Some(index) = folded else {
                            return Err(refuse(
                                node.span,
                                "this activation has no int8 form here: in an int8 forward a \
                                 `relu` takes the value of the one layer or add it follows, \
                                 and nothing else reads that value",
                            ));
                        };
                        layers[index].0.push_str(match act {
                            Act::Relu6 => " + ReLU6",
                            _ => " + ReLU",
                        });
                        map[out] = a;
                        img[out] = img[*arg];
                        continue;
                    };
                    let layer = net
                        .layers
                        .iter()
                        .find(|l| l.name == field.name)
                        .expect("a called field is resolved");
                    let name = format!("{prefix}{}", layer.name);
                    let fid = format_ident!("{}", layer.name);
                    match &layer.kind {
                        Kind::BatchNorm { .. } | Kind::Image(ImageKind::BatchNorm2d(_)) => {
                            let folds = matches!(
                                writer[a].map(|w| &ops[w].0),
                                Some(IntOp::Layer {
                                    step: Step::Dense { act: Act::None, .. },
                                    ..
                                })
                            );
                            if !folds || reads[src[*arg]] != 1 {
                                return Err(syn::Error::new_spanned(
                                    &layer.decl.ty,
                                    "this batch norm has no int8 form here: in an int8 \
                                     forward a batch norm takes the value of the one `Linear` \
                                     or `Conv2d` it is folded into, and nothing else reads \
                                     that value",
                                ));
                            }
                            map[out] = a;
                            img[out] = img[*arg];
                            continue;
                        }
                        Kind::Activation(Keeps {
                            alias, width: None, ..
                        }) if *alias == "Dropout" || *alias == "Identity" => {
                            map[out] = a;
                            img[out] = img[*arg];
                            continue;
                        }
                        Kind::User if layer.decl.template.is_some() => {
                            let built = self.nested(
                                input,
                                layer,
                                &name,
                                (img[*arg], len[a]),
                                q[a].clone(),
                            )?;
                            let ty = format_ident!("__{}_{}", self.owner, name.replace('.', "_"));
                            let (f, v, inner) = (&built.fields, &built.values, &built.items);
                            items.extend(quote! {
                                #inner
                                #[doc(hidden)]
                                #[allow(non_camel_case_types)]
                                pub struct #ty { #f }
                                impl #ty {
                                    const WEIGHTS: Self = #ty { #v };
                                }
                            });
                            len[out] = built.n_out;
                            img[out] = built.out_image;
                            q[out] = Some(built.output);
                            if q[a].is_none() {
                                q[a] = Some(built.input);
                            }
                            // Its values become this network's: its input the value given,
                            // its output the call's, the others after this network's own.
                            let first = len.len();
                            len.extend(&built.lens);
                            let (bx, by) = (built.x, built.y);
                            let ours = |v: usize| match v {
                                v if v == bx => a,
                                v if v == by => out,
                                v => first + v,
                            };
                            let at = layers.len();
                            let flat = built
                                .flat
                                .into_iter()
                                .map(|f| {
                                    let path = &f.path;
                                    Flat {
                                        path: quote!(#fid.#path),
                                        add: f.add,
                                        index: at + f.index,
                                        out: ours(f.out),
                                        reads: f.reads.iter().map(|&r| ours(r)).collect(),
                                    }
                                })
                                .collect();
                            writer[out] = Some(ops.len());
                            ops.push((IntOp::Nested { field: fid, flat }, out, vec![a]));
                            layers.extend(built.layers);
                            continue;
                        }
                        _ => {}
                    }
                    // A layer with weights, or a pool.
                    let step = match &layer.kind {
                        Kind::Linear {
                            inputs, outputs, ..
                        } => Step::Dense {
                            layer,
                            dense: Dense::Linear {
                                inputs: lit(inputs, layer)?,
                                outputs: lit(outputs, layer)?,
                            },
                            act: Act::None,
                        },
                        Kind::Image(ImageKind::Conv(conv)) => Step::Dense {
                            layer,
                            dense: conv_dense(layer, conv, img[*arg])?,
                            act: Act::None,
                        },
                        Kind::Image(ImageKind::MaxPool(pool) | ImageKind::AvgPool(pool)) => {
                            let (step, o) = pool_step(layer, pool, img[*arg])?;
                            img[out] = Some(o);
                            step
                        }
                        Kind::Image(ImageKind::AdaptiveAvgPool) => {
                            let input = img[*arg].ok_or_else(|| no_form(layer))?;
                            let window = [input[1], input[2]];
                            img[out] = Some([input[0], 1, 1]);
                            Step::Pool {
                                average: true,
                                input,
                                window,
                                stride: window,
                                pad: [0, 0],
                            }
                        }
                        _ => return Err(no_form(layer)),
                    };
                    let tensors = match &step {
                        Step::Dense { dense, .. } => {
                            let mut errors = crate::ctxt::Ctxt::default();
                            let t = read_layer(self.file, layer, &name, dense, &path, &mut errors);
                            errors.finish()?;
                            let t = t.expect("read without errors");
                            match &q[a] {
                                Some((source, stem)) => {
                                    let e = mismatch(
                                        &layer.decl.ty,
                                        &name,
                                        t.input,
                                        stem,
                                        *source,
                                        &path,
                                    );
                                    if let Some(e) = e {
                                        return Err(e);
                                    }
                                }
                                None => q[a] = Some((t.input, format!("{name}.input"))),
                            }
                            self.read.push(name.clone());
                            img[out] = match dense {
                                Dense::Linear { .. } => None,
                                _ => Some(dense.out_image()),
                            };
                            len[out] = dense.out_len();
                            q[out] = Some((t.output, format!("{name}.output")));
                            Some(t)
                        }
                        _ => {
                            len[out] = img[out].map_or(0, |i| i.iter().product());
                            q[out] = q[a].clone();
                            None
                        }
                    };
                    let Some((quant, _)) = q[a].clone() else {
                        return Err(no_form(layer));
                    };
                    let (shown, macs) = describe(&step);
                    layers.push((format!("{name}: {shown}"), macs));
                    writer[out] = Some(ops.len());
                    ops.push((
                        IntOp::Layer {
                            field: fid,
                            step,
                            tensors,
                            quant,
                            index: layers.len() - 1,
                        },
                        out,
                        vec![a],
                    ));
                }
                Op::Add(a_given, b_given) => {
                    let (a, b) = (map[*a_given], map[*b_given]);
                    let name = match adds {
                        0 => "add".to_string(),
                        k => format!("add_{k}"),
                    };
                    adds += 1;
                    let full = format!("{prefix}{name}");
                    let output = self.quant(&format!("{full}.output"), node.span)?;
                    let (Some(qa), Some(qb)) = (&q[a], &q[b]) else {
                        return Err(refuse(
                            node.span,
                            "an int8 add reads values a layer has read before it: the input's \
                             quantisation is the first layer's that reads it",
                        ));
                    };
                    let quant = [qa.0, qb.0, output];
                    self.read.push(full.clone());
                    len[out] = len[a];
                    img[out] = img[*a_given];
                    q[out] = Some((output, format!("{full}.output")));
                    layers.push((format!("{full}: add"), 0));
                    writer[out] = Some(ops.len());
                    ops.push((
                        IntOp::Add {
                            field: format_ident!("__{name}"),
                            act: Act::None,
                            quant,
                            index: layers.len() - 1,
                        },
                        out,
                        vec![a, b],
                    ));
                }
                Op::Sub(..) | Op::Mul(..) | Op::Affine { .. } | Op::Cat(_) | Op::Chunk { .. } => {
                    return Err(refuse(
                        node.span,
                        "this operation has no int8 form: an int8 forward calls its layers, \
                         `relu`, `relu6` and `flatten`, and adds values with `+`",
                    ))
                }
            }
        }
        let y = map[only_out.value];
        if y == x || writer[y].is_none() {
            return Err(refuse(
                ident.span(),
                "an int8 network's output is made by a layer or an add",
            ));
        }
        // The fields, their activations folded in.
        let (mut fields, mut values) = (Vec::new(), Vec::new());
        for (op, _, _) in &ops {
            match op {
                IntOp::Layer {
                    field,
                    step,
                    tensors,
                    quant,
                    ..
                } => {
                    let (ty, value, _, _) = step_tokens(step, tensors.as_ref(), *quant)?;
                    fields.push(quote!(#field: #ty,));
                    values.push(quote!(#field: #value,));
                }
                IntOp::Add {
                    field, act, quant, ..
                } => {
                    let [a, b, o] = quant.map(|q| q.tokens());
                    let act = act.tokens();
                    fields.push(quote!(#field: ::nn::int8::baked::Add,));
                    values.push(quote!(#field: ::nn::int8::baked::Add::new(#a, #b, #o, #act),));
                }
                IntOp::Nested { field, .. } => {
                    let name = format!("{prefix}{field}");
                    let ty = format_ident!("__{}_{}", self.owner, name.replace('.', "_"));
                    fields.push(quote!(#field: #ty,));
                    values.push(quote!(#field: #ty::WEIGHTS,));
                }
            }
        }
        let mut flat = Vec::new();
        for (op, out, reads) in ops {
            match op {
                IntOp::Layer { field, index, .. } | IntOp::Add { field, index, .. } => {
                    flat.push(Flat {
                        add: reads.len() == 2,
                        path: quote!(#field),
                        index,
                        out,
                        reads,
                    })
                }
                IntOp::Nested { flat: f, .. } => flat.extend(f),
            }
        }
        Ok(Built {
            fields: quote!(#(#fields)*),
            values: quote!(#(#values)*),
            flat,
            x,
            y,
            n_in: len[x],
            n_out: len[y],
            out_image: img[only_out.value],
            input: q[x].clone().expect("read by a layer"),
            output: q[y].clone().expect("made by a layer or an add"),
            lens: len,
            layers,
            items,
        })
    }

    /// The network declared from a template for `layer`, its tensors under `name.`, given
    /// `image` (or `width` features).
    fn nested(
        &mut self,
        outer: &Input,
        layer: &valid::Resolved<'_>,
        name: &str,
        (image, width): (Option<[usize; 3]>, usize),
        quant: Option<(Quant, String)>,
    ) -> syn::Result<Built> {
        let field = layer
            .decl
            .name
            .as_ref()
            .expect("a template's field has a name");
        let Some((_, decl)) = outer.inlined.iter().find(|(f, _)| f == field) else {
            return Err(syn::Error::new_spanned(
                field,
                "the template's declaration is missing",
            ));
        };
        let first: Input = syn::parse2(decl.clone())?;
        let mut sizes = HashMap::new();
        let given = first.forward.as_ref().and_then(|f| f.inputs.first());
        let named: Vec<(&Size, usize)> = match (given.map(|p| &p.declared), image) {
            (Some(Declared::Image(s)), Some(image)) => {
                vec![(&s.c, image[0]), (&s.h, image[1]), (&s.w, image[2])]
            }
            (Some(Declared::Features(n)), _) => vec![(n, width)],
            _ => Vec::new(),
        };
        for (size, n) in named {
            if let Size::Expr(ts) = size {
                if let Ok(i) = syn::parse2::<syn::Ident>(ts.clone()) {
                    sizes.insert(i.to_string(), n);
                }
            }
        }
        let inner: Input = syn::parse2(substitute(decl.clone(), &sizes))?;
        let inner = Input {
            ident: syn::Ident::new(&inner.ident.to_string(), field.span()),
            ..inner
        };
        let net = valid::check(&inner)?;
        self.network(
            &inner,
            &net,
            &format!("{name}."),
            Some((image, width)),
            quant,
        )
    }
}

/// Each value's place and the scratch's bytes: each value written at the first offset that
/// no value alive beside it holds (those read by the operation or after it).
fn plan_memory(flat: &[Flat], len: &[usize], x: usize, y: usize) -> (Vec<Place>, usize) {
    let n = len.len();
    let mut last = vec![0usize; n];
    for (i, f) in flat.iter().enumerate() {
        for &r in &f.reads {
            last[r] = i;
        }
    }
    let mut place = vec![Place::Scratch(0); n];
    place[x] = Place::In;
    place[y] = Place::Out;
    let mut alive: Vec<usize> = Vec::new();
    let mut top = 0usize;
    for (i, f) in flat.iter().enumerate() {
        alive.retain(|&v| last[v] >= i);
        if f.out == y {
            continue;
        }
        let taken: Vec<(usize, usize)> = alive
            .iter()
            .map(|&v| match place[v] {
                Place::Scratch(o) => (o, len[v]),
                _ => unreachable!("only scratch values are kept alive"),
            })
            .collect();
        let need = len[f.out];
        let mut starts: Vec<usize> = std::iter::once(0)
            .chain(taken.iter().map(|t| t.0 + t.1))
            .collect();
        starts.sort_unstable();
        let at = starts
            .into_iter()
            .find(|&s| taken.iter().all(|&(o, l)| s + need <= o || o + l <= s))
            .expect("past every value is free");
        place[f.out] = Place::Scratch(at);
        top = top.max(at + need);
        alive.push(f.out);
    }
    (place, top)
}

/// The body of the forward: each operation on its values' places, `after(k)` after layer
/// `k`.
fn run_body(flat: &[Flat], place: &[Place], len: &[usize]) -> TokenStream {
    let mut body = Vec::new();
    for f in flat {
        // The scratch parts this operation touches, each value once.
        let mut parts: Vec<(usize, usize)> = Vec::new();
        let mut names: Vec<usize> = Vec::new();
        let mut operand = |v: usize, write: bool| -> TokenStream {
            match place[v] {
                Place::In => quote!(x),
                Place::Out if write => quote!(&mut *y),
                Place::Out => quote!(&*y),
                Place::Scratch(o) => {
                    let k = names.iter().position(|&w| w == v).unwrap_or_else(|| {
                        parts.push((o, len[v]));
                        names.push(v);
                        names.len() - 1
                    });
                    let id = format_ident!("p{k}");
                    if write {
                        quote!(&mut *#id)
                    } else {
                        quote!(&*#id)
                    }
                }
            }
        };
        let ins: Vec<TokenStream> = f.reads.iter().map(|&r| operand(r, false)).collect();
        let o = operand(f.out, true);
        let (path, index) = (&f.path, f.index);
        let call = quote!(self.#path.forward(#(#ins,)* #o); after(#index););
        let ids = (0..parts.len()).map(|j| format_ident!("p{j}"));
        let ranges = parts.iter().map(|(o, l)| quote!((#o, #l)));
        body.push(if parts.is_empty() {
            quote!({ #call })
        } else {
            quote! {{
                let [#(#ids),*] = ::nn::int8::baked::regions(&mut *scratch, [#(#ranges),*]);
                #call
            }}
        });
    }
    quote!(#(#body)*)
}
