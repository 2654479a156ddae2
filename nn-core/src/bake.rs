//! Weights baked in at compile time for the networks nested in a `#[weights]` network.
//!
//! `#[weights("file.safetensors")]` writes the tensors of the network's own built-in layers
//! as literals, checked against the file by the macro itself. A nested network is another
//! type, whose layers that macro cannot see: its value comes from [`Bake`], which every
//! network and built-in layer implements, as a constant evaluated by the compiler from the
//! file's tensors ([`Table`]) under the nested network's path. A layer of the user's has
//! no `Bake` impl, so a network holding one cannot be baked, and the compiler says so.

use core::marker::PhantomData;

use crate::{AdaptiveAvgPool1d, AvgPool1d, Conv1d, MaxPool1d, Transpose};
use crate::{
    AdaptiveAvgPool2d, AvgPool2d, AvgPool2dGeneral, BatchNorm, BatchNorm2d, Conv2d, Conv2dGeneral,
    ConvTranspose2d, Dropout, Elementwise, Embedding, Flatten, GruLayer, Identity, LayerNorm,
    Linear, LogSoftmax, LstmLayer, MaxPool2d, MaxPool2dGeneral, Path, Residual, Softmax, Upsample,
    GRU, LSTM,
};

/// The tensors of a weights file, as constants, and the path of the module being filled.
///
/// The file is included whole (`include_bytes!`) and read where a nested layer asks for a
/// tensor, so that the macro writes no literal for the nested networks' tensors: a tensor
/// the network does not have costs the compiler nothing.
pub trait Table {
    /// The weights file, as `include_bytes!` reads it.
    const BYTES: &'static [u8];
    /// Every tensor under a nested network's name, by its state-dict key.
    const ENTRIES: &'static [Entry];
    /// The module filled from this table.
    const PATH: Path<'static>;
}

/// A tensor of a weights file: its key, its shape, and where its little-endian data starts in
/// [`Table::BYTES`].
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The state-dict key (`enc.0.weight`).
    pub key: &'static str,
    /// The shape, as the file states it.
    pub shape: &'static [usize],
    /// `true` for an `I64` counter (`num_batches_tracked`), `false` for `F32` values.
    pub counter: bool,
    /// The offset of its first byte in [`Table::BYTES`].
    pub start: usize,
}

/// A module's name in its parent, as a type, so that a path can be built in constants.
pub trait Name {
    /// The name: a field name or an index.
    const NAME: &'static str;
}

/// The table `T` at the module `N` inside `T`'s module.
pub struct Child<T, N>(PhantomData<(T, N)>);

#[diagnostic::do_not_recommend]
impl<T: Table, N: Name> Table for Child<T, N> {
    const BYTES: &'static [u8] = T::BYTES;
    const ENTRIES: &'static [Entry] = T::ENTRIES;
    const PATH: Path<'static> = Path {
        parent: Some(&T::PATH),
        name: N::NAME,
    };
}

