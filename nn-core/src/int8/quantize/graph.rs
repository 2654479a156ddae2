//! Networks that are not one plain chain, as steps: networks nested in a chain or called by
//! a forward (their layers named under the field's name, `stack1.conv1`), `Residual<..>`, and
//! forwards written as code ([`Forward`]), whose values are kept in slots where a later
//! operation reads them again and whose `+` is TFLite's ADD.
//!
//! The steps work on one value at hand: a layer reads it and makes the next; `Save` keeps a
//! copy of it in a slot, `Load` brings a slot's back, `Add` adds a slot's to it. A value is
//! saved only when it is read after the step that replaces it, so a convolution followed by
//! its batch norm and ReLU stays one step and folds as in a chain.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::{layer, AddStep, QuantizeError, Step};
use crate::int8::Activation;
use crate::{Forward, ForwardOp, LayerInfo};

/// The steps of a network whose layers are `layers` and whose forward is `forward` (`None`
/// for a chain), on an input `image`.
pub(super) fn plan(
    layers: &[LayerInfo],
    forward: Option<&Forward>,
    image: Option<[usize; 3]>,
    state: Option<&BTreeMap<String, Vec<f32>>>,
) -> Result<Vec<Step>, QuantizeError> {
    let mut walk = Walk {
        steps: Vec::new(),
        slots: 0,
        state,
    };
    let mut image = image;
    match forward {
        Some(f) => walk.forward(f, "", "", &mut image)?,
        None => walk.chain(layers, "", &mut image)?,
    }
    Ok(walk.steps)
}

struct Walk<'a> {
    steps: Vec<Step>,
    /// Slots handed out so far.
    slots: usize,
    state: Option<&'a BTreeMap<String, Vec<f32>>>,
}

/// Where a forward's values are, while its steps are laid down.
struct Values {
    /// The value a view (`flatten`) shows: itself for any other.
    root: Vec<usize>,
    /// The slot holding a copy.
    slot: Vec<Option<usize>>,
    /// The last operation that reads it (the forward's end for an output).
    last_use: Vec<Option<usize>>,
    image: Vec<Option<[usize; 3]>>,
    /// The value at hand.
    at_hand: Option<usize>,
}

