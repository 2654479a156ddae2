//! Every rule of `#[derive(Parameters)]`: a struct, generic over sizes only, whose
//! `#[param]` fields are `f32` arrays and whose `#[buffer]` fields are `f32` arrays or a
//! `u64` counter, each with a name.
//!
//! Type parameters are refused: a layer's state dict holds `f32` arrays of known shapes,
//! and its sizes are const generics (`struct Scale<const N: usize>`), as the built-in
//! layers' are.

use syn::ext::IdentExt;
use syn::{Expr, GenericParam, Member, Type};

use super::ast::{Data, Field, Input, RoleKind};
use crate::ctxt::Ctxt;
use crate::size::pretty;

/// A struct that passed every rule.
pub struct Layer<'a> {
    /// Every field, annotated or not: each must be zeroable.
    pub fields: Vec<&'a Field<'a>>,
    /// The `#[param]` fields, in declaration order.
    pub params: Vec<StateField<'a>>,
    /// The `#[buffer]` fields, in declaration order.
    pub buffers: Vec<StateField<'a>>,
}

/// A parameter or a buffer.
pub struct StateField<'a> {
    pub field: &'a Field<'a>,
    /// Its name in the state dict: the field's, without `r#`.
    pub name: String,
    pub storage: Storage<'a>,
}

/// How a parameter's or buffer's values are held.
pub enum Storage<'a> {
    /// Nested `f32` arrays, their lengths from the outside in: PyTorch's shape.
    Floats(Vec<&'a Expr>),
    /// A `u64` counter, PyTorch's `int64` scalar.
    Count,
}

/// Checks `input`, pushing every broken rule into `errors`.
pub fn check<'a>(input: &'a Input<'a>, errors: &mut Ctxt) -> Layer<'a> {
    let mut layer = Layer {
        fields: Vec::new(),
        params: Vec::new(),
        buffers: Vec::new(),
    };
    for param in &input.generics.params {
        match param {
            GenericParam::Const(_) => {}
            GenericParam::Type(t) => errors.push(syn::Error::new_spanned(
                param,
                format!(
                    "a layer deriving `Parameters` cannot be generic over a type; make `{}` a \
                     concrete type, or its sizes const generics such as `const N: usize`",
                    t.ident
                ),
            )),
            GenericParam::Lifetime(l) => errors.push(syn::Error::new_spanned(
                param,
                format!(
                    "a layer deriving `Parameters` cannot borrow; remove `{}` and own the values",
                    l.lifetime
                ),
            )),
        }
    }
    let fields = match &input.data {
        Data::Struct(fields) => fields,
        Data::Enum(token) => {
            errors.push(not_a_struct(token, "an enum"));
            return layer;
        }
        Data::Union(token) => {
            errors.push(not_a_struct(token, "a union"));
            return layer;
        }
    };
    for field in fields {
        layer.fields.push(field);
        let Some(role) = &field.role else { continue };
        let name = match &field.member {
            Member::Named(ident) => ident.unraw().to_string(),
            Member::Unnamed(_) => {
                errors.push(syn::Error::new_spanned(
                    role.attr,
                    format!(
                        "`{}` needs a named field, whose name is its name in the state dict; \
                         give the struct named fields",
                        role.kind.attr()
                    ),
                ));
                continue;
            }
        };
        let storage = match (role.kind, floats(field.ty)) {
            (_, Some(dims)) => Storage::Floats(dims),
            (RoleKind::Buffer, None) if is_primitive(field.ty, "u64") => Storage::Count,
            (RoleKind::Param, None) => {
                let fix = if is_primitive(field.ty, "f32") {
                    "declare it as `[f32; 1]`"
                } else {
                    "declare it as `[f32; N]` or `[[f32; IN]; OUT]`"
                };
                errors.push(syn::Error::new_spanned(
                    field.ty,
                    format!(
                        "`#[param]` takes an array of `f32`, not `{}`; {fix}",
                        show(field.ty)
                    ),
                ));
                continue;
            }
            (RoleKind::Buffer, None) => {
                errors.push(syn::Error::new_spanned(
                    field.ty,
                    format!(
                        "`#[buffer]` takes an array of `f32` or a `u64` counter, not `{}`; \
                         declare it as `[f32; N]` or `u64`",
                        show(field.ty)
                    ),
                ));
                continue;
            }
        };
        let entry = StateField {
            field,
            name,
            storage,
        };
        match role.kind {
            RoleKind::Param => layer.params.push(entry),
            RoleKind::Buffer => layer.buffers.push(entry),
        }
    }
    layer
}

fn not_a_struct(token: impl quote::ToTokens, what: &str) -> syn::Error {
    syn::Error::new_spanned(
        token,
        format!(
            "`Parameters` cannot be derived for {what}; declare the layer as a struct whose \
             fields hold its parameters"
        ),
    )
}

/// The lengths of `ty` from the outside in, if it is an array of `f32` (nested or not).
fn floats(ty: &Type) -> Option<Vec<&Expr>> {
    let mut dims = Vec::new();
    let mut ty = ty;
    loop {
        match ungroup(ty) {
            Type::Array(a) => {
                dims.push(&a.len);
                ty = &a.elem;
            }
            elem => return (!dims.is_empty() && is_primitive(elem, "f32")).then_some(dims),
        }
    }
}

/// Whether `ty` is the primitive `name`, written `f32` or `core::primitive::f32`.
fn is_primitive(ty: &Type, name: &str) -> bool {
    let Type::Path(p) = ungroup(ty) else {
        return false;
    };
    let segments = &p.path.segments;
    p.qself.is_none()
        && segments.iter().all(|s| s.arguments.is_none())
        && segments.last().is_some_and(|s| s.ident == name)
        && (segments.len() == 1
            || segments
                .iter()
                .rev()
                .nth(1)
                .is_some_and(|s| s.ident == "primitive"))
}

/// `ty` without the invisible groups and parentheses around it.
fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        ty => ty,
    }
}

/// `ty` as the user wrote it, spaced as code is.
fn show(ty: &Type) -> String {
    pretty(&quote::ToTokens::to_token_stream(ty))
        .replace(" ;", ";")
        .replace("[ ", "[")
        .replace(" ]", "]")
}
