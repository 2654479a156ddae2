//! Input normalisation per channel, torchvision's `transforms.Normalize`.

use super::Dataset;

/// torchvision's `transforms.Normalize(mean, std)`: each input value `x` of channel `c`
/// becomes `(x − mean[c]) / std[c]`.
///
/// A sample of `D` values holds `C` channels one after another, each of `D / C` values:
/// PyTorch's `[channels, height, width]` layout for images (MNIST is one channel of
/// 28 × 28, CIFAR three of 32 × 32), and for flat data one channel per feature (`C = D`).
/// That `C` divides `D` is checked when the code compiles.
///
/// ```
/// use nn::data::{Dataset, MnistDataset, Normalize};
/// // PyTorch: transforms.Normalize((0.1307,), (0.3081,)), MNIST's mean and std
/// let mnist = Normalize::new([0.1307], [0.3081]);
/// let mut set: MnistDataset = Dataset::new(vec![[0.0; 784], [1.0; 784]], vec![3, 7])?;
/// set.normalize(&mnist);
/// assert_eq!(set.inputs()[1][0], (1.0 - 0.1307) / 0.3081);
/// # Ok::<(), nn::data::DataError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalize<const C: usize> {
    /// The mean subtracted from each channel.
    pub mean: [f32; C],
    /// The standard deviation each channel is divided by.
    pub std: [f32; C],
}

impl<const C: usize> Normalize<C> {
    /// `Normalize(mean, std)`, one value of each per channel.
    ///
    /// ```
    /// let cifar = nn::data::Normalize::new([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]);
    /// assert_eq!(cifar.std[2], 0.2616);
    /// ```
    ///
    /// # Panics
    /// If a standard deviation is not positive and finite (torchvision raises for 0, which
    /// would divide by zero), or a mean is not finite.
    pub fn new(mean: [f32; C], std: [f32; C]) -> Self {
        for c in 0..C {
            assert!(
                std[c] > 0.0 && std[c].is_finite(),
                "Normalize: channel {c}'s standard deviation is {}; it must be positive and finite",
                std[c]
            );
            assert!(
                mean[c].is_finite(),
                "Normalize: channel {c}'s mean is {}; it must be finite",
                mean[c]
            );
        }
        Normalize { mean, std }
    }

    /// The mean and standard deviation of each channel of `set`'s inputs, over every
    /// sample and every value of the channel, for `Normalize` to map them to 0 and 1: the
    /// figures torchvision users compute once over a training set (MNIST's 0.1307 and
    /// 0.3081). The standard deviation is the population one (divided by the count `n`,
    /// not `n − 1`), so that the normalised set has standard deviation 1 by the same
    /// measure; over a data set's millions of values the two differ by about `1 / 2n`.
    /// Sums are in double precision.
    ///
    /// ```
    /// use nn::data::{Dataset, Normalize};
    /// let set = Dataset::new(vec![[1.0, 10.0], [3.0, 10.0]], vec![0usize, 1])?;
    /// let stats: Normalize<2> = Normalize::fit(&set).unwrap_err(); // feature 1 is constant
    /// assert_eq!((stats.mean, stats.std), ([2.0, 10.0], [1.0, 0.0]));
    /// let set = Dataset::new(vec![[1.0, 10.0], [3.0, 14.0]], vec![0usize, 1])?;
    /// let norm = Normalize::<2>::fit(&set).unwrap();
    /// assert_eq!((norm.mean, norm.std), ([2.0, 12.0], [1.0, 2.0]));
    /// # Ok::<(), nn::data::DataError>(())
    /// ```
    ///
    /// Returns `Err` with the statistics when a channel is constant (standard deviation 0),
    /// which no `Normalize` can scale.
    pub fn fit<const D: usize, T>(set: &Dataset<D, T>) -> Result<Self, Self> {
        let plane = const { plane::<D, C>() };
        let mut sum = [0.0f64; C];
        for x in set.inputs() {
            for (s, channel) in sum.iter_mut().zip(x.chunks_exact(plane)) {
                *s += channel.iter().map(|v| *v as f64).sum::<f64>();
            }
        }
        let n = (set.len() * plane) as f64;
        let mean = sum.map(|s| s / n);
        let mut squares = [0.0f64; C];
        for x in set.inputs() {
            let channels = x.chunks_exact(plane).zip(&mean);
            for (s, (channel, m)) in squares.iter_mut().zip(channels) {
                *s += channel.iter().map(|v| (*v as f64 - m).powi(2)).sum::<f64>();
            }
        }
        let stats = Normalize {
            mean: mean.map(|m| m as f32),
            std: squares.map(|s| (s / n).sqrt() as f32),
        };
        if stats.std.iter().all(|s| *s > 0.0 && s.is_finite()) {
            Ok(stats)
        } else {
            Err(stats)
        }
    }

    /// Normalises one sample in place: `x ← (x − mean) / std`, channel by channel, as
    /// torchvision's `tensor.sub_(mean).div_(std)`.
    ///
    /// ```
    /// let norm = nn::data::Normalize::new([1.0, 0.0], [2.0, 0.5]);
    /// let mut x = [3.0, 5.0, 1.0, -1.0]; // two channels of two values
    /// norm.apply(&mut x);
    /// assert_eq!(x, [1.0, 2.0, 2.0, -2.0]);
    /// ```
    pub fn apply<const D: usize>(&self, x: &mut [f32; D]) {
        let plane = const { plane::<D, C>() };
        for (c, channel) in x.chunks_exact_mut(plane).enumerate() {
            let (m, s) = (self.mean[c], self.std[c]);
            channel.iter_mut().for_each(|v| *v = (*v - m) / s);
        }
    }
}

/// The values of each channel of a `D`-value sample of `C` channels; refuses, when the
/// code compiles, a `C` that does not divide `D`.
const fn plane<const D: usize, const C: usize>() -> usize {
    assert!(C > 0, "Normalize needs at least one channel");
    assert!(
        D.is_multiple_of(C),
        "Normalize: the channels do not divide the sample; a sample of D values holds C channels of D / C values each"
    );
    D / C
}

impl<const D: usize, T> Dataset<D, T> {
    /// Normalises every input in place with `norm`, as a torchvision data set with
    /// `transform=transforms.Normalize(mean, std)` yields its samples.
    ///
    /// ```
    /// use nn::data::{Dataset, Normalize};
    /// let mut set = Dataset::new(vec![[1.0, 10.0], [3.0, 14.0]], vec![0usize, 1])?;
    /// let norm = Normalize::<2>::fit(&set).unwrap(); // per feature: C = D
    /// set.normalize(&norm);
    /// assert_eq!(set.inputs(), [[-1.0, -1.0], [1.0, 1.0]]);
    /// # Ok::<(), nn::data::DataError>(())
    /// ```
    pub fn normalize<const C: usize>(&mut self, norm: &Normalize<C>) {
        self.inputs_mut().iter_mut().for_each(|x| norm.apply(x));
    }
}
