//! The step for a network whose forward is written as code: every value's shape computed
//! from the inputs, every call of a layer validated as a chain of that one layer would be
//! (by the same steps), and every operation between values checked at the expression that
//! makes it. The objective written from the outputs is in `objective`.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Pat, Stmt, UnOp};

use super::{
    block, objective, step_layer, Kind, ListedLayer, Net, Produced, Resolved, Upstream, Walk,
};
use crate::ast::{Declared, Forward, Input, LayerDecl};
use crate::graph::{Field, Graph, Needs, Node, Op, Port, Value};
use crate::size::{mul, pretty, Shape, Size};

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
    /// Each field's type and the shape it was given at its first call.
    first_given: Vec<Option<(String, String)>>,
    /// The network's name, which names the networks of its inline blocks.
    owner: String,
}

/// The functions that are layers without state: name, the layer in `nn`, and whether it
/// works on a row as a whole (and so takes flat features only).
const FUNCTIONS: [(&str, &str, bool); 9] = [
    ("relu", "ReLU", false),
    ("sigmoid", "Sigmoid", false),
    ("tanh", "Tanh", false),
    ("exp", "Exp", false),
    ("log", "Log", false),
    ("gelu", "GELU", false),
    ("silu", "SiLU", false),
    ("softmax", "Softmax", true),
    ("log_softmax", "LogSoftmax", true),
];

