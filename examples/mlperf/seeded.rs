//! MLPerf Tiny's models with weights drawn from a seed, for runs without trained weights (the
//! Cortex-M4F build bakes them from the same seed, `examples/embedded/build.rs`, and the host
//! compares): each weight of two or more dimensions (a convolution's, a `Linear`'s) drawn
//! He-normal, `N(0, 2 / fan_in)`, as the reference's Keras models draw their kernels
//! (`kernel_initializer='he_normal'`), each other bias zero (Keras' default), the batch norms
//! as built (weight 1, bias 0, mean 0, variance 1). Unlike PyTorch's default, which shrinks a
//! signal about sixfold in variance at each layer, this keeps a deep ReLU network's
//! activations near unit variance, so that its outputs depend on its input.

use nn::{Network, Rng};

/// Draws `net`'s weights from `seed` as described above.
pub fn he_normal<N: Network>(net: &mut N, seed: u64) {
    let mut shapes = Vec::new();
    net.named_params(&mut |_, name, shape, _| {
        shapes.push((name.ends_with("bias"), shape.to_vec()))
    });
    let mut rng = Rng::seed(seed);
    let mut k = 0;
    net.walk_params_mut(&mut |p| {
        let (bias, shape) = &shapes[k];
        k += 1;
        assert_eq!(
            p.len(),
            shape.iter().product::<usize>(),
            "parameters walked in order"
        );
        if shape.len() >= 2 {
            let fan_in: usize = shape[1..].iter().product();
            let std = (2.0 / fan_in as f32).sqrt();
            p.iter_mut().for_each(|v| *v = rng.normal(0.0, std));
        } else if *bias {
            p.fill(0.0);
        }
    });
    assert_eq!(k, shapes.len(), "every parameter drawn");
}

/// The seeds of the three models drawn so.
pub const RESNET8_SEED: u64 = 8;
/// MobileNetV1's.
pub const MOBILENET_SEED: u64 = 96;
/// The autoencoder's.
pub const AUTOENCODER_SEED: u64 = 640;

/// Value `j` of input `k`, in `[-1, 1)`, the same on every machine (integer arithmetic, one
/// division by a power of two); the Cortex-M4F program computes it the same way.
pub fn input_value(j: usize, k: usize) -> f32 {
    ((j * 7919 + k * 104_729) % 2048) as f32 / 1024.0 - 1.0
}

/// Input `k` of `n` values ([`input_value`]).
pub fn input(n: usize, k: usize) -> Vec<f32> {
    (0..n).map(|j| input_value(j, k)).collect()
}
