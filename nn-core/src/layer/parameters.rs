//! What `#[derive(nn::Parameters)]` writes for a layer of the user's, and the
//! `nn::parameters!()` line that hands it to the layer's [`Layer`](crate::Layer) impl.
//!
//! The derive cannot add methods to an impl the user writes, so it implements a trait of its
//! own, [`Parameters`], and `nn::parameters!()` (written inside `impl Layer`) forwards
//! `PARAMS` and the four visitors of [`Layer`](crate::Layer) to it. `Parameters` is not a
//! supertrait of `Layer`: a layer that writes its visitors by hand needs no derive.

use crate::layer::{BufferMut, BufferVisitor, ParamVisitor};

/// The parameters and buffers of a layer, read from its fields: implemented by
/// `#[derive(nn::Parameters)]`, used by `nn::parameters!()` inside the layer's
/// [`Layer`](crate::Layer) impl. See [`Layer`](crate::Layer) for an example.
///
/// The derive takes a struct with named fields and const generics only, and reads each
/// field's attribute:
///
/// - `#[param] weight: [[f32; IN]; OUT]`: a trainable parameter, any nesting of `f32`
///   arrays, named after the field, its shape the array's lengths from the outside in
///   (PyTorch's `[out, in]` here);
/// - `#[buffer] running_mean: [f32; N]`, or `#[buffer] count: u64`: saved with the state
///   dict but not trained, as PyTorch's `register_buffer` (a `u64` is a counter,
///   [`Buffer::Count`](crate::Buffer::Count), PyTorch's `int64` scalar);
/// - a field without either is neither (a setting, a flag).
///
/// It also implements [`Zeroable`](crate::Zeroable), which every layer needs, once it has
/// checked that every field's type is zeroable: a field that is not is a compile error at
/// that field. The methods have names of their own, so that a layer implementing both
/// traits can still call `layer.visit_params(..)` with both in scope.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not derive `nn::Parameters`",
    label = "`nn::parameters!()` reads the parameters that the derive finds",
    note = "add `#[derive(nn::Parameters)]` to the struct and mark its fields `#[param]` or \
            `#[buffer]`; or write `PARAMS` and the visitors of `nn::Layer` by hand"
)]
pub trait Parameters {
    /// The number of trainable values: the sum of the lengths of the `#[param]` arrays.
    const PARAM_COUNT: usize;

    /// Calls `f(name, shape, values)` for each `#[param]` field, in declaration order.
    fn param_fields(&self, f: &mut ParamVisitor<'_>);

    /// Calls `f(name, values)` for each `#[param]` field, mutably, in declaration order.
    fn param_fields_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32]));

    /// Calls `f(name, shape, value)` for each `#[buffer]` field, in declaration order.
    fn buffer_fields(&self, f: &mut BufferVisitor<'_>);

    /// Calls `f(name, value)` for each `#[buffer]` field, mutably, in declaration order.
    fn buffer_fields_mut(&mut self, f: &mut dyn FnMut(&'static str, BufferMut<'_>));
}

/// Writes, inside `impl nn::Layer for ...`, the items that `#[derive(nn::Parameters)]` knows:
/// `PARAMS` and the four visitors (`visit_params`, `visit_params_mut`, `visit_buffers`,
/// `visit_buffers_mut`), each forwarding to [`Parameters`]. See [`Layer`](crate::Layer).
#[macro_export]
macro_rules! parameters {
    () => {
        // The one place that requires the derive: a layer without it gets one error, here.
        const PARAMS: usize = <Self as $crate::Parameters>::PARAM_COUNT;

        fn visit_params(&self, f: &mut $crate::ParamVisitor<'_>) {
            use $crate::__private::derived::{Derived as _, Missing as _};
            $crate::__private::derived::Of(self).param_fields(f)
        }

        fn visit_params_mut(&mut self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
            use $crate::__private::derived::{DerivedMut as _, Missing as _};
            $crate::__private::derived::OfMut(self).param_fields_mut(f)
        }

        fn visit_buffers(&self, f: &mut $crate::BufferVisitor<'_>) {
            use $crate::__private::derived::{Derived as _, Missing as _};
            $crate::__private::derived::Of(self).buffer_fields(f)
        }

        fn visit_buffers_mut(&mut self, f: &mut dyn FnMut(&'static str, $crate::BufferMut<'_>)) {
            use $crate::__private::derived::{DerivedMut as _, Missing as _};
            $crate::__private::derived::OfMut(self).buffer_fields_mut(f)
        }
    };
}