const OPERATIONS: &str = "a forward calls its layers (`self.fc1(x)`), the functions `relu`, \
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
        owner: input.ident.to_string(),
    };
    let errors = &mut body.cx.errors;
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "a network whose forward is written as code takes no generic sizes yet; write its sizes \
             out (a `const` item works)",
        ));
    }
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
    for (decl, r) in input.layers.iter().zip(&body.resolved) {
        if let (None, Some(name)) = (r, &decl.name) {
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
                if let Some(n) = name_of(&local.pat) {
                    self.env.remove(&n);
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
                self.error(
                    p,
                    format!(
                        "`chunk` makes {} values: `let (a, b) = chunk(h, 2);`",
                        vs.len()
                    ),
                );
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

    /// An expression's operand; `None` after a mistake (reported).
    fn expr(&mut self, e: &Expr) -> Option<Operand> {
        match e {
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Lit(l) => match &l.lit {
                syn::Lit::Float(f) => {
                    let v: f64 = f.base10_parse().ok()?;
                    let v = v as f32;
                    Some(Operand::Number(quote!(#v)))
                }
                syn::Lit::Int(i) => {
                    let v: f64 = i.base10_parse().ok()?;
                    let v = v as f32;
                    Some(Operand::Number(quote!(#v)))
                }
                _ => {
                    self.error(l, "expected a number or a value");
                    None
                }
            },
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let name = p
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                match self.env.get(&name) {
                    Some(&usize::MAX) => None,
                    Some(&v) => Some(Operand::Value(v)),
                    None if name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()) =>
                    {
                        // A constant of the user's.
                        Some(Operand::Number(quote_spanned!(p.span()=> (#p as f32))))
                    }
                    None => {
                        let mut known: Vec<&String> =
                            self.env.keys().filter(|k| *k != "_").collect();
                        known.sort();
                        let known: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                        self.error(
                            p,
                            format!(
                                "`{name}` is not a value of this forward; its values so far are {}",
                                known.join(", ")
                            ),
                        );
                        None
                    }
                }
            }
            Expr::MethodCall(m) if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self")) => {
                self.call_field(m)
            }
            Expr::Call(c) => self.call_function(c),
            Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => match self.expr(&u.expr)? {
                Operand::Number(n) => Some(Operand::Number(quote!((-#n)))),
                Operand::Value(a) => {
                    let shown = pretty(&e.to_token_stream());
                    Some(Operand::Value(self.affine(
                        a,
                        quote!(-1.0f32),
                        quote!(0.0f32),
                        shown,
                        e.span(),
                    )))
                }
                Operand::Values(_) => self.not_values(&u.expr),
            },
            Expr::Binary(b) => self.binary(e, b),
            other => {
                self.error(
                    other,
                    format!("not an operation of a forward; {OPERATIONS}"),
                );
                None
            }
        }
    }

    fn not_values(&mut self, e: &Expr) -> Option<Operand> {
        self.error(
            e,
            "`chunk` makes several values: name them, `let (a, b) = chunk(h, 2);`",
        );
        None
    }

    fn affine(
        &mut self,
        a: usize,
        k: TokenStream,
        c: TokenStream,
        shown: String,
        span: Span,
    ) -> usize {
        let mut p = self.vals[a]
            .up
            .produced
            .clone()
            .expect("a valid value has a shape");
        p.source = shown.clone();
        p.detail = None;
        let needs = self.vals[a].needs;
        let out = self.value(shown, p, needs, None);
        self.nodes.push(Node {
            op: Op::Affine { a, k, c },
            out,
            span,
        });
        out
    }

    /// `a + b`, `a - b`, `a * b`, and the same with numbers.
    fn binary(&mut self, e: &Expr, b: &syn::ExprBinary) -> Option<Operand> {
        let (l, r) = (self.expr(&b.left), self.expr(&b.right));
        let (l, r) = (l?, r?);
        let shown = pretty(&e.to_token_stream());
        let one = quote!(1.0f32);
        let zero = quote!(0.0f32);
        let span = e.span();
        use Operand::{Number as N, Value as V};
        let out = match (&b.op, l, r) {
            (_, Operand::Values(_), _) => return self.not_values(&b.left),
            (_, _, Operand::Values(_)) => return self.not_values(&b.right),
            (BinOp::Add(_), N(x), N(y)) => return Some(N(quote!((#x + #y)))),
            (BinOp::Sub(_), N(x), N(y)) => return Some(N(quote!((#x - #y)))),
            (BinOp::Mul(_), N(x), N(y)) => return Some(N(quote!((#x * #y)))),
            (BinOp::Div(_), N(x), N(y)) => return Some(N(quote!((#x / #y)))),
            (BinOp::Mul(_), V(a), N(k)) | (BinOp::Mul(_), N(k), V(a)) => {
                self.affine(a, k, zero, shown, span)
            }
            (BinOp::Div(_), V(a), N(k)) => self.affine(a, quote!((1.0f32 / #k)), zero, shown, span),
            (BinOp::Add(_), V(a), N(c)) | (BinOp::Add(_), N(c), V(a)) => {
                self.affine(a, one, c, shown, span)
            }
            (BinOp::Sub(_), V(a), N(c)) => self.affine(a, one, quote!((-#c)), shown, span),
            (BinOp::Sub(_), N(c), V(a)) => self.affine(a, quote!(-1.0f32), c, shown, span),
            (op @ (BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_)), V(a), V(c)) => {
                if !self.same_shape(e, a, c) {
                    return None;
                }
                let op = match op {
                    BinOp::Add(_) => Op::Add(a, c),
                    BinOp::Sub(_) => Op::Sub(a, c),
                    _ => Op::Mul(a, c),
                };
                let mut p = self.vals[a].up.produced.clone().expect("checked");
                p.source = shown.clone();
                p.detail = None;
                let needs = self.vals[a].needs.max(self.vals[c].needs);
                let out = self.value(shown, p, needs, None);
                self.nodes.push(Node { op, out, span });
                out
            }
            (BinOp::Div(_), V(_), V(_)) | (BinOp::Div(_), N(_), V(_)) => {
                self.error(e, "a value divides by a number only here (`h / 2.0`); multiply by a value instead");
                return None;
            }
            (op, ..) => {
                self.error(op, format!("not an operation of a forward; {OPERATIONS}"));
                return None;
            }
        };
        Some(V(out))
    }

    /// Whether values `a` and `b` have one shape, else the error at `e`, in the user's terms.
    fn same_shape(&mut self, e: &Expr, a: usize, b: usize) -> bool {
        let shape = |v: &Val| v.up.produced.clone().expect("a valid value has a shape");
        let (pa, pb) = (shape(&self.vals[a]), shape(&self.vals[b]));
        let (na, nb) = (self.vals[a].up.shown.clone(), self.vals[b].up.shown.clone());
        let says = |p: &Produced| match &p.image {
            Some(s) => format!("an image of {}", s.show()),
            None => format!("{} features", p.size.show()),
        };
        let pairs: Vec<(Size, Size)> = match (&pa.image, &pb.image) {
            (Some(x), Some(y)) => vec![
                (x.c.clone(), y.c.clone()),
                (x.h.clone(), y.h.clone()),
                (x.w.clone(), y.w.clone()),
            ],
            (None, None) => vec![(pa.size.clone(), pb.size.clone())],
            _ => {
                self.error(
                    e,
                    format!(
                        "`{na}` is {} but `{nb}` is {}; flatten the image first (`flatten(..)`)",
                        says(&pa),
                        says(&pb)
                    ),
                );
                return false;
            }
        };
        let msg = format!(
            "`{}` needs values of one shape, but `{na}` is {} and `{nb}` is {}",
            pretty(&e.to_token_stream()),
            says(&pa),
            says(&pb)
        );
        for (x, y) in pairs {
            match (&x, &y) {
                (Size::Lit(p), Size::Lit(q)) if p != q => {
                    self.error(e, msg);
                    return false;
                }
                (Size::Lit(_), Size::Lit(_)) => {}
                _ => {
                    let (x, y) = (x.expr(), y.expr());
                    let span = e.span();
                    self.cx.asserts.push(
                        quote_spanned!(span=> const _: () = ::core::assert!(#x == #y, #msg);),
                    );
                }
            }
        }
        true
    }

    /// `self.name(arg)`: the field, validated as the one layer of a chain from `arg`.
    fn call_field(&mut self, m: &syn::ExprMethodCall) -> Option<Operand> {
        let name = m.method.to_string();
        let Some(index) = self
            .fields
            .iter()
            .position(|d| d.name.as_ref().is_some_and(|n| *n == name))
        else {
            let names: Vec<String> = self
                .fields
                .iter()
                .filter_map(|d| d.name.as_ref())
                .map(|n| format!("`{n}`"))
                .collect();
            self.error(
                &m.method,
                format!(
                    "the network has no layer `{name}`; its layers are {}",
                    names.join(", ")
                ),
            );
            return None;
        };
        let arg = match m.args.iter().collect::<Vec<_>>()[..] {
            [a] => a,
            _ => {
                self.error(m, "a layer takes one value: `self.fc1(x)`");
                return None;
            }
        };
        let Operand::Value(a) = self.expr(arg)? else {
            self.error(arg, "a layer takes a value of the forward");
            return None;
        };
        let decl = &self.fields[index];
        let entry = ListedLayer {
            decl,
            index,
            named_list: true,
        };
        let mut up = self.vals[a].up.clone();
        if !matches!(arg, Expr::Path(_)) {
            up.shown = pretty(&arg.to_token_stream());
        }
        let mut sub = Walk::default();
        let hidden = up.hidden.take();
        let resolved = match &decl.inline {
            Some(inline) => {
                block::step_block(&mut sub, &self.owner.clone(), &entry, inline, &mut up)
            }
            None => step_layer(&mut sub, &entry, &mut up, hidden),
        };
        // The layer's errors, at the call that gives it the wrong value.
        let call = quote!(#m);
        if let Err(errs) = std::mem::take(&mut sub.errors).finish() {
            for err in errs {
                let msg = err
                    .to_string()
                    .replace("` before it produces ", "` given to it has ");
                self.error(&call, msg);
            }
            return None;
        }
        self.cx.checks.extend(sub.checks);
        self.cx.asserts.extend(sub.asserts);
        let resolved = resolved?;
        let layer = {
            let ty = &resolved.field_ty;
            quote_spanned!(decl.ty.span()=> #ty)
        };
        let given = shape_text(&self.vals[a].up);
        match &self.first_given[index] {
            Some((ty, first)) if *ty != resolved.field_ty.to_string() => {
                self.error(
                    &call,
                    format!(
                        "`self.{name}` is given {given} here, but {first} at its first call; a layer's \
                         sizes are fixed, so declare another layer for this call"
                    ),
                );
                return None;
            }
            Some(_) => {}
            None => self.first_given[index] = Some((resolved.field_ty.to_string(), given)),
        }
        let stateful = !matches!(
            resolved.kind,
            Kind::Activation(super::Keeps { width: None, .. })
        );
        let needs = if stateful {
            Needs::Always
        } else {
            self.vals[a].needs
        };
        let mut produced = up.produced.clone()?;
        produced.source = format!("self.{name}");
        let out = self.vals.len();
        self.vals.push(Val {
            up: Upstream {
                produced: Some(produced),
                shown: format!("self.{name}(..)"),
                hidden: up.hidden,
            },
            needs,
            storage: out,
        });
        let field = Field {
            access: resolved.field.clone(),
            index,
            name: resolved.name.clone(),
        };
        if self.resolved[index].is_none() {
            self.resolved[index] = Some(resolved);
        }
        self.nodes.push(Node {
            op: Op::Call {
                field: Some(field),
                ty: layer,
                arg: a,
            },
            out,
            span: m.span(),
        });
        Some(Operand::Value(out))
    }

    /// `relu(h)`, `cat([a, b])`, `chunk(h, 2)`, `flatten(x)`, `randn_like(std)`.
    fn call_function(&mut self, c: &syn::ExprCall) -> Option<Operand> {
        let Expr::Path(f) = &*c.func else {
            self.error(
                &c.func,
                format!("not an operation of a forward; {OPERATIONS}"),
            );
            return None;
        };
        let name = pretty(&f.path.to_token_stream());
        let args: Vec<&Expr> = c.args.iter().collect();
        // `dim = 1`, as PyTorch writes it, is the only dimension there is.
        let (args, dims): (Vec<&Expr>, Vec<&Expr>) = args
            .into_iter()
            .partition(|a| !matches!(a, Expr::Assign(_)));
        for d in dims {
            let ok =
                matches!(d, Expr::Assign(a) if quote!(#a).to_string().replace(' ', "") == "dim=1");
            if !ok {
                self.error(
                    d,
                    "the only dimension is 1, features or channels: `dim = 1` (or nothing)",
                );
                return None;
            }
        }
        let span = c.span();
        let shown = pretty(&c.to_token_stream());
        match (name.as_str(), &args[..]) {
            ("cat", [Expr::Array(parts)]) => {
                let mut vals = Vec::new();
                for p in &parts.elems {
                    match self.expr(p)? {
                        Operand::Value(v) => vals.push(v),
                        _ => {
                            self.error(p, "`cat` joins values of the forward");
                            return None;
                        }
                    }
                }
                self.cat(c, vals, shown)
            }
            ("cat", _) => {
                self.error(
                    c,
                    "`cat` takes a list of values: `cat([u, e])`, joined on features or channels",
                );
                None
            }
            ("chunk", [a, n]) => {
                let Operand::Value(a) = self.expr(a)? else {
                    self.error(a, "`chunk` splits a value of the forward");
                    return None;
                };
                let n = match n {
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(i),
                        ..
                    }) => i.base10_parse::<u64>().ok().filter(|n| *n > 0),
                    _ => None,
                };
                let Some(n) = n else {
                    self.error(
                        c,
                        "`chunk(h, N)` splits into N parts, N a whole number: `chunk(h, 2)`",
                    );
                    return None;
                };
                self.chunk(c, a, n, shown)
            }
            ("flatten", [a]) => {
                let Operand::Value(a) = self.expr(a)? else {
                    self.error(a, "`flatten` takes a value of the forward");
                    return None;
                };
                let p = self.vals[a].up.produced.clone()?;
                let Some(image) = &p.image else {
                    return Some(Operand::Value(a)); // flat already, as in PyTorch
                };
                let produced = Produced {
                    size: p.size.clone(),
                    source: shown.clone(),
                    image: None,
                    detail: Some(image.product()),
                };
                let (needs, storage) = (self.vals[a].needs, self.vals[a].storage);
                let out = self.value(shown, produced, needs, Some(storage));
                self.nodes.push(Node {
                    op: Op::Alias,
                    out,
                    span,
                });
                Some(Operand::Value(out))
            }
            ("randn_like", [a]) => {
                let Operand::Value(a) = self.expr(a)? else {
                    self.error(a, "`randn_like` takes a value of the forward");
                    return None;
                };
                Some(Operand::Value(self.noise(a, shown, span)))
            }
            (f, [a]) if FUNCTIONS.iter().any(|(n, ..)| *n == f) => {
                let (_, alias, rows) = FUNCTIONS.iter().find(|(n, ..)| *n == f).expect("found");
                let Operand::Value(a) = self.expr(a)? else {
                    self.error(
                        c,
                        format!(
                            "`{f}` takes a value of the forward (numbers are not computed here)"
                        ),
                    );
                    return None;
                };
                let mut p = self.vals[a].up.produced.clone()?;
                if *rows && p.image.is_some() {
                    self.error(
                        c,
                        format!("`{f}` works over each row's features; flatten the image first"),
                    );
                    return None;
                }
                let alias = syn::Ident::new(alias, Span::call_site());
                let w = p.size.expr();
                let layer = quote_spanned!(span=> ::nn::#alias<#w>);
                p.source = shown.clone();
                p.detail = None;
                let needs = self.vals[a].needs;
                let out = self.value(shown, p, needs, None);
                self.nodes.push(Node {
                    op: Op::Call {
                        field: None,
                        ty: layer,
                        arg: a,
                    },
                    out,
                    span,
                });
                Some(Operand::Value(out))
            }
            _ => {
                self.error(c, format!("not an operation of a forward; {OPERATIONS}"));
                None
            }
        }
    }

    /// `randn_like(a)`: a layer of its own, after the fields.
    fn noise(&mut self, a: usize, shown: String, span: Span) -> usize {
        let i = self.noise.len();
        let ident = syn::Ident::new(&format!("__randn{i}"), Span::call_site());
        let p = self.vals[a]
            .up
            .produced
            .clone()
            .expect("a valid value has a shape");
        let w = p.size.expr();
        let field_ty = quote!(::nn::RandnLike<#w>);
        // The declaration behind the field, which the struct and its impls read: one per
        // call, made here and alive as long as the expansion.
        let decl: &'a LayerDecl = Box::leak(Box::new(LayerDecl {
            attrs: vec![syn::parse_quote!(#[doc = "The noise of a `randn_like` in the forward."])],
            name: Some(ident.clone()),
            ty: syn::parse_quote!(RandnLike),
            inline: None,
            pytorch: None,
        }));
        let index = self.fields.len() + i;
        self.noise.push(Resolved {
            decl,
            kind: Kind::User,
            field_ty: field_ty.clone(),
            field: quote!(#ident),
            name: String::new(),
            image: None,
            inline_net: None,
            out: Some(p.size.clone()),
            width: None,
        });
        let mut p = p;
        p.source = shown.clone();
        let out = self.value(shown, p, Needs::Never, None);
        let field = Field {
            access: quote!(#ident),
            index,
            name: String::new(),
        };
        self.nodes.push(Node {
            op: Op::Call {
                field: Some(field),
                ty: field_ty,
                arg: a,
            },
            out,
            span,
        });
        out
    }

    /// `cat([a, b, ..])`: features side by side, or images' channels.
    fn cat(&mut self, c: &syn::ExprCall, vals: Vec<usize>, shown: String) -> Option<Operand> {
        if vals.is_empty() {
            self.error(c, "`cat` joins at least one value");
            return None;
        }
        let ps: Vec<Produced> = vals
            .iter()
            .map(|v| self.vals[*v].up.produced.clone())
            .collect::<Option<_>>()?;
        let names: Vec<String> = vals
            .iter()
            .map(|v| self.vals[*v].up.shown.clone())
            .collect();
        let images: Vec<Option<&Shape>> = ps.iter().map(|p| p.image.as_ref()).collect();
        let produced = if images.iter().all(|i| i.is_some()) {
            let first = images[0].expect("all images");
            let mut channels = first.c.clone();
            for (k, img) in images.iter().enumerate().skip(1) {
                let img = img.expect("all images");
                for (side, x, y) in [("height", &first.h, &img.h), ("width", &first.w, &img.w)] {
                    match (x, y) {
                        (Size::Lit(p), Size::Lit(q)) if p != q => {
                            self.error(
                                c,
                                format!(
                                    "`cat` joins images on channels, so their sides must match, but `{}` is an image of {} and `{}` one of {} (the {side} differs); resize one (`MaxPool2d`, `Upsample`) first",
                                    names[0], first.show(), names[k], img.show()
                                ),
                            );
                            return None;
                        }
                        (Size::Lit(_), Size::Lit(_)) => {}
                        _ => {
                            let (x, y) = (x.expr(), y.expr());
                            let msg = format!("`cat` joins images of one height and width, but `{}` and `{}` differ", names[0], names[k]);
                            let span = c.span();
                            self.cx.asserts.push(quote_spanned!(span=> const _: () = ::core::assert!(#x == #y, #msg);));
                        }
                    }
                }
                channels = add(&channels, &img.c);
            }
            let shape = Shape {
                c: channels,
                h: first.h.clone(),
                w: first.w.clone(),
            };
            Produced {
                size: shape.size(),
                source: shown.clone(),
                image: Some(shape),
                detail: None,
            }
        } else if images.iter().all(|i| i.is_none()) {
            let size = ps
                .iter()
                .skip(1)
                .fold(ps[0].size.clone(), |s, p| add(&s, &p.size));
            Produced {
                size,
                source: shown.clone(),
                image: None,
                detail: None,
            }
        } else {
            self.error(c, "`cat` joins images with images (on channels) or features with features; flatten the images first");
            return None;
        };
        let needs = vals
            .iter()
            .map(|v| self.vals[*v].needs)
            .max()
            .unwrap_or(Needs::Never);
        let out = self.value(shown, produced, needs, None);
        self.nodes.push(Node {
            op: Op::Cat(vals),
            out,
            span: c.span(),
        });
        Some(Operand::Value(out))
    }

    /// `chunk(a, n)`: `n` equal parts of the features, or of an image's channels.
    fn chunk(&mut self, c: &syn::ExprCall, a: usize, n: u64, shown: String) -> Option<Operand> {
        let p = self.vals[a].up.produced.clone()?;
        let name = self.vals[a].up.shown.clone();
        let (split, what) = match &p.image {
            Some(s) => (&s.c, "channels"),
            None => (&p.size, "features"),
        };
        let part = match split {
            Size::Lit(k) if k % n != 0 => {
                self.error(c, format!("`chunk` splits `{name}`'s {k} {what} into {n} equal parts, which {k} does not allow; PyTorch's last part would be smaller"));
                return None;
            }
            Size::Lit(k) => Size::Lit(k / n),
            other => {
                let e = other.expr();
                let msg = format!("`chunk` splits `{name}`'s {what} into {n} equal parts, which their number does not allow");
                let span = c.span();
                self.cx.asserts.push(quote_spanned!(span=> const _: () = ::core::assert!((#e) % (#n as usize) == 0, #msg);));
                Size::Expr(quote!((#e) / (#n as usize)))
            }
        };
        let needs = self.vals[a].needs;
        let mut outs = Vec::new();
        for i in 0..n {
            let (image, size) = match &p.image {
                Some(s) => {
                    let shape = Shape {
                        c: part.clone(),
                        h: s.h.clone(),
                        w: s.w.clone(),
                    };
                    (Some(shape.clone()), shape.size())
                }
                None => (None, part.clone()),
            };
            let offset = mul(&size, &Size::Lit(i)).expr();
            let produced = Produced {
                size,
                source: format!("{shown}[{i}]"),
                image,
                detail: None,
            };
            let out = self.value(format!("{shown}[{i}]"), produced, needs, None);
            self.nodes.push(Node {
                op: Op::Chunk { a, offset },
                out,
                span: c.span(),
            });
            outs.push(out);
        }
        Some(Operand::Values(outs))
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
