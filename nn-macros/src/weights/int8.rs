//! `#[weights("model_int8.safetensors", dtype = int8)]`: the declaration's int8 form, baked.
//!
//! The network's layers are read as `nn::int8::Quantized` reads them (a `BatchNorm` right
//! after a layer and a `ReLU`/`ReLU6` right after one are folded into it; a batch norm after
//! an activation is a per-channel step of its own), every tensor of the int8 file checked
//! against them here (dtype, shape, one scale per output channel, zero points in int8's
//! range), and the struct emitted holds `nn::int8::baked` layers whose multipliers, shifts and
//! zero-point sums the compiler prepares. Its `forward` takes `[i8; IN]` and gives
//! `[i8; OUT]` through a scratch of `SCRATCH_BYTES` on the stack: two activations at a time,
//! one at each end, so that the scratch is the widest pair of consecutive activations.

use nn_safetensors::{Dtype, File};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::literal;
use crate::ast::Input;
use crate::attr::Attr;
use crate::ctxt::Ctxt;

use crate::valid::{self, Net};

mod checks;
mod graph;
mod plan;

use checks::{check_quantisation, read_layer, Tensors};
use plan::{plan, Act, Dense, Step};

/// What an int8 step computes, for `LAYERS`: the declared layer with the activation folded
/// into it, and its multiply-adds (torchinfo's count: none for pools and clamps).
fn describe(step: &Step<'_>) -> (String, u64) {
    match step {
        Step::Dense { layer, dense, act } => {
            let shown = valid::show(&layer.kind, &layer.decl.ty);
            let act = match act {
                Act::None => "",
                Act::Relu => " + ReLU",
                Act::Relu6 => " + ReLU6",
            };
            let per = match dense {
                Dense::Linear { inputs, .. } => *inputs,
                Dense::Conv {
                    input,
                    kernel: [kh, kw],
                    depthwise,
                    ..
                } => kh * kw * if *depthwise { 1 } else { input[0] },
                Dense::Depthwise { .. } => 1,
            };
            (format!("{shown}{act}"), (dense.out_len() * per) as u64)
        }
        Step::Pool {
            average,
            window: [kh, kw],
            ..
        } => {
            let kind = if *average { "AvgPool2d" } else { "MaxPool2d" };
            (format!("{kind} {kh}x{kw}"), 0)
        }
        Step::Clamp(Act::Relu6) => ("ReLU6".into(), 0),
        Step::Clamp(_) => ("ReLU".into(), 0),
    }
}

