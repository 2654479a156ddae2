//! The step for a network whose forward is written as code: every value's shape computed
//! from the inputs, every call of a layer validated as a chain of that one layer would be
//! (by the same steps), and every operation between values checked at the expression that
//! makes it. The objective written from the outputs is in `objective`.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Expr, Pat, Stmt};

mod call;
mod expr;
mod ops;

use super::{objective, Net, Produced, Resolved, Upstream, Walk};
use crate::ast::{Declared, Forward, Input, LayerDecl};
use crate::graph::{Graph, Needs, Node, Op, Port, Value};
use crate::size::Size;

/// A value while validation walks the body: its shape as a chain step sees it.
#[derive(Clone)]
pub(super) struct Val {
    pub(super) up: Upstream,
    pub(super) needs: Needs,
    pub(super) storage: usize,
}

/// What an expression is: a value, a number, or the values of a `chunk`.
enum Operand {
    Value(usize),
    Number(TokenStream),
    Values(Vec<usize>),
}

/// Where validation stands in a forward.
struct Body<'a> {
    cx: Walk,
    fields: &'a [LayerDecl],
    /// Each field's layer as its first call resolved it.
    resolved: Vec<Option<Resolved<'a>>>,
    vals: Vec<Val>,
    nodes: Vec<Node>,
    env: HashMap<String, usize>,
    /// The layers `randn_like` makes, after the fields.
    noise: Vec<Resolved<'a>>,
    /// Whether each field is called, rightly or not.
    called: Vec<bool>,
    /// Each field's type and the shape it was given at its first call.
    first_given: Vec<Option<(String, String)>>,
    /// The network's name, which names the networks of its inline blocks.
    owner: String,
}

/// The functions that are layers without state: name, the layer in `nn`, and whether it
/// works on a row as a whole (and so takes flat features only).
const FUNCTIONS: [(&str, &str, bool); 12] = [
    ("relu", "ReLU", false),
    ("relu6", "ReLU6", false),
    ("hardsigmoid", "Hardsigmoid", false),
    ("hardswish", "Hardswish", false),
    ("sigmoid", "Sigmoid", false),
    ("tanh", "Tanh", false),
    ("exp", "Exp", false),
    ("log", "Log", false),
    ("gelu", "GELU", false),
    ("silu", "SiLU", false),
    ("softmax", "Softmax", true),
    ("log_softmax", "LogSoftmax", true),
];

const OPERATIONS: &str = "a forward calls its layers (`self.fc1(x)`), the functions `relu`, `relu6`, `hardswish`, `hardsigmoid`, \
    `sigmoid`, `tanh`, `exp`, `log`, `gelu`, `silu`, `softmax`, `log_softmax`, `cat([a, b])`, \
    `chunk(h, 2)`, `flatten(x)` and `randn_like(x)`, and `+`, `-`, `*` between values and \
    numbers (`/` by a number)";