/// How the visitors of `nn::parameters!()` reach [`Parameters`] without each adding an error
/// of its own when the derive is missing (`PARAMS` reports it, once): method lookup takes
/// `Derived` (on the wrapper itself) where the layer implements `Parameters`, and falls back
/// to `Missing` (one reference further) where it does not. `Missing` visits nothing, but it
/// only ever compiles beside the error on `PARAMS`.
#[doc(hidden)]
pub mod derived {
    use super::Parameters;
    use crate::layer::{BufferMut, BufferVisitor, ParamVisitor};

    /// A layer, shared.
    pub struct Of<'a, L>(pub &'a L);

    /// A layer, mutably.
    pub struct OfMut<'a, L>(pub &'a mut L);

    /// The shared visitors of a layer that derives [`Parameters`].
    pub trait Derived {
        fn param_fields(self, f: &mut ParamVisitor<'_>);
        fn buffer_fields(self, f: &mut BufferVisitor<'_>);
    }

    impl<L: Parameters> Derived for Of<'_, L> {
        fn param_fields(self, f: &mut ParamVisitor<'_>) {
            self.0.param_fields(f);
        }
        fn buffer_fields(self, f: &mut BufferVisitor<'_>) {
            self.0.buffer_fields(f);
        }
    }

    /// The mutable visitors of a layer that derives [`Parameters`].
    pub trait DerivedMut {
        fn param_fields_mut(self, f: &mut dyn FnMut(&'static str, &mut [f32]));
        fn buffer_fields_mut(self, f: &mut dyn FnMut(&'static str, BufferMut<'_>));
    }

    impl<L: Parameters> DerivedMut for OfMut<'_, L> {
        fn param_fields_mut(self, f: &mut dyn FnMut(&'static str, &mut [f32])) {
            self.0.param_fields_mut(f);
        }
        fn buffer_fields_mut(self, f: &mut dyn FnMut(&'static str, BufferMut<'_>)) {
            self.0.buffer_fields_mut(f);
        }
    }

    /// What method lookup finds for a layer without the derive: nothing to visit.
    pub trait Missing {
        fn param_fields(&self, _: &mut ParamVisitor<'_>) {}
        fn buffer_fields(&self, _: &mut BufferVisitor<'_>) {}
        fn param_fields_mut(&self, _: &mut dyn FnMut(&'static str, &mut [f32])) {}
        fn buffer_fields_mut(&self, _: &mut dyn FnMut(&'static str, BufferMut<'_>)) {}
    }

    impl<L> Missing for Of<'_, L> {}
    impl<L> Missing for OfMut<'_, L> {}
}

/// Compiles only for a zeroable `T`: the derive calls it for each field's type, spanned on
/// the field, before it implements `Zeroable` for the struct.
#[doc(hidden)]
#[inline(always)]
pub const fn assert_zeroable<T: ZeroableField>() {}

/// `Zeroable`, with an error that names the field's type and says why it must be.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Zeroable`, so the layer holding it cannot be built in place",
    label = "every field of a `#[derive(nn::Parameters)]` layer must be `nn::Zeroable`",
    note = "a network is built on the heap from zeroed memory; use `f32`, `u64`, arrays of them, \
            or a type that implements `nn::Zeroable`"
)]
pub trait ZeroableField {}

#[diagnostic::do_not_recommend]
impl<T: bytemuck::Zeroable> ZeroableField for T {}
