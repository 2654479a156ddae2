//! PyTorch's `nn`, with every layer's shape checked by the compiler.
//!
//! Declare a network in one line; get a plain struct with forward and backward passes
//! over `matrixmultiply` kernels. A size that does not fit is a compile error at the
//! layer that is wrong:
//!
//! ```
//! nn::network! { pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
//!
//! let net = Mnist::new(0); // on the heap, PyTorch's initialisation, seed 0
//! let logits: [f32; 10] = net.forward(&[0.5; 784]);
//! assert_eq!(Mnist::PARAMS, 784 * 128 + 128 + 2 * 128 + 128 * 10 + 10);
//! assert!(logits.iter().all(|v| v.is_finite()));
//! ```
//!
//! What a declared network offers (`new`, `forward`, `forward_batch`, `predict`,
//! `forward_train`, `backward`, `save`, `load`, `summary`, `WEIGHTS`, the constants) is
//! shown on real generated types in [`example_generated`], which exists in the
//! documentation only.
//!
//! Networks nest: any `network!` struct is a layer of another, and `Residual<...>`,
//! `Sequential<...>` and generic sizes (`struct Mlp<const H: usize> { ... }`) work as in
//! PyTorch; see [`network!`].
//!
//! # Features
//!
//! - No default features: the crate is `#![no_std]` and offers one-sample inference with
//!   no heap, the path of a microcontroller.
//! - `alloc`: batches, training, losses and optimizers.
//! - `std` (default): files ([`io`], [`data`]).
//! - `threading`: large matrix products split over two threads of a rayon pool inside
//!   [`gemm::parallel`]: wrap a training step or a batch in it. `RAYON_NUM_THREADS=1` turns
//!   it off. What it gains (and where it costs) is in the README's performance section.
//!
//! ```
//! # nn::network! { struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
//! let net = Mnist::new(0);
//! let mut tape = nn::Tape::new();
//! let batch = vec![[0.5; 784]; 256];
//! // Products inside run on two threads with `threading`, on one without it.
//! let logits = nn::gemm::parallel(|| net.forward_batch(&batch, &mut tape).to_vec());
//! assert_eq!(logits.len(), 256);
//! ```
#![no_std]

extern crate self as nn;

pub use nn_core::*;
pub use nn_macros::network;
// The derive, beside the trait of the same name that `nn_core::*` brings (as serde's).
pub use nn_macros::Parameters;

/// The README's Rust blocks, compiled as doc tests; fragments of a larger program are marked
/// `ignore` there.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

// The documentation's example networks have `save` and `load`, which name `std` types.
#[cfg(all(doc, feature = "std"))]
extern crate std;

#[cfg(doc)]
pub mod example_generated {
    //! Networks declared with [`network!`](crate::network), as the macro generates them:
    //! this module exists in the documentation only, to show what a declared network
    //! offers. Each type's page lists its methods and constants; `Mnist` is the
    //! simplest, `AutoEncoder` holds networks, `Mlp` is generic over a size. A network
    //! declared with `#[weights("file.safetensors")]` also has the constant `WEIGHTS`,
    //! its weights baked in (see [`network!`](crate::network)).
    //!
    //! ```
    //! nn::network! { pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>> }
    //! nn::network! { pub struct Encoder<Linear<64, 32>, ReLU, Linear<32, 8>> }
    //! nn::network! { pub struct Decoder<Linear<8, 32>, Tanh, Linear<32, 64>> }
    //! nn::network! { pub struct AutoEncoder { enc: Encoder, dec: Decoder } }
    //! nn::network! { pub struct Mlp<const H: usize> { fc1: Linear<20, H>, act: ReLU, fc2: Linear<H, 4> } }
    //! ```

    crate::network! {
        /// The MNIST classifier, `784 → 128 → ReLU → BatchNorm → 10`: a tuple struct whose
        /// fields are named `0`, `1`, ... in its state dict, as PyTorch's `nn.Sequential`.
        pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
    }

    crate::network! {
        /// A network used as a layer of [`AutoEncoder`].
        pub struct Encoder<Linear<64, 32>, ReLU, Linear<32, 8>>
    }

    crate::network! {
        /// The other half of [`AutoEncoder`].
        pub struct Decoder<Linear<8, 32>, Tanh, Linear<32, 64>>
    }

    crate::network! {
        /// Two networks in one: its state dict holds `enc.0.weight` ... `dec.2.bias`.
        pub struct AutoEncoder { enc: Encoder, dec: Decoder }
    }

    crate::network! {
        /// A network generic over its hidden width: `Mlp::<32>::new(0)`.
        pub struct Mlp<const H: usize> { fc1: Linear<20, H>, act: ReLU, fc2: Linear<H, 4> }
    }
}
