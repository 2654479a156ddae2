//! A call of one of the network's layers, validated as a chain of that one layer would be,
//! and the layer behind each `randn_like`.
use proc_macro2::Span;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Expr;

use super::{add, shape_text, Body, Operand, Val};
use crate::ast::LayerDecl;
use crate::graph::{Field, Needs, Node, Op};
use crate::size::{pretty, Size};
use crate::valid::{block, step_layer, Kind, ListedLayer, Produced, Resolved, Upstream, Walk};

impl<'a> Body<'a> {
    /// `self.name(arg)`: the field, validated as the one layer of a chain from `arg`.
    pub(super) fn call_field(&mut self, m: &syn::ExprMethodCall) -> Option<Operand> {
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
        self.called[index] = true;
        let (arg, state) = match m.args.iter().collect::<Vec<_>>()[..] {
            [a] => (a, None),
            [a, s] => (a, Some(s)),
            _ => {
                self.error(
                    m,
                    "a layer takes one value, `self.fc1(x)`, and a recurrent layer its initial \
                     state after it, `self.gru(x, h0)`",
                );
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
                    .replace("` before it produces ", "` given to it has ")
                    .replace("put `Flatten` before it", "flatten it first, `flatten(..)`");
                self.error(&call, msg);
            }
            return None;
        }
        // The sizes left to the compiler are compared at the call too.
        let (first, last) = {
            let mut tokens = call.clone().into_iter();
            let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
            (first, tokens.last().map_or(first, |t| t.span()))
        };
        self.cx.checks.extend(sub.checks.into_iter().map(|mut c| {
            c.span = (first, last);
            c
        }));
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
            Kind::Activation(crate::valid::Keeps { width: None, .. })
        );
        let needs = if stateful {
            Needs::Always
        } else {
            self.vals[a].needs
        };
        let mut produced = up.produced.clone()?;
        produced.source = format!("self.{name}");
        // An initial state goes in beside the sequence, to the layer seen as `FromState`.
        let (arg, layer) = match state {
            None => (a, layer),
            Some(s) => {
                let joined = self.initial_state(&resolved, a, s, &name)?;
                (
                    joined,
                    quote_spanned!(decl.ty.span()=> ::nn::FromState<#layer>),
                )
            }
        };
        let out = self.vals.len();
        self.vals.push(Val {
            up: Upstream {
                produced: Some(produced),
                shown: format!("self.{name}(..)"),
                hidden: up.hidden,
                steps: up.steps,
            },
            needs,
            storage: out,
        });
        let field = Field {
            access: resolved.field.clone(),
            index,
            name: resolved.name.clone(),
            from_state: state.is_some(),
        };
        if self.resolved[index].is_none() {
            self.resolved[index] = Some(resolved);
        }
        self.nodes.push(Node {
            op: Op::Call {
                field: Some(field),
                ty: layer,
                arg,
            },
            out,
            span: m.span(),
        });
        Some(Operand::Value(out))
    }

    /// The initial state of `self.name(x, h0)` (`(h0, c0)` for an LSTM), checked against
    /// the layer's `num_layers · H` and joined after the sequence `x`, row by row: the value
    /// the layer reads as `nn::FromState`.
    fn initial_state(
        &mut self,
        resolved: &Resolved,
        x: usize,
        s: &Expr,
        name: &str,
    ) -> Option<usize> {
        let seq = match &resolved.kind {
            Kind::Sequence(seq) => seq.state_width().map(|w| (seq.alias, seq.shown.clone(), w)),
            _ => None,
        };
        let Some((alias, shown, (width, how))) = seq else {
            self.error(
                s,
                format!(
                    "only a `GRU` or an `LSTM` takes a second value, its initial state; call \
                     `self.{name}(x)`"
                ),
            );
            return None;
        };
        let parts: Vec<&Expr> = match (alias, s) {
            ("LSTM", Expr::Tuple(t)) if t.elems.len() == 2 => t.elems.iter().collect(),
            ("LSTM", _) => {
                self.error(
                    s,
                    format!("an `LSTM`'s initial state is a pair, as PyTorch's; write `self.{name}(x, (h0, c0))`"),
                );
                return None;
            }
            (_, Expr::Tuple(_)) => {
                self.error(
                    s,
                    format!(
                        "a `GRU`'s initial state is one value, as PyTorch's; write `self.{name}(x, h0)`"
                    ),
                );
                return None;
            }
            _ => vec![s],
        };
        let mut vals = vec![x];
        let mut size = self.vals[x].up.produced.clone()?.size;
        for p in parts {
            let Operand::Value(v) = self.expr(p)? else {
                self.error(p, "an initial state is a value of the forward");
                return None;
            };
            let produced = self.vals[v].up.produced.clone()?;
            let given = pretty(&p.to_token_stream());
            if produced.image.is_some() {
                self.error(
                    p,
                    format!("the initial state of `{shown}` is features, but `{given}` is an image; flatten it first, `flatten({given})`"),
                );
                return None;
            }
            match (&produced.size, &width) {
                (Size::Lit(have), Size::Lit(want)) if have != want => {
                    self.error(
                        p,
                        format!(
                            "the initial state of `{shown}` is {want} features per sample ({how}), \
                             but `{given}` has {have}; give it {want}"
                        ),
                    );
                    return None;
                }
                (Size::Lit(_), Size::Lit(_)) => {}
                (have, want) => {
                    let (have, want) = (have.expr(), want.expr());
                    let msg = format!(
                        "the initial state `{given}` of `{shown}` is not {how} features per sample"
                    );
                    let span = p.span();
                    self.cx.asserts.push(quote_spanned!(span=> const _: () = ::core::assert!(#have == #want, "{}", #msg);));
                }
            }
            size = add(&size, &produced.size);
            vals.push(v);
        }
        let needs = vals
            .iter()
            .map(|v| self.vals[*v].needs)
            .max()
            .unwrap_or(Needs::Never);
        let shown = pretty(&s.to_token_stream());
        let joined = self.value(
            shown.clone(),
            Produced {
                size,
                source: shown,
                image: None,
                detail: None,
            },
            needs,
            None,
        );
        self.nodes.push(Node {
            op: Op::Cat(vals),
            out: joined,
            span: s.span(),
        });
        Some(joined)
    }

    /// `randn_like(a)`: a layer of its own, after the fields.
    pub(super) fn noise(&mut self, a: usize, shown: String, span: Span) -> usize {
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
            template: None,
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
            given: None,
        });
        let mut p = p;
        p.source = shown.clone();
        let out = self.value(shown, p, Needs::Never, None);
        let field = Field {
            access: quote!(#ident),
            index,
            name: String::new(),
            from_state: false,
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
}
