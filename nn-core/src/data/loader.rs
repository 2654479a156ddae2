//! Data sets in memory and the seeded minibatch loader.

use std::vec::Vec;

use super::DataError;
use crate::Rng;

/// Inputs of `D` features paired with targets of type `T` (class indices, regression
/// values): never empty, one target per input.
///
/// ```
/// use nn_core::data::{Dataset, DataError};
/// let set = Dataset::new(vec![[0.0; 3], [1.0; 3], [2.0; 3]], vec![0usize, 1, 2])?;
/// let (train, test) = set.split(2)?;
/// assert_eq!((train.targets(), test.targets()), (&[0, 1][..], &[2][..]));
/// assert!(matches!(Dataset::<3, usize>::new(vec![], vec![]), Err(DataError::EmptyDataset)));
/// # Ok::<(), DataError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<const D: usize, T> {
    inputs: Vec<[f32; D]>,
    targets: Vec<T>,
}

impl<const D: usize, T> Dataset<D, T> {
    /// Pairs `inputs[i]` with `targets[i]`. Fails when they differ in length or are
    /// empty.
    pub fn new(inputs: Vec<[f32; D]>, targets: Vec<T>) -> Result<Self, DataError> {
        if inputs.len() != targets.len() {
            return Err(DataError::LengthMismatch {
                inputs: inputs.len(),
                targets: targets.len(),
            });
        }
        if inputs.is_empty() {
            return Err(DataError::EmptyDataset);
        }
        Ok(Dataset { inputs, targets })
    }

    /// Samples in the set (at least 1).
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Always `false`: a data set has at least one sample.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The inputs, in the set's current order.
    pub fn inputs(&self) -> &[[f32; D]] {
        &self.inputs
    }

    /// The targets, in the same order as [`Dataset::inputs`].
    pub fn targets(&self) -> &[T] {
        &self.targets
    }

    /// The inputs and targets.
    pub fn into_parts(self) -> (Vec<[f32; D]>, Vec<T>) {
        (self.inputs, self.targets)
    }

    /// The first `at` samples and the rest. Fails when either part would be empty.
    pub fn split(mut self, at: usize) -> Result<(Self, Self), DataError> {
        if at == 0 || at >= self.len() {
            return Err(DataError::EmptyDataset);
        }
        let inputs = self.inputs.split_off(at);
        let targets = self.targets.split_off(at);
        Ok((self, Dataset { inputs, targets }))
    }

    /// Permutes the samples in place, inputs and targets alike, drawing from `rng`.
    pub fn shuffle(&mut self, rng: &mut Rng) {
        // `Rng::shuffle` makes the same swaps for two slices of the same length from the
        // same generator state, so a copy of the generator shuffles the targets exactly
        // as the original then shuffles the inputs: one permutation, and no index vector.
        rng.clone().shuffle(&mut self.targets);
        rng.shuffle(&mut self.inputs);
    }

    /// Minibatches of `size` samples in the set's current order, the last one smaller
    /// when `size` does not divide the set.
    ///
    /// # Panics
    /// When `size` is 0, as [`slice::chunks`] does.
    ///
    /// ```
    /// let set = nn_core::data::Dataset::new(vec![[0.0f32; 1]; 5], vec![0u8; 5])?;
    /// let sizes: Vec<usize> = set.batches(2).map(|(x, _)| x.len()).collect();
    /// assert_eq!(sizes, [2, 2, 1]);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn batches(&self, size: usize) -> Batches<'_, D, T> {
        assert!(size > 0, "Dataset::batches: the batch size is 0");
        Batches {
            inputs: &self.inputs,
            targets: &self.targets,
            size,
            left: self.len().div_ceil(size),
        }
    }
}

/// An iterator over minibatches `(inputs, targets)`, made by [`Dataset::batches`] and
/// [`DataLoader::epoch`]. Each batch borrows the data set: nothing is copied.
#[derive(Clone, Debug)]
pub struct Batches<'a, const D: usize, T> {
    inputs: &'a [[f32; D]],
    targets: &'a [T],
    size: usize,
    /// Batches still to yield.
    left: usize,
}

impl<'a, const D: usize, T> Iterator for Batches<'a, D, T> {
    type Item = (&'a [[f32; D]], &'a [T]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = self.size.min(self.inputs.len());
        let (x, rest_x) = self.inputs.split_at(n);
        let (y, rest_y) = self.targets.split_at(n);
        (self.inputs, self.targets) = (rest_x, rest_y);
        Some((x, y))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<const D: usize, T> ExactSizeIterator for Batches<'_, D, T> {}

/// PyTorch's `DataLoader(dataset, batch_size, shuffle=True)` with a seeded generator:
/// every epoch permutes the data set in place and yields its minibatches as slices.
/// The same seed gives the same order, epoch after epoch, on every platform.
///
/// ```
/// use nn_core::data::{DataLoader, Dataset};
/// let set = Dataset::new((0..7).map(|i| [i as f32]).collect(), (0..7).collect::<Vec<u32>>())?;
/// let mut loader = DataLoader::new(set, 3, 42)?;
/// let mut seen = Vec::new();
/// for (x, y) in loader.epoch() {
///     for (x, &y) in x.iter().zip(y) {
///         assert_eq!(x[0], y as f32); // inputs stay paired with their targets
///         seen.push(y);
///     }
/// }
/// seen.sort();
/// assert_eq!(seen, [0, 1, 2, 3, 4, 5, 6]);
/// # Ok::<(), nn_core::data::DataError>(())
/// ```
#[derive(Clone, Debug)]
pub struct DataLoader<const D: usize, T> {
    data: Dataset<D, T>,
    batch_size: usize,
    drop_last: bool,
    rng: Rng,
}

impl<const D: usize, T> DataLoader<D, T> {
    /// Batches of `batch_size` from `data`, shuffled every epoch by a generator seeded
    /// with `seed`. Fails when `batch_size` is 0.
    pub fn new(data: Dataset<D, T>, batch_size: usize, seed: u64) -> Result<Self, DataError> {
        if batch_size == 0 {
            return Err(DataError::ZeroBatchSize);
        }
        Ok(DataLoader {
            data,
            batch_size,
            drop_last: false,
            rng: Rng::seed(seed),
        })
    }

    /// Whether to leave out the last batch of an epoch when it is smaller than the batch
    /// size (PyTorch's `drop_last`; batch norm cannot train on a batch of one).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Samples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.data.len() / self.batch_size
        } else {
            self.data.len().div_ceil(self.batch_size)
        }
    }

    /// The data set, in the order of the last epoch.
    pub fn dataset(&self) -> &Dataset<D, T> {
        &self.data
    }

    /// The data set back.
    pub fn into_dataset(self) -> Dataset<D, T> {
        self.data
    }

    /// Starts an epoch: shuffles the data set, then yields its minibatches.
    pub fn epoch(&mut self) -> Batches<'_, D, T> {
        self.data.shuffle(&mut self.rng);
        let left = self.batches_per_epoch();
        Batches {
            left,
            ..self.data.batches(self.batch_size)
        }
    }
}