/// Validates a network whose forward is code.
pub fn check<'a>(input: &'a Input, fwd: &'a Forward) -> syn::Result<Net<'a>> {
    let mut body = Body {
        cx: Walk::default(),
        fields: &input.layers,
        resolved: input.layers.iter().map(|_| None).collect(),
        vals: Vec::new(),
        nodes: Vec::new(),
        env: HashMap::new(),
        noise: Vec::new(),
        first_given: input.layers.iter().map(|_| None).collect(),
        called: vec![false; input.layers.len()],
        owner: input.ident.to_string(),
    };
    let errors = &mut body.cx.errors;
    if input.input.is_some() {
        errors.push(syn::Error::new(
            fwd.sig,
            "a forward written as code declares its inputs' shapes as its parameters \
             (`fn forward(x: Image<1, 28, 28>)`), not with `#[input(..)]`",
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for decl in &input.layers {
        match &decl.name {
            None => errors.push(syn::Error::new_spanned(
                &decl.ty,
                "a layer of a network whose forward is code needs a name, by which the forward \
                 calls it: `fc1: Linear<784, 400>`, called as `self.fc1(x)`",
            )),
            Some(n) if seen.contains(&n.to_string()) => errors.push(syn::Error::new_spanned(
                n,
                format!("duplicate layer name `{n}`; each layer needs its own name"),
            )),
            Some(n) => seen.push(n.to_string()),
        }
    }
    let mut inputs = Vec::new();
    for p in &fwd.inputs {
        let (size, image) = match &p.declared {
            Declared::Features(n) => (n.clone(), None),
            Declared::Image(s) => (s.size(), Some(s.clone())),
            Declared::Labels => unreachable!("an input is never labels"),
        };
        let name = p.name.to_string();
        let id = body.value(
            name.clone(),
            Produced {
                size,
                source: name.clone(),
                image,
                detail: None,
            },
            Needs::Input,
            None,
        );
        body.nodes.push(Node {
            op: Op::Input,
            out: id,
            span: p.name.span(),
        });
        body.env.insert(name.clone(), id);
        inputs.push(Port { name, value: id });
    }
    if fwd.inputs.is_empty() {
        body.cx.errors.push(syn::Error::new(
            fwd.sig,
            "a forward takes at least one input: `fn forward(x: Features<784>)`",
        ));
    }
    let outputs = body.statements(fwd);
    for (decl, called) in input.layers.iter().zip(&body.called) {
        if let (false, Some(name)) = (called, &decl.name) {
            body.cx.errors.push(syn::Error::new_spanned(
                name,
                format!("`{name}` is never called in `forward`; call it as `self.{name}(..)`, or remove it"),
            ));
        }
    }
    let objective = match (&input.objective, &outputs) {
        (Some(obj), Some(outs)) => objective::check(&mut body.cx, obj, outs, &body.vals),
        _ => None,
    };
    let Body {
        cx,
        resolved,
        vals,
        nodes,
        noise,
        ..
    } = body;
    cx.errors.finish()?;
    let outputs = outputs.expect("outputs are known when there is no error");
    let image = |v: &Val| {
        let shape = v.up.produced.as_ref()?.image.as_ref()?;
        Some([shape.c.expr(), shape.h.expr(), shape.w.expr()])
    };
    let in_image = match &inputs[..] {
        [only] => image(&vals[only.value]),
        _ => None,
    };
    let out_image = match &outputs[..] {
        [only] => image(&vals[only.value]),
        _ => None,
    };
    let values = vals
        .iter()
        .map(|v| Value {
            width: v.up.produced.as_ref().map_or(quote!(0), |p| p.size.expr()),
            storage: v.storage,
            needs: v.needs,
        })
        .collect();
    let mut layers: Vec<Resolved<'a>> = resolved.into_iter().flatten().collect();
    layers.extend(noise);
    Ok(Net {
        layers,
        checks: cx.checks,
        asserts: cx.asserts,
        named: true,
        sizes: None,
        generic_asserts: cx.generic_asserts,
        graph: Some(Box::new(Graph {
            inputs,
            outputs,
            values,
            nodes,
            in_image,
            out_image,
            objective,
        })),
    })
}

impl<'a> Body<'a> {
    fn value(&mut self, shown: String, p: Produced, needs: Needs, storage: Option<usize>) -> usize {
        let id = self.vals.len();
        self.vals.push(Val {
            up: Upstream {
                produced: Some(p),
                shown,
                hidden: None,
                steps: None,
            },
            needs,
            storage: storage.unwrap_or(id),
        });
        id
    }

    fn error(&mut self, span: impl ToTokens, msg: impl std::fmt::Display) {
        self.cx.errors.push(syn::Error::new_spanned(span, msg));
    }

    /// Walks the body's statements; the outputs, unless a mistake leaves them unknown.
    fn statements(&mut self, fwd: &Forward) -> Option<Vec<Port>> {
        let stmts = &fwd.body.stmts;
        let Some((last, lets)) = stmts.split_last() else {
            self.cx.errors.push(syn::Error::new(
                fwd.sig,
                "a forward ends with what it returns: `(recon, mu, logvar)` or `self.fc2(h)`",
            ));
            return None;
        };
        let mut ok = true;
        for stmt in lets {
            ok &= self.statement(stmt);
        }
        let Stmt::Expr(ret, None) = last else {
            self.error(
                last,
                "a forward ends with what it returns, with no `;` after it",
            );
            return None;
        };
        let exprs: Vec<&Expr> = match ret {
            Expr::Tuple(t) => t.elems.iter().collect(),
            other => vec![other],
        };
        let names: Vec<String> = match &fwd.outputs {
            Some(names) => names.iter().map(|n| n.to_string()).collect(),
            None if exprs.len() == 1 => vec!["output".to_string()],
            None => {
                self.error(
                    ret,
                    "name the outputs after the arrow, `-> (recon, mu, logvar)`: the objective and \
                     the typed accessors know them by name",
                );
                return None;
            }
        };
        if names.len() != exprs.len() {
            self.error(
                ret,
                format!(
                    "the forward returns {} values, but {} names follow the arrow",
                    exprs.len(),
                    names.len()
                ),
            );
            return None;
        }
        let mut outputs: Vec<Port> = Vec::new();
        for (name, e) in names.into_iter().zip(exprs) {
            match self.expr(e) {
                Some(Operand::Value(v)) => {
                    let storage = self.vals[v].storage;
                    if matches!(
                        self.nodes.iter().find(|n| n.out == storage),
                        Some(Node { op: Op::Input, .. })
                    ) {
                        self.error(e, "an output that is an input unchanged is not supported; return what a layer makes of it");
                        return None;
                    }
                    if outputs
                        .iter()
                        .any(|o| self.vals[o.value].storage == storage)
                    {
                        self.error(e, "this value is returned twice; return it once");
                        return None;
                    }
                    outputs.push(Port { name, value: v });
                }
                Some(_) => {
                    self.error(
                        e,
                        "an output is a value of the forward, not a number or a tuple",
                    );
                    return None;
                }
                None => return None,
            }
        }
        ok.then_some(outputs)
    }

    /// `let name = expr;` or `let (a, b) = chunk(h, 2);`; whether it was valid.
    fn statement(&mut self, stmt: &Stmt) -> bool {
        let Stmt::Local(local) = stmt else {
            self.error(
                stmt,
                "a forward is `let` statements, then what it returns; for example \
                 `let h = relu(self.fc1(x));`",
            );
            return false;
        };
        let Some(init) = &local.init else {
            self.error(
                local,
                "a `let` in a forward needs a value: `let h = self.fc1(x);`",
            );
            return false;
        };
        // `let (mu, logvar) = (self.fc21(h1), self.fc22(h1));`: each value named apart.
        if let (Pat::Tuple(t), Expr::Tuple(e)) = (&local.pat, &*init.expr) {
            if t.elems.len() == e.elems.len() {
                let mut ok = true;
                for (p, e) in t.elems.iter().zip(&e.elems) {
                    let Pat::Ident(name) = p else {
                        self.error(p, "expected a name");
                        return false;
                    };
                    match self.expr(e) {
                        Some(Operand::Value(v)) => {
                            self.vals[v].up.shown = name.ident.to_string();
                            self.env.insert(name.ident.to_string(), v);
                        }
                        Some(_) => {
                            self.error(e, "a `let` in a forward names values");
                            ok = false;
                        }
                        None => {
                            self.env.insert(name.ident.to_string(), usize::MAX);
                            ok = false;
                        }
                    }
                }
                return ok;
            }
        }
        let operand = self.expr(&init.expr);
        let name_of = |p: &Pat| match p {
            Pat::Ident(i) if i.by_ref.is_none() && i.subpat.is_none() => Some(i.ident.to_string()),
            Pat::Type(t) => match &*t.pat {
                Pat::Ident(i) => Some(i.ident.to_string()),
                _ => None,
            },
            Pat::Wild(_) => Some("_".to_string()),
            _ => None,
        };
        match (&local.pat, operand) {
            (_, None) => {
                // Unknown from here: later uses of the name add no errors of their own.
                let names: Vec<String> = match &local.pat {
                    Pat::Tuple(t) => t.elems.iter().filter_map(name_of).collect(),
                    p => name_of(p).into_iter().collect(),
                };
                for n in names {
                    self.env.insert(n, usize::MAX);
                }
                false
            }
            (Pat::Tuple(t), Some(Operand::Values(vs))) if t.elems.len() == vs.len() => {
                for (p, v) in t.elems.iter().zip(vs) {
                    match name_of(p) {
                        Some(n) => {
                            self.env.insert(n, v);
                        }
                        None => {
                            self.error(p, "expected a name");
                            return false;
                        }
                    }
                }
                true
            }
            (p, Some(Operand::Values(vs))) => {
                self.error(p, {
                    let names: Vec<String> = (0..vs.len())
                        .map(|i| char::from(b'a' + (i % 26) as u8).to_string())
                        .collect();
                    format!(
                        "`chunk` makes {} values: name each, `let ({}) = chunk(..);`",
                        vs.len(),
                        names.join(", ")
                    )
                });
                // Unknown from here: later uses of the names add no errors of their own.
                if let Pat::Tuple(t) = p {
                    for n in t.elems.iter().filter_map(name_of) {
                        self.env.insert(n, usize::MAX);
                    }
                }
                false
            }
            (p, Some(operand)) => match name_of(p) {
                Some(n) => {
                    match operand {
                        Operand::Value(v) => {
                            self.vals[v].up.shown = n.clone();
                            self.env.insert(n, v);
                        }
                        _ => {
                            self.error(p, "a `let` in a forward names a value; write numbers where they are used");
                            return false;
                        }
                    }
                    true
                }
                None => {
                    self.error(
                        p,
                        "expected a name, or `(a, b)` for the values of a `chunk`",
                    );
                    false
                }
            },
        }
    }
}

/// `a + b`, folded where both are literals.
fn add(a: &Size, b: &Size) -> Size {
    match (a, b) {
        (Size::Lit(x), Size::Lit(y)) => Size::Lit(x.saturating_add(*y)),
        _ => {
            let (x, y) = (a.expr(), b.expr());
            Size::Expr(quote!((#x) + (#y)))
        }
    }
}

/// A value's shape in words: `an image of 8 × 16 × 16`, `32 features`.
fn shape_text(up: &Upstream) -> String {
    match &up.produced {
        Some(Produced { image: Some(s), .. }) => format!("an image of {}", s.show()),
        Some(p) => format!("{} features", p.size.show()),
        None => "a value".to_string(),
    }
}
