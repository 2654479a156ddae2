//! Streaming a stack of layers one time step per call: [`Stream`], which the streaming cells
//! and the elementwise activations implement, and tuples of them, which step each in turn
//! within one call.

use crate::kernels::recurrent::{run, Steps};
use crate::layers::{Activation, Elementwise};
use crate::Zeroable;

/// A layer streamed one time step per call, with the state it carries between calls in a
/// value whose size the compiler knows: [`Conv1dCell`](crate::Conv1dCell),
/// [`GruCell`](crate::GruCell), [`LstmCell`](crate::LstmCell), [`Linear`](crate::Linear) (on
/// each step's features, as PyTorch applies it to a sequence), the elementwise activations
/// ([`Elementwise`], such as [`Tanh`](crate::Tanh)), a reference to any of them, and tuples of
/// two to eight of them, each taking the output of the one before.
///
/// A tuple is a stack streamed in one call: the vector unit is chosen once per step, not once
/// per layer, and the layers' steps are compiled into one another, so that their outputs pass
/// in registers. Each layer gives the bits its own step gives; nothing touches the heap. The
/// state of a tuple is the tuple of its layers' states, which starts from
/// [`Default::default`]. A tuple whose layer does not take the width the layer before it
/// gives is no `Stream`: calling `step` on it is a compile error that names that layer and
/// the output it would have to take (`<Elementwise<TanhFn, 8> as Stream>::In = [f32; 16]`).
///
/// ```
/// use nn::{Conv1d, Conv1dCell, Layer, Rng, Stream, Tanh, Zeroable};
/// // 1 channel to 4, kernel 3, causal (2 zeros before the sequence), over 40 steps; then
/// // 4 to 1, kernel 2, dilation 2, causal.
/// type C1 = Conv1d<1, 4, 3, 1, 2, 0, 1, 1, 40, 1>;
/// type C2 = Conv1d<4, 1, 2, 1, 2, 0, 2, 1, 40, 4>;
/// let (mut c1, mut c2) = (C1::zeroed(), C2::zeroed());
/// c1.init(&mut Rng::seed(1));
/// c2.init(&mut Rng::seed(2));
///
/// let stack = (Conv1dCell::new(&c1), Tanh::<4>::default(), Conv1dCell::new(&c2));
/// let mut state = Default::default();
/// let x: Vec<f32> = (0..40).map(|t| (t as f32 * 0.2).sin()).collect();
/// let stepped: Vec<f32> = x.iter().map(|x| stack.step(&[*x], &mut state)[0]).collect();
///
/// // The layers' whole-sequence passes, one after another, give the same bits.
/// let (mut a, mut b, mut y) = ([0.0; 160], [0.0; 160], [0.0; 40]);
/// c1.forward(&x, &mut a);
/// Tanh::<160>::default().forward(&a, &mut b);
/// c2.forward(&b, &mut y);
/// assert_eq!(stepped, y);
/// ```
pub trait Stream: sealed::Sealed {
    /// One step's input: `[f32; N]`.
    type In;
    /// One step's output: `[f32; N]`.
    type Out: Zeroable;
    /// What a step carries to the next.
    type State: Default;

    /// One time step: the input `x` moves `state` on; returns the step's output.
    #[inline]
    fn step(&self, x: &Self::In, state: &mut Self::State) -> Self::Out {
        let mut y = Self::Out::zeroed();
        run(Once {
            layer: self,
            x,
            state,
            y: &mut y,
        });
        y
    }

    /// [`Stream::step`] compiled into its caller, which has chosen the vector unit: `FMA`,
    /// whether products fuse; `WIDE`, whether the unit is AVX-512.
    #[doc(hidden)]
    fn step_with<const FMA: bool, const WIDE: bool>(
        &self,
        x: &Self::In,
        state: &mut Self::State,
        y: &mut Self::Out,
    );
}

pub(crate) mod sealed {
    /// Keeps [`super::Stream`] to this crate's layers, whose steps know the vector units.
    pub trait Sealed {}
}

/// One step of a [`Stream`], on the vector unit [`run`] picks.
struct Once<'a, S: Stream + ?Sized> {
    layer: &'a S,
    x: &'a S::In,
    state: &'a mut S::State,
    y: &'a mut S::Out,
}

impl<S: Stream + ?Sized> Steps for Once<'_, S> {
    #[inline(always)]
    fn run<const FMA: bool, const WIDE: bool>(self) {
        self.layer
            .step_with::<FMA, WIDE>(self.x, self.state, self.y);
    }
}

impl<S: Stream> sealed::Sealed for &S {}
impl<S: Stream> Stream for &S {
    type In = S::In;
    type Out = S::Out;
    type State = S::State;

    #[inline(always)]
    fn step_with<const FMA: bool, const WIDE: bool>(
        &self,
        x: &Self::In,
        state: &mut Self::State,
        y: &mut Self::Out,
    ) {
        (**self).step_with::<FMA, WIDE>(x, state, y);
    }
}

impl<A: Activation, const N: usize> sealed::Sealed for Elementwise<A, N> {}
/// The activation of each feature, as the layer's forward pass computes it.
impl<A: Activation, const N: usize> Stream for Elementwise<A, N> {
    type In = [f32; N];
    type Out = [f32; N];
    type State = ();

    #[inline(always)]
    fn step_with<const FMA: bool, const WIDE: bool>(
        &self,
        x: &[f32; N],
        _: &mut (),
        y: &mut [f32; N],
    ) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = A::f(*x);
        }
    }
}

/// `Stream` for tuples: `[first index type] [index type previous-type]...; last type`.
macro_rules! stream_tuple {
    ([$i0:tt $t0:ident] $([$i:tt $t:ident $p:ident])+ ; $last:ident) => {
        impl<$t0: Stream, $($t: Stream<In = $p::Out>),+> sealed::Sealed for ($t0, $($t),+) {}
        impl<$t0: Stream, $($t: Stream<In = $p::Out>),+> Stream for ($t0, $($t),+) {
            type In = $t0::In;
            type Out = $last::Out;
            type State = ($t0::State, $($t::State),+);

            #[inline(always)]
            fn step_with<const FMA: bool, const WIDE: bool>(
                &self,
                x: &Self::In,
                state: &mut Self::State,
                y: &mut Self::Out,
            ) {
                let mut out = $t0::Out::zeroed();
                self.$i0.step_with::<FMA, WIDE>(x, &mut state.$i0, &mut out);
                $(
                    let out = {
                        let mut next = $t::Out::zeroed();
                        self.$i.step_with::<FMA, WIDE>(&out, &mut state.$i, &mut next);
                        next
                    };
                )+
                *y = out;
            }
        }
    };
}

stream_tuple!([0 A] [1 B A]; B);
stream_tuple!([0 A] [1 B A] [2 C B]; C);
stream_tuple!([0 A] [1 B A] [2 C B] [3 D C]; D);
stream_tuple!([0 A] [1 B A] [2 C B] [3 D C] [4 E D]; E);
stream_tuple!([0 A] [1 B A] [2 C B] [3 D C] [4 E D] [5 F E]; F);
stream_tuple!([0 A] [1 B A] [2 C B] [3 D C] [4 E D] [5 F E] [6 G F]; G);
stream_tuple!([0 A] [1 B A] [2 C B] [3 D C] [4 E D] [5 F E] [6 G F] [7 H G]; H);
