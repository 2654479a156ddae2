//! The typed input of `#[derive(Parameters)]`: the item, its fields and their `#[param]` or
//! `#[buffer]` attribute, each keeping the `syn` node it came from for spans.

use syn::{Attribute, DeriveInput, Generics, Ident, Member, Type};

use crate::ctxt::Ctxt;

/// The item the derive is on.
pub struct Input<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub data: Data<'a>,
}

/// A struct's fields, or the keyword of an item that is not a struct.
pub enum Data<'a> {
    Struct(Vec<Field<'a>>),
    Enum(&'a syn::token::Enum),
    Union(&'a syn::token::Union),
}

/// One field, with what its attribute makes of it.
pub struct Field<'a> {
    pub original: &'a syn::Field,
    pub member: Member,
    pub ty: &'a Type,
    pub role: Option<Role<'a>>,
}

/// What an attribute on a field declares it to be.
pub struct Role<'a> {
    pub kind: RoleKind,
    /// The attribute, for errors about it.
    pub attr: &'a Attribute,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    /// `#[param]`: trained.
    Param,
    /// `#[buffer]`: saved, not trained.
    Buffer,
}

impl RoleKind {
    /// The attribute as written.
    pub fn attr(self) -> &'static str {
        match self {
            RoleKind::Param => "#[param]",
            RoleKind::Buffer => "#[buffer]",
        }
    }
}

impl<'a> Input<'a> {
    /// Reads `input`, collecting every malformed attribute into `errors`.
    pub fn from_syn(input: &'a DeriveInput, errors: &mut Ctxt) -> Self {
        let data = match &input.data {
            syn::Data::Struct(s) => Data::Struct(
                s.fields
                    .iter()
                    .enumerate()
                    .map(|(i, field)| Field::from_syn(i, field, errors))
                    .collect(),
            ),
            syn::Data::Enum(e) => Data::Enum(&e.enum_token),
            syn::Data::Union(u) => Data::Union(&u.union_token),
        };
        Input {
            ident: &input.ident,
            generics: &input.generics,
            data,
        }
    }
}

impl<'a> Field<'a> {
    fn from_syn(index: usize, field: &'a syn::Field, errors: &mut Ctxt) -> Self {
        let member = match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(index.into()),
        };
        let mut role: Option<Role<'a>> = None;
        for attr in &field.attrs {
            let kind = if attr.path().is_ident("param") {
                RoleKind::Param
            } else if attr.path().is_ident("buffer") {
                RoleKind::Buffer
            } else {
                continue;
            };
            if !matches!(attr.meta, syn::Meta::Path(_)) {
                let written = kind.attr();
                errors.push(syn::Error::new_spanned(
                    &attr.meta,
                    format!("`{written}` takes no arguments; write `{written}`"),
                ));
            }
            match &role {
                Some(first) if first.kind == kind => errors.push(syn::Error::new_spanned(
                    attr,
                    format!("duplicate `{}`; remove it", kind.attr()),
                )),
                Some(_) => errors.push(syn::Error::new_spanned(
                    attr,
                    "a field is a `#[param]` or a `#[buffer]`, not both; remove one",
                )),
                None => role = Some(Role { kind, attr }),
            }
        }
        Field {
            original: field,
            member,
            ty: &field.ty,
            role,
        }
    }
}