impl Walk<'_> {
    fn chain(
        &mut self,
        layers: &[LayerInfo],
        prefix: &str,
        image: &mut Option<[usize; 3]>,
    ) -> Result<(), QuantizeError> {
        layers
            .iter()
            .try_for_each(|info| self.layer(info, prefix, image))
    }

    /// One layer on the value at hand: a plain layer, or a network nested there.
    fn layer(
        &mut self,
        info: &LayerInfo,
        prefix: &str,
        image: &mut Option<[usize; 3]>,
    ) -> Result<(), QuantizeError> {
        let name = format!("{prefix}{}", info.name);
        let kind = info.kind().to_string();
        if kind.starts_with("Residual<") {
            // `x + block(x)`, the block's layers named as its own.
            if info.children.is_empty() {
                return Err(QuantizeError::Unsupported {
                    layer: name,
                    kind,
                    why: "a residual around one layer has no int8 form yet; wrap a \
                          sequence of layers or a network"
                        .into(),
                });
            }
            let slot = self.save();
            match info.forward {
                Some(f) => self.forward(f, &format!("{name}."), &name, image)?,
                None => self.chain(info.children, &format!("{name}."), image)?,
            }
            self.steps.push(Step::Add(AddStep {
                name: format!("{name}.add"),
                slot,
                activation: Activation::None,
            }));
            return Ok(());
        }
        if let Some(f) = info.forward {
            return self.forward(f, &format!("{name}."), &name, image);
        }
        if !info.children.is_empty() {
            return self.chain(info.children, &format!("{name}."), image);
        }
        layer(&mut self.steps, info, name, image, self.state)
    }

    fn save(&mut self) -> usize {
        self.slots += 1;
        self.steps.push(Step::Save(self.slots - 1));
        self.slots - 1
    }

    /// The steps of forward `f`, its layers named under `prefix`, on the value at hand (of
    /// `image`); the network is `network` in errors.
    fn forward(
        &mut self,
        f: &Forward,
        prefix: &str,
        network: &str,
        image: &mut Option<[usize; 3]>,
    ) -> Result<(), QuantizeError> {
        let unsupported = |why: String| QuantizeError::Unsupported {
            layer: if network.is_empty() {
                "forward".into()
            } else {
                network.into()
            },
            kind: "fn forward".into(),
            why,
        };
        let n = f.values;
        let mut v = Values {
            root: (0..n).collect(),
            slot: vec![None; n],
            last_use: vec![None; n],
            image: vec![None; n],
            at_hand: None,
        };
        for (i, node) in f.nodes.iter().enumerate() {
            let reads: &[usize] = match &node.op {
                ForwardOp::Call { arg, .. } => core::slice::from_ref(arg),
                ForwardOp::Add(a, b) => &[*a, *b],
                ForwardOp::View(a) => {
                    v.root[node.out] = v.root[*a];
                    &[]
                }
                _ => &[],
            };
            for &r in reads {
                v.last_use[v.root[r]] = Some(i);
            }
        }
        let [output] = f.outputs else {
            return Err(unsupported(format!(
                "it returns {} values; an int8 network returns one",
                f.outputs.len()
            )));
        };
        let end = f.nodes.len();
        v.last_use[v.root[*output]] = Some(end);
        let (mut inputs, mut adds) = (0, 0);
        for (i, node) in f.nodes.iter().enumerate() {
            let out = node.out;
            match &node.op {
                ForwardOp::Input => {
                    inputs += 1;
                    if inputs > 1 {
                        return Err(unsupported(
                            "it takes several inputs; an int8 network takes one".into(),
                        ));
                    }
                    v.image[out] = *image;
                    v.at_hand = Some(out);
                }
                ForwardOp::View(_) => v.image[out] = None,
                ForwardOp::Call { layer, arg } => {
                    let x = v.root[*arg];
                    self.bring(&mut v, x, i, false)?;
                    let mut image = v.image[*arg];
                    self.layer(layer, prefix, &mut image)?;
                    v.image[out] = image;
                    v.at_hand = Some(out);
                }
                ForwardOp::Add(a, b) => {
                    let (a, b) = (v.root[*a], v.root[*b]);
                    let (here, other) = if v.at_hand == Some(b) { (b, a) } else { (a, b) };
                    self.bring(&mut v, here, i, here == other)?;
                    let Some(slot) = v.slot[other] else {
                        return Err(unsupported("a value added is not kept".into()));
                    };
                    let name = match adds {
                        0 => "add".to_string(),
                        k => format!("add_{k}"),
                    };
                    adds += 1;
                    self.steps.push(Step::Add(AddStep {
                        name: format!("{prefix}{name}"),
                        slot,
                        activation: Activation::None,
                    }));
                    v.image[out] = v.image[here];
                    v.at_hand = Some(out);
                }
                ForwardOp::Sub(..) | ForwardOp::Mul(..) | ForwardOp::Other => {
                    return Err(unsupported(
                        "it has an operation with no int8 form: an int8 forward calls \
                         layers, `relu`, `flatten` and adds two values with `+`"
                            .into(),
                    ))
                }
            }
        }
        let x = v.root[*output];
        self.bring(&mut v, x, end, false)?;
        *image = v.image[*output];
        Ok(())
    }

    /// Makes value `x` the one at hand for operation `i`: the one at hand kept first if it is
    /// read at `i` or later, `x` loaded from its slot; then `x` kept if it is read after `i`
    /// (or `keep`, a value added to itself).
    fn bring(
        &mut self,
        v: &mut Values,
        x: usize,
        i: usize,
        keep: bool,
    ) -> Result<(), QuantizeError> {
        if v.at_hand != Some(x) {
            if let Some(h) = v.at_hand {
                if v.slot[h].is_none() && v.last_use[h] >= Some(i) {
                    v.slot[h] = Some(self.save());
                }
            }
            let Some(k) = v.slot[x] else {
                return Err(QuantizeError::Unsupported {
                    layer: "forward".into(),
                    kind: "fn forward".into(),
                    why: "a value is read after it was replaced".into(),
                });
            };
            self.steps.push(Step::Load(k));
            v.at_hand = Some(x);
        }
        if v.slot[x].is_none() && (keep || v.last_use[x] > Some(i)) {
            v.slot[x] = Some(self.save());
        }
        Ok(())
    }
}
