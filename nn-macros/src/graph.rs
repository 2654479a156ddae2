//! A forward written as code, as validation leaves it for expansion: values, each of a
//! width known to the compiler, and the operations that make them, in the order the body
//! runs them. A chain is the forward whose code is implicit; this is the explicit one.

use proc_macro2::{Span, TokenStream};

/// A validated forward and its objective.
pub struct Graph {
    /// The inputs, in the order of `fn forward`'s parameters: each a value.
    pub inputs: Vec<Port>,
    /// The outputs, in the order returned.
    pub outputs: Vec<Port>,
    pub values: Vec<Value>,
    /// Every operation, in the order the body runs them; each makes one value.
    pub nodes: Vec<Node>,
    /// The image taken, where there is one input and it is an image.
    pub in_image: Option<[TokenStream; 3]>,
    /// The image produced, where there is one output and it is an image.
    pub out_image: Option<[TokenStream; 3]>,
    pub objective: Option<crate::graph::Objective>,
}

/// A named input or output, and its value.
pub struct Port {
    pub name: String,
    pub value: usize,
}

/// Whether a value's gradient is needed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Needs {
    /// Never: noise, or made of noise and numbers only.
    Never,
    /// Only when the caller asks for the gradient with respect to the input: the value
    /// comes from the inputs through no layer with parameters.
    Input,
    /// Always: a layer with parameters (or one that may have them) is behind it.
    Always,
}

/// A value of the forward: `[rows, width]`.
pub struct Value {
    /// Its features per row, as a constant expression.
    pub width: TokenStream,
    /// The value whose memory it is: itself, or the value it views (`flatten`).
    pub storage: usize,
    pub needs: Needs,
}

/// One operation.
pub struct Node {
    pub op: Op,
    /// The value it makes.
    pub out: usize,
    pub span: Span,
}

/// What an operation does.
pub enum Op {
    /// One of the forward's inputs.
    Input,
    /// A call of a layer: a field of the network (`self.fc1(h)`), or a function that is a
    /// layer without state (`relu(h)`, `ty` then made on the spot).
    Call {
        /// `self.fc1`'s field, or `None` for a function.
        field: Option<Field>,
        /// The layer's type.
        ty: TokenStream,
        arg: usize,
    },
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    /// `k · a + c`.
    Affine {
        a: usize,
        k: TokenStream,
        c: TokenStream,
    },
    /// The values side by side, row by row (features, or the channels of images).
    Cat(Vec<usize>),
    /// Columns `offset..offset + width` of `a`.
    Chunk {
        a: usize,
        offset: TokenStream,
    },
    /// A value seen with another shape (`flatten`): the same memory.
    Alias,
}

/// A field called as a layer.
pub struct Field {
    /// How the struct names it.
    pub access: TokenStream,
    /// Its index among the fields: its parameters' place in the gradients.
    pub index: usize,
    /// Its state-dict name, for a training error.
    pub name: String,
    /// Whether the call feeds a recurrent layer its initial state (`self.gru(x, h0)`): the
    /// layer is then seen as `nn::FromState` of it, whose input is the sequence and the state.
    pub from_state: bool,
}

impl Field {
    /// The layer as the call reads it.
    pub fn this(&self) -> TokenStream {
        let acc = &self.access;
        match self.from_state {
            true => quote::quote!(::nn::FromState::of(&self.#acc)),
            false => quote::quote!(&self.#acc),
        }
    }

    /// The layer as a training pass changes it.
    pub fn this_mut(&self) -> TokenStream {
        let acc = &self.access;
        match self.from_state {
            true => quote::quote!(::nn::FromState::of_mut(&mut self.#acc)),
            false => quote::quote!(&mut self.#acc),
        }
    }
}

/// The objective written from the outputs: a sum of terms, each with a coefficient.
pub struct Objective {
    pub name: syn::Ident,
    /// The targets, in order: name and whether it is labels (else rows of `width`).
    pub targets: Vec<Target>,
    pub terms: Vec<Term>,
}

/// A target of the objective.
pub struct Target {
    pub name: syn::Ident,
    /// `None` for labels; the width for rows of numbers.
    pub width: Option<TokenStream>,
}

/// One term of an objective: `coeff · loss`.
#[derive(Clone)]
pub struct Term {
    pub coeff: TokenStream,
    pub kind: TermKind,
}

/// A loss of the library, or a reduction of an elementwise expression.
#[derive(Clone)]
pub enum TermKind {
    /// `mse_loss(out, target, reduction = sum)`: the loss's value in Rust, the output, the
    /// target.
    Loss {
        loss: TokenStream,
        output: usize,
        target: usize,
    },
    /// `sum(expr)` or `mean(expr)` over every element of values of one width.
    Reduce {
        mean: bool,
        width: TokenStream,
        expr: Scalar,
    },
}

/// An elementwise expression inside `sum(..)`, evaluated one element at a time.
#[derive(Clone)]
pub enum Scalar {
    /// An output's element (`Output(k)`) or a target's (`Target(k)`).
    Output(usize),
    Target(usize),
    Number(TokenStream),
    Add(Box<Scalar>, Box<Scalar>),
    Sub(Box<Scalar>, Box<Scalar>),
    Mul(Box<Scalar>, Box<Scalar>),
    Div(Box<Scalar>, Box<Scalar>),
    Neg(Box<Scalar>),
    Exp(Box<Scalar>),
    Log(Box<Scalar>),
}