/// A value of the type built from the tensors of `T` at `T::PATH`, as a constant.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot have its weights baked in",
    label = "not a built-in layer or a network of them",
    note = "`#[weights]` fills the built-in layers and networks made of them; a network \
            with a layer of your own loads its weights at run time with `nn::io::load`"
)]
pub trait Bake<T: Table>: Sized {
    /// The value.
    const BAKED: Self;
    /// How many tensors its state dict holds, at any depth: the most a weights file may hold
    /// under its name.
    const TENSORS: usize;
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Where `path`'s prefix (`enc.0.`) ends in `key`, or `None` when `key` does not start
/// with it. The root and nameless modules add nothing.
const fn prefix_end(path: &Path<'_>, key: &[u8]) -> Option<usize> {
    let start = match path.parent {
        Some(p) => match prefix_end(p, key) {
            Some(i) => i,
            None => return None,
        },
        None => 0,
    };
    let name = path.name.as_bytes();
    if name.is_empty() {
        return Some(start);
    }
    let end = start + name.len();
    if end >= key.len() || key[end] != b'.' {
        return None;
    }
    let mut i = 0;
    while i < name.len() {
        if key[start + i] != name[i] {
            return None;
        }
        i += 1;
    }
    Some(end + 1)
}

const fn is_key(path: &Path<'_>, name: &str, key: &str) -> bool {
    let key = key.as_bytes();
    match prefix_end(path, key) {
        Some(at) => {
            let (_, rest) = key.split_at(at);
            same(rest, name.as_bytes())
        }
        None => false,
    }
}

/// Where the data of tensor `name` of `T`'s module starts in [`Table::BYTES`]: a tensor of
/// `shape`, `F32` values or (for `counter`) one `I64`.
const fn find<T: Table>(name: &str, shape: &[usize], counter: bool) -> usize {
    let mut i = 0;
    while i < T::ENTRIES.len() {
        let e = T::ENTRIES[i];
        if is_key(&T::PATH, name, e.key) {
            if e.counter != counter {
                panic!(
                    "#[weights]: a tensor of a nested network has another dtype in the file \
                     than the network declares (F32 values, an I64 counter); load the file \
                     with `nn::io::load` to see which"
                );
            }
            if !same_shape(e.shape, shape) {
                panic!(
                    "#[weights]: a tensor of a nested network has another shape in the file \
                     than the network declares; load the file with `nn::io::load` to see which"
                );
            }
            return e.start;
        }
        i += 1;
    }
    panic!(
        "#[weights]: a tensor of a nested network is missing from the file; load the file \
         with `nn::io::load` to see which"
    )
}

const fn same_shape(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Value `i` of the `F32` data starting at `start` in `T`'s file.
const fn float<T: Table>(start: usize, i: usize) -> f32 {
    let b = T::BYTES;
    let at = start + 4 * i;
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Tensor `name` of `T`'s module as `[f32; N]`, of shape `[N]`.
pub const fn vector<T: Table, const N: usize>(name: &str) -> [f32; N] {
    let start = find::<T>(name, &[N], false);
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        out[i] = float::<T>(start, i);
        i += 1;
    }
    out
}

/// Tensor `name` of `T`'s module as `[[f32; C]; R]`, of shape `[R, C]`, row-major.
pub const fn matrix<T: Table, const R: usize, const C: usize>(name: &str) -> [[f32; C]; R] {
    let start = find::<T>(name, &[R, C], false);
    let mut out = [[0.0; C]; R];
    let mut i = 0;
    while i < R * C {
        out[i / C][i % C] = float::<T>(start, i);
        i += 1;
    }
    out
}

/// Tensor `name` of `T`'s module as `[[[[f32; K]; K]; I]; O]`, of shape `[O, I, K, K]`: a
/// convolution's kernels.
pub const fn kernels<T: Table, const O: usize, const I: usize, const K: usize>(
    name: &str,
) -> [[[[f32; K]; K]; I]; O] {
    let start = find::<T>(name, &[O, I, K, K], false);
    let mut out = [[[[0.0; K]; K]; I]; O];
    let mut n = 0;
    while n < O * I * K * K {
        let (o, rest) = (n / (I * K * K), n % (I * K * K));
        let (i, rest) = (rest / (K * K), rest % (K * K));
        out[o][i][rest / K][rest % K] = float::<T>(start, n);
        n += 1;
    }
    out
}

/// Tensor `name` of `T`'s module as `[[[f32; K]; H]; G]`, of shape `[G · H, K]`: a recurrent
/// layer's weights, `G` gates of `H` rows (`[[f32; H]; G]` for a bias, with `K` = 1 dropped
/// by the caller).
pub const fn gates<T: Table, const G: usize, const H: usize, const K: usize>(
    name: &str,
) -> [[[f32; K]; H]; G] {
    let start = find::<T>(name, &[G * H, K], false);
    let mut out = [[[0.0; K]; H]; G];
    let mut n = 0;
    while n < G * H * K {
        out[n / (H * K)][(n / K) % H][n % K] = float::<T>(start, n);
        n += 1;
    }
    out
}

/// Tensor `name` of `T`'s module as `[[f32; H]; G]`, of shape `[G · H]`: a recurrent layer's
/// bias.
pub const fn gate_bias<T: Table, const G: usize, const H: usize>(name: &str) -> [[f32; H]; G] {
    let start = find::<T>(name, &[G * H], false);
    let mut out = [[0.0; H]; G];
    let mut n = 0;
    while n < G * H {
        out[n / H][n % H] = float::<T>(start, n);
        n += 1;
    }
    out
}

/// Rectangular kernels `name` of `T`'s module, `[O, I, KH, KW]`.
pub const fn kernels_rect<
    T: Table,
    const O: usize,
    const I: usize,
    const KH: usize,
    const KW: usize,
>(
    name: &str,
) -> [[[[f32; KW]; KH]; I]; O] {
    let start = find::<T>(name, &[O, I, KH, KW], false);
    let mut out = [[[[0.0; KW]; KH]; I]; O];
    let mut n = 0;
    while n < O * I * KH * KW {
        let (o, rest) = (n / (I * KH * KW), n % (I * KH * KW));
        let (i, rest) = (rest / (KH * KW), rest % (KH * KW));
        out[o][i][rest / KW][rest % KW] = float::<T>(start, n);
        n += 1;
    }
    out
}

/// Counter `name` of `T`'s module: a scalar `I64`, at least 0 (as `nn::io::load` reads it).
pub const fn count<T: Table>(name: &str) -> u64 {
    let start = find::<T>(name, &[], true);
    let b = T::BYTES;
    let mut bytes = [0u8; 8];
    let mut i = 0;
    while i < 8 {
        bytes[i] = b[start + i];
        i += 1;
    }
    let value = i64::from_le_bytes(bytes);
    if value < 0 {
        panic!(
            "#[weights]: a counter of a nested network's batch norm is negative in the file, \
             which `nn::io::load` refuses too; load the file with `nn::io::load` to see which"
        );
    }
    value as u64
}

/// A layer's `bias` from the file, or zeros for a layer without one (which has no such
/// tensor).
const fn bias<T: Table, const N: usize>(bias: bool) -> [f32; N] {
    if bias {
        vector::<T, N>("bias")
    } else {
        [0.0; N]
    }
}

#[diagnostic::do_not_recommend]
impl<T: Table, const IN: usize, const OUT: usize, const BIAS: bool> Bake<T>
    for Linear<IN, OUT, BIAS>
{
    const BAKED: Self = Linear {
        // The shape is the field's, `[OUT, IN]`: `Linear` states its layout once.
        weight: matrix::<T, _, _>("weight"),
        bias: bias::<T, OUT>(BIAS),
    };
    const TENSORS: usize = 1 + BIAS as usize;
}

/// The recurrent layers: `$g` gates of `H` units, PyTorch's four tensors per layer, the
/// layers above the first (`$layer`) under the names `_l1` on.
macro_rules! bake_recurrent {
    ($($ty:ident, $layer:ident => $g:literal),* $(,)?) => {$(
        #[diagnostic::do_not_recommend]
        impl<
                T: Table,
                const IN: usize,
                const H: usize,
                const S: usize,
                const LAST: bool,
                const ABOVE: usize,
            > Bake<T> for $ty<IN, H, S, LAST, ABOVE>
        {
            const BAKED: Self = $ty {
                weight_ih_l0: gates::<T, $g, H, IN>("weight_ih_l0"),
                weight_hh_l0: gates::<T, $g, H, H>("weight_hh_l0"),
                bias_ih_l0: gate_bias::<T, $g, H>("bias_ih_l0"),
                bias_hh_l0: gate_bias::<T, $g, H>("bias_hh_l0"),
                above: {
                    let mut above = [const {
                        $layer {
                            weight_ih: [[[0.0; H]; H]; $g],
                            weight_hh: [[[0.0; H]; H]; $g],
                            bias_ih: [[0.0; H]; $g],
                            bias_hh: [[0.0; H]; $g],
                        }
                    }; ABOVE];
                    let mut l = 0;
                    while l < ABOVE {
                        let [ih, hh, b_ih, b_hh] = crate::layers::RECURRENT_NAMES[l + 1];
                        above[l] = $layer {
                            weight_ih: gates::<T, $g, H, H>(ih),
                            weight_hh: gates::<T, $g, H, H>(hh),
                            bias_ih: gate_bias::<T, $g, H>(b_ih),
                            bias_hh: gate_bias::<T, $g, H>(b_hh),
                        };
                        l += 1;
                    }
                    above
                },
            };
            const TENSORS: usize = 4 * (ABOVE + 1);
        }
    )*};
}

bake_recurrent! {
    GRU, GruLayer => 3,
    LSTM, LstmLayer => 4,
}

#[diagnostic::do_not_recommend]
impl<T: Table, const V: usize, const D: usize, const L: usize, const P: usize> Bake<T>
    for Embedding<V, D, L, P>
{
    const BAKED: Self = Embedding {
        weight: matrix::<T, V, D>("weight"),
    };
    const TENSORS: usize = 1;
}

/// The batch norms, over features or channels: the same five tensors, `$c` long.
macro_rules! bake_batch_norm {
    ($($ty:ty => $c:ident [$($p:tt)*]),* $(,)?) => {$(
        #[diagnostic::do_not_recommend]
        impl<T: Table, $($p)*> Bake<T> for $ty {
            const BAKED: Self = Self {
                weight: vector::<T, $c>("weight"),
                bias: vector::<T, $c>("bias"),
                running_mean: vector::<T, $c>("running_mean"),
                running_var: vector::<T, $c>("running_var"),
                num_batches_tracked: count::<T>("num_batches_tracked"),
            };
            const TENSORS: usize = 5;
        }
    )*};
}

bake_batch_norm! {
    BatchNorm<N> => N [const N: usize],
    BatchNorm2d<C, H, W> => C [const C: usize, const H: usize, const W: usize],
}

#[diagnostic::do_not_recommend]
impl<T: Table, const N: usize> Bake<T> for LayerNorm<N> {
    const BAKED: Self = LayerNorm {
        weight: vector::<T, N>("weight"),
        bias: vector::<T, N>("bias"),
    };
    const TENSORS: usize = 2;
}

#[diagnostic::do_not_recommend]
impl<
        T: Table,
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Bake<T> for Conv2d<CIN, COUT, K, S, P, H, W, BIAS>
{
    const BAKED: Self = Conv2d {
        weight: kernels::<T, COUT, CIN, K>("weight"),
        bias: bias::<T, COUT>(BIAS),
    };
    const TENSORS: usize = 1 + BIAS as usize;
}

#[diagnostic::do_not_recommend]
impl<
        T: Table,
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const OP: usize,
        const H: usize,
        const W: usize,
        const BIAS: bool,
    > Bake<T> for ConvTranspose2d<CIN, COUT, K, S, P, OP, H, W, BIAS>
{
    const BAKED: Self = ConvTranspose2d {
        // PyTorch's layout, in channels first: `[CIN, COUT, K, K]`.
        weight: kernels::<T, CIN, COUT, K>("weight"),
        bias: bias::<T, COUT>(BIAS),
    };
    const TENSORS: usize = 1 + BIAS as usize;
}

#[diagnostic::do_not_recommend]
impl<T: Table, B: Bake<T>> Bake<T> for Residual<B> {
    // A residual block's tensors are its block's, under the same name.
    const BAKED: Self = Residual(B::BAKED);
    const TENSORS: usize = B::TENSORS;
}

/// Layers without tensors: their all-zero value (a dropout's seed and step start at 0).
macro_rules! bake_zeroed {
    ($($ty:ty => [$($p:tt)*]),* $(,)?) => {$(
        #[diagnostic::do_not_recommend]
        impl<T: Table, $($p)*> Bake<T> for $ty {
            const BAKED: Self = crate::__private::zeroed();
            const TENSORS: usize = 0;
        }
    )*};
}

bake_zeroed! {
    Elementwise<A, N> => [A, const N: usize],
    Softmax<N> => [const N: usize],
    LogSoftmax<N> => [const N: usize],
    Identity<N> => [const N: usize],
    Flatten<N> => [const N: usize],
    Dropout<N, Q> => [const N: usize, const Q: u32],
    MaxPool2d<C, K, H, W> => [const C: usize, const K: usize, const H: usize, const W: usize],
    AvgPool2d<C, K, H, W> => [const C: usize, const K: usize, const H: usize, const W: usize],
    AdaptiveAvgPool2d<C, H, W> => [const C: usize, const H: usize, const W: usize],
    MaxPool2dGeneral<C, KH, KW, SH, SW, PH, PW, H, W> => [const C: usize, const KH: usize, const KW: usize, const SH: usize, const SW: usize, const PH: usize, const PW: usize, const H: usize, const W: usize],
    AvgPool2dGeneral<C, KH, KW, SH, SW, PH, PW, H, W> => [const C: usize, const KH: usize, const KW: usize, const SH: usize, const SW: usize, const PH: usize, const PW: usize, const H: usize, const W: usize],
    Upsample<C, S, H, W> => [const C: usize, const S: usize, const H: usize, const W: usize],
    MaxPool1d<C, K, S, P, L> => [const C: usize, const K: usize, const S: usize, const P: usize, const L: usize],
    AvgPool1d<C, K, S, P, L> => [const C: usize, const K: usize, const S: usize, const P: usize, const L: usize],
    AdaptiveAvgPool1d<C, L> => [const C: usize, const L: usize],
    Transpose<C, L> => [const C: usize, const L: usize],
}

/// Tensor `name` of `T`'s module as `[[[f32; K]; I]; O]`, of shape `[O, I, K]`: a 1-D
/// convolution's kernels.
const fn kernels_1d<T: Table, const O: usize, const I: usize, const K: usize>(
    name: &str,
) -> [[[f32; K]; I]; O] {
    let start = find::<T>(name, &[O, I, K], false);
    let mut out = [[[0.0; K]; I]; O];
    let mut n = 0;
    while n < O * I * K {
        out[n / (I * K)][n / K % I][n % K] = float::<T>(start, n);
        n += 1;
    }
    out
}

#[diagnostic::do_not_recommend]
impl<
        T: Table,
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const PL: usize,
        const PR: usize,
        const D: usize,
        const G: usize,
        const L: usize,
        const CING: usize,
        const BIAS: bool,
    > Bake<T> for Conv1d<CIN, COUT, K, S, PL, PR, D, G, L, CING, BIAS>
{
    const BAKED: Self = Conv1d {
        weight: kernels_1d::<T, COUT, CING, K>("weight"),
        bias: bias::<T, COUT>(BIAS),
    };
    const TENSORS: usize = 1 + BIAS as usize;
}

#[diagnostic::do_not_recommend]
impl<
        T: Table,
        const CIN: usize,
        const COUT: usize,
        const G: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PB: usize,
        const PL: usize,
        const PR: usize,
        const DH: usize,
        const DW: usize,
        const H: usize,
        const W: usize,
        const CING: usize,
        const BIAS: bool,
    > Bake<T>
    for Conv2dGeneral<CIN, COUT, G, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, H, W, CING, BIAS>
{
    const BAKED: Self = Conv2dGeneral {
        weight: kernels_rect::<T, COUT, CING, KH, KW>("weight"),
        bias: bias::<T, COUT>(BIAS),
    };
    const TENSORS: usize = 1 + BIAS as usize;
}
