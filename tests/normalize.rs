//! `Normalize`, torchvision's `transforms.Normalize`, on data sets: per channel for images
//! (`[channels, height, width]` rows), per feature for flat data, and its statistics.

#[macro_use]
mod common;

use nn::data::{Dataset, Normalize};
use nn::Rng;

/// Two samples of two channels of three values: channel 0 holds 1..6 split over both
/// samples ({1, 2, 3} and {4, 5, 6}: mean 3.5, population variance 35/12), channel 1
/// holds 10 and 20, three of each (mean 15, standard deviation 5).
fn two_channels() -> Dataset<6, usize> {
    let inputs = vec![
        [1.0, 2.0, 3.0, 10.0, 10.0, 10.0],
        [4.0, 5.0, 6.0, 20.0, 20.0, 20.0],
    ];
    Dataset::new(inputs, vec![0, 1]).unwrap()
}

#[test]
fn fit_computes_each_channel_over_samples_and_values() {
    let norm = Normalize::<2>::fit(&two_channels()).unwrap();
    assert_eq!(norm.mean, [3.5, 15.0]);
    assert_eq!(norm.std, [(35.0f64 / 12.0).sqrt() as f32, 5.0]);
}

#[test]
fn normalize_subtracts_and_divides_per_channel() {
    let mut set = two_channels();
    set.normalize(&Normalize::new([3.5, 15.0], [0.5, 5.0]));
    assert_eq!(
        set.inputs(),
        [
            [-5.0, -3.0, -1.0, -1.0, -1.0, -1.0],
            [1.0, 3.0, 5.0, 1.0, 1.0, 1.0]
        ]
    );
}

#[test]
fn flat_data_is_normalised_per_feature() {
    let mut set =
        Dataset::new(vec![[0.0, 100.0, -1.0], [2.0, 300.0, 1.0]], vec![0.0f32; 2]).unwrap();
    let norm = Normalize::<3>::fit(&set).unwrap();
    assert_eq!(
        (norm.mean, norm.std),
        ([1.0, 200.0, 0.0], [1.0, 100.0, 1.0])
    );
    set.normalize(&norm);
    assert_eq!(set.inputs(), [[-1.0; 3], [1.0; 3]]);
}

#[test]
fn mnist_normalisation_matches_torchvision_on_a_pixel() {
    let mut x = [0.0f32; 784];
    x[5] = 1.0;
    Normalize::new([0.1307], [0.3081]).apply(&mut x);
    // torchvision: (1 - 0.1307) / 0.3081 = 2.8215, and -0.1307 / 0.3081 = -0.4242 elsewhere.
    assert_close!(
        [x[5], x[0]],
        [2.821_486_7, -0.424_212_96],
        rel = 1e-6,
        abs = 0.0,
        "pixels"
    );
}

/// A tiny MNIST-like set (one channel of 28 × 28, pixels in [0, 1], mostly dark as
/// MNIST's), normalised with its own statistics, has mean 0 and standard deviation 1. The
/// statistics are exact up to float32 rounding of each normalised value (about 6e-8 of its
/// magnitude, at most 1 / std ≈ 3 here) summed in double precision: 1e-5 is far above that
/// and far below any formula error.
#[test]
fn an_image_set_normalised_with_its_statistics_has_mean_zero_and_std_one() {
    let mut rng = Rng::seed(3);
    let images: Vec<[f32; 784]> = (0..16)
        .map(|_| {
            let mut x = [0.0; 784];
            for v in &mut x {
                if rng.below(5) == 0 {
                    *v = rng.uniform(0.0, 1.0);
                }
            }
            x
        })
        .collect();
    let mut set = Dataset::new(images, vec![0usize; 16]).unwrap();
    let norm = Normalize::<1>::fit(&set).unwrap();
    assert!(norm.mean[0] > 0.05 && norm.mean[0] < 0.15, "{norm:?}");
    set.normalize(&norm);
    let after = Normalize::<1>::fit(&set).unwrap();
    assert_close!(after.mean, [0.0], rel = 0.0, abs = 1e-5, "mean");
    assert_close!(after.std, [1.0], rel = 1e-5, abs = 0.0, "std");
}

#[test]
fn a_constant_channel_cannot_be_fitted() {
    let set = Dataset::new(vec![[1.0, 5.0], [3.0, 5.0]], vec![0usize; 2]).unwrap();
    let stats = Normalize::<2>::fit(&set).unwrap_err();
    assert_eq!(stats.std, [1.0, 0.0]);
}

#[test]
#[should_panic(
    expected = "Normalize: channel 1's standard deviation is 0; it must be positive and finite"
)]
fn a_zero_std_is_refused() {
    Normalize::new([0.0, 0.0], [1.0, 0.0]);
}