/// The baked int8 struct, or the errors that stop it.
pub fn bake(
    input: &Input,
    net: &Net<'_>,
    attr: &Attr,
    file_path: &std::path::Path,
    bytes: &[u8],
) -> syn::Result<TokenStream> {
    let path = attr.path.value();
    if input.forward.is_some() {
        return graph::bake(input, net, attr, file_path, bytes);
    }
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &attr.attr,
            "`dtype = int8` bakes a network with sizes as numbers: a generic network has no \
             int8 form; declare it at its sizes",
        ));
    }
    let steps = plan(input, &net.layers)?;
    let file = File::parse(bytes)
        .map_err(|e| syn::Error::new_spanned(&attr.attr, format!("`{path}`: {e}")))?;

    let mut errors = Ctxt::default();
    let mut read = Vec::new();
    for step in &steps {
        if let Step::Dense { layer, dense, .. } = step {
            let weight = file.tensor(&format!("{}.weight", layer.name));
            let float_file = weight.is_some_and(|t| t.dtype() == Dtype::F32);
            read.push(read_layer(
                &file,
                layer,
                &layer.name,
                dense,
                &path,
                &mut errors,
            ));
            if float_file {
                // Said once, at the first layer: the rest of a float32 file is no news.
                return Err(errors.finish().expect_err("a float32 weight is an error"));
            }
        }
    }
    // Tensors no step reads: another network's file.
    let names: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Dense { layer, .. } => Some(layer.name.as_str()),
            _ => None,
        })
        .collect();
    let extra: Vec<&str> = file
        .names()
        .filter(|k| {
            !names
                .iter()
                .any(|n| k.strip_prefix(n).is_some_and(|r| r.starts_with('.')))
        })
        .collect();
    if !extra.is_empty() {
        errors.push(syn::Error::new_spanned(
            &attr.attr,
            format!(
                "`{path}`: unexpected tensors {}: the int8 layers of `{}` are {}; the file \
                 is for another network",
                super::check::listing(extra.iter().copied()),
                input.ident,
                super::check::listing(names.iter().copied())
            ),
        ));
    }
    errors.finish()?;
    let tensors: Vec<Tensors> = read.into_iter().map(|t| t.expect("checked")).collect();
    check_quantisation(&steps, &tensors, &path)?;

    // The values, the step types and each writing step's output length.
    let first_in = tensors[0].input;
    let mut quant = first_in;
    let mut fields = Vec::new();
    let mut types = Vec::new();
    let mut values = Vec::new();
    // (field, output length, whether it writes a new activation)
    let mut runs: Vec<(syn::Ident, usize, bool)> = Vec::new();
    let (mut names, mut macs) = (Vec::new(), Vec::new());
    let mut next = tensors.iter();
    for (i, step) in steps.iter().enumerate() {
        let field = syn::Ident::new(&format!("__{i}"), Span::call_site());
        let (name, n) = describe(step);
        names.push(name);
        macs.push(n);
        let t = match step {
            Step::Dense { .. } => next.next(),
            _ => None,
        };
        let (ty, value, len, writes) = step_tokens(step, t, quant)?;
        if let Some(t) = t {
            quant = t.output;
        }
        fields.push(field.clone());
        types.push(ty);
        values.push(value);
        runs.push((field, len, writes));
    }

    // The writing steps' lengths; the last writes the result, the others alternate
    // between the scratch's two ends.
    let writes: Vec<usize> = runs.iter().filter(|r| r.2).map(|r| r.1).collect();
    let m = writes.len();
    let inner = &writes[..m - 1];
    let scratch = inner
        .windows(2)
        .map(|p| p[0] + p[1])
        .chain(inner.last().copied())
        .max()
        .unwrap_or(0);
    let n_in = match &steps[0] {
        Step::Dense { dense, .. } => match dense {
            Dense::Linear { inputs, .. } => *inputs,
            Dense::Conv { input, .. } => input.iter().product(),
            Dense::Depthwise { image } => image.iter().product(),
        },
        Step::Pool { input, .. } => input.iter().product(),
        Step::Clamp(_) => unreachable!("refused by plan"),
    };
    let n_out = writes[m - 1];

    // Where write `k` (of `m`) puts its output and finds its input.
    let region = |k: usize, len: usize| -> TokenStream {
        if k + 1 == m {
            quote!(&mut y[..])
        } else if k.is_multiple_of(2) {
            quote!(&mut scratch[..#len])
        } else {
            quote!(&mut scratch[#scratch - #len..])
        }
    };
    let mut body = Vec::new();
    let mut k = 0usize;
    for (step, (field, len, write)) in runs.iter().enumerate() {
        if !*write {
            // A clamp in place, on the last write's output.
            let at = region(k - 1, writes[k - 1]);
            body.push(quote!(self.#field.forward(#at); after(#step);));
            continue;
        }
        let out = *len;
        let code = if k == 0 {
            let o = region(0, out);
            quote!(self.#field.forward(&x[..], #o);)
        } else {
            let a = writes[k - 1];
            let from_start = (k - 1).is_multiple_of(2);
            if k + 1 == m {
                let i = if from_start {
                    quote!(&scratch[..#a])
                } else {
                    quote!(&scratch[#scratch - #a..])
                };
                quote!(self.#field.forward(#i, &mut y[..]);)
            } else if from_start {
                quote! {{
                    let (i, o) = scratch.split_at_mut(#a);
                    let n = o.len();
                    self.#field.forward(i, &mut o[n - #out..]);
                }}
            } else {
                quote! {{
                    let (o, i) = scratch.split_at_mut(#out);
                    let n = i.len();
                    self.#field.forward(&i[n - #a..], o);
                }}
            }
        };
        body.push(quote!(#code after(#step);));
        k += 1;
    }

    let unused = if scratch == 0 {
        quote!(let _ = scratch;)
    } else {
        quote!()
    };
    emit(Emit {
        input,
        attr,
        file_path,
        fields: quote!(#(#fields: #types,)*),
        values: quote!(#(#fields: #values,)*),
        n_in,
        n_out,
        scratch: quote!(#scratch),
        in_q: first_in.tokens(),
        out_q: quant.tokens(),
        layers: names.into_iter().zip(macs).collect(),
        body: quote! {
            #unused
            let mut y = [0i8; #n_out];
            #(#body)*
            y
        },
        items: quote!(),
    })
}

/// What the int8 struct of a network is made of, for [`emit`].
struct Emit<'a> {
    pub(super) input: &'a Input,
    pub(super) attr: &'a Attr,
    pub(super) file_path: &'a std::path::Path,
    /// The struct's fields, `name: Type,` each.
    pub(super) fields: TokenStream,
    /// Their values in `WEIGHTS`, `name: value,` each.
    pub(super) values: TokenStream,
    pub(super) n_in: usize,
    pub(super) n_out: usize,
    pub(super) scratch: TokenStream,
    pub(super) in_q: TokenStream,
    pub(super) out_q: TokenStream,
    /// `LAYERS`: each layer's description and multiply-adds.
    pub(super) layers: Vec<(String, u64)>,
    /// `forward_layers`'s body, with `x`, `scratch` and `after` in scope; it ends with the
    /// output.
    pub(super) body: TokenStream,
    /// Items beside the struct (the networks nested in it).
    pub(super) items: TokenStream,
}

/// The baked int8 struct and its methods.
fn emit(e: Emit<'_>) -> syn::Result<TokenStream> {
    let Emit {
        input,
        attr,
        file_path,
        fields,
        values,
        n_in,
        n_out,
        scratch,
        in_q,
        out_q,
        layers,
        body,
        items,
    } = e;
    let path = attr.path.value();
    let ident = &input.ident;
    let n_steps = layers.len();
    let (names, macs): (Vec<String>, Vec<u64>) = layers.into_iter().unzip();
    let (attrs, vis) = (&input.attrs, &input.vis);
    let include = file_path.to_str().ok_or_else(|| {
        syn::Error::new_spanned(
            &attr.attr,
            format!("`{path}`: the path is not valid UTF-8, which `include_bytes!` needs"),
        )
    })?;
    let weights_doc = format!(
        " The int8 network of `{path}`, baked in at compile time: `static MODEL: {ident} = \
         {ident}::WEIGHTS;` keeps it in read-only memory (flash on a microcontroller), its \
         multipliers, shifts and zero-point sums prepared by the compiler."
    );
    Ok(quote! {
        #(#attrs)*
        #vis struct #ident {
            #fields
        }

        #items

        // Makes cargo rebuild the crate when the weights file changes.
        const _: &[u8] = ::core::include_bytes!(#include);

        #[allow(dead_code)]
        impl #ident {
            #[doc = #weights_doc]
            pub const WEIGHTS: Self = #ident { #values };
            /// Input values of one sample.
            pub const IN: usize = #n_in;
            /// Output values (logits) of one sample.
            pub const OUT: usize = #n_out;
            /// The bytes of activations one inference keeps, on the stack in
            /// [`Self::forward`] or the caller's in [`Self::forward_in`]: the widest pair of
            /// consecutive layers' outputs (the input and the result are the caller's).
            pub const SCRATCH_BYTES: usize = #scratch;
            /// The input's quantisation: `x_i8 = clamp(round(x / scale) + zero_point)`.
            pub const INPUT: ::nn::int8::Quant = #in_q;
            /// The output's quantisation: `y = scale · (y_i8 − zero_point)`.
            pub const OUTPUT: ::nn::int8::Quant = #out_q;
            /// The layers as the int8 forward runs them, each with its multiply-adds: a
            /// `BatchNorm` right after a layer and a `ReLU`/`ReLU6` after one are folded into
            /// it. [`Self::forward_layers`] reports each as it finishes.
            pub const LAYERS: [(&'static str, u64); #n_steps] = [#((#names, #macs)),*];

            /// One sample in int8, integer arithmetic only, no heap: `x` quantised as
            /// [`Self::INPUT`], the result as [`Self::OUTPUT`].
            pub fn forward(&self, x: &[i8; #n_in]) -> [i8; #n_out] {
                let mut scratch = [0i8; #scratch];
                self.forward_in(x, &mut scratch)
            }

            /// [`Self::forward`] with the activations in `scratch`, the caller's.
            pub fn forward_in(&self, x: &[i8; #n_in], scratch: &mut [i8; #scratch]) -> [i8; #n_out] {
                self.forward_layers(x, scratch, |_| {})
            }

            /// [`Self::forward_in`], calling `after(k)` as soon as layer `k` of
            /// [`Self::LAYERS`] has written its output: to time or inspect the layers one at
            /// a time.
            pub fn forward_layers(
                &self,
                x: &[i8; #n_in],
                scratch: &mut [i8; #scratch],
                mut after: impl FnMut(usize),
            ) -> [i8; #n_out] {
                #body
            }

            /// `x` quantised as [`Self::INPUT`] (floating point, for the host).
            pub fn quantize(x: &[f32; #n_in]) -> [i8; #n_in] {
                x.map(|v| Self::INPUT.quantize(v))
            }

            /// The logits dequantised: `x` quantised, run in int8, the result as reals.
            pub fn logits(&self, x: &[f32; #n_in]) -> [f32; #n_out] {
                self.forward(&Self::quantize(x)).map(|v| Self::OUTPUT.dequantize(v))
            }
        }
    })
}

/// A step's type and value in the baked struct, the length of what it writes and whether
/// it writes a new value (a clamp works in place): `t` a dense step's tensors, `quant` the
/// quantisation of what a pool or clamp reads.
fn step_tokens(
    step: &Step<'_>,
    t: Option<&Tensors>,
    quant: plan::Quant,
) -> syn::Result<(TokenStream, TokenStream, usize, bool)> {
    Ok(match step {
        Step::Dense { layer, dense, act } => {
            let t = t.expect("one per dense step");
            let span = layer.decl.ty.span();
            let out = dense.outputs();
            let bytes = syn::LitByteStr::new(&t.weight, span);
            let bias = &t.bias;
            let scales = literal::nest(&t.weight_scale, &[out], span)
                .map_err(|e| syn::Error::new(span, e))?;
            let (qi, qo) = (t.input.tokens(), t.output.tokens());
            let a = act.tokens();
            match dense {
                Dense::Linear { inputs, outputs } => (
                    quote!(::nn::int8::baked::Linear<#inputs, #outputs>),
                    quote_spanned! {span=>
                        ::nn::int8::baked::Linear::new(
                            ::nn::int8::baked::rows(#bytes), [#(#bias),*], &#scales, #qi, #qo, #a)
                    },
                    dense.out_len(),
                    true,
                ),
                Dense::Conv {
                    input,
                    cout,
                    kernel: [kh, kw],
                    stride: [sh, sw],
                    dilation: [dh, dw],
                    depthwise,
                    ..
                } => {
                    let [cin, h, w] = *input;
                    let ([oh, ow], [ph, pw]) = dense.geometry();
                    let shape = quote! {
                        ::nn::int8::Conv2dShape {
                            in_channels: #cin, input: [#h, #w], out_channels: #cout,
                            output: [#oh, #ow], kernel: [#kh, #kw],
                            stride: [#sh, #sw], dilation: [#dh, #dw],
                            pad: [#ph, #pw],
                        }
                    };
                    let (ty, ctor) = if *depthwise {
                        let taps = kh * kw;
                        (
                            quote!(::nn::int8::baked::DepthwiseConv2d<#taps, #cout>),
                            quote!(::nn::int8::baked::DepthwiseConv2d::new),
                        )
                    } else {
                        let per = cin * kh * kw;
                        (
                            quote!(::nn::int8::baked::Conv2d<#per, #cout>),
                            quote!(::nn::int8::baked::Conv2d::new),
                        )
                    };
                    (
                        ty,
                        quote_spanned! {span=>
                            #ctor(
                                #shape,
                                ::nn::int8::baked::rows(#bytes), [#(#bias),*], &#scales,
                                #qi, #qo, #a)
                        },
                        dense.out_len(),
                        true,
                    )
                }
                Dense::Depthwise { image } => {
                    let [c, h, w] = *image;
                    (
                        quote!(::nn::int8::baked::Depthwise<#c>),
                        quote_spanned! {span=>
                            ::nn::int8::baked::Depthwise::new(
                                [#h, #w], ::nn::int8::baked::rows(#bytes), [#(#bias),*],
                                &#scales, #qi, #qo)
                        },
                        dense.out_len(),
                        true,
                    )
                }
            }
        }
        Step::Pool {
            average,
            input,
            window: [kh, kw],
            stride: [sh, sw],
            pad: [ph, pw],
        } => {
            let [c, h, w] = *input;
            let side = |n: usize, k: usize, s: usize, p: usize| (n + 2 * p - k) / s + 1;
            let (oh, ow) = (side(h, *kh, *sh, *ph), side(w, *kw, *sw, *pw));
            let q = quant.tokens();
            (
                quote!(::nn::int8::baked::Pool2d),
                quote! {
                    ::nn::int8::baked::Pool2d::new(
                        ::nn::int8::Pool2dShape {
                            channels: #c, input: [#h, #w], output: [#oh, #ow],
                            window: [#kh, #kw], stride: [#sh, #sw], pad: [#ph, #pw],
                        },
                        #average, #q)
                },
                c * oh * ow,
                true,
            )
        }
        Step::Clamp(a) => {
            let (a, q) = (a.tokens(), quant.tokens());
            (
                quote!(::nn::int8::baked::Clamp),
                quote!(::nn::int8::baked::Clamp::new(#a, #q)),
                0,
                false,
            )
        }
    })
}
