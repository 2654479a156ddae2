//! Data sets in memory and the seeded minibatch loader.

use std::vec;
use std::vec::Vec;

use std::format;

use super::DataError;
use crate::{Rng, StateDict, StateError};

/// Inputs of `D` features paired with targets of type `T` (class indices, regression
/// values): never empty, one target per input.
///
/// ```
/// use nn::data::{Dataset, DataError};
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

    /// The inputs, to change in place (a transform such as
    /// [`Normalize`](super::Normalize)); the number of samples stays.
    ///
    /// ```
    /// let mut set = nn::data::Dataset::new(vec![[1.0f32, 2.0]], vec![0usize])?;
    /// set.inputs_mut()[0][1] = 4.0;
    /// assert_eq!(set.inputs(), [[1.0, 4.0]]);
    /// # Ok::<(), nn::data::DataError>(())
    /// ```
    pub fn inputs_mut(&mut self) -> &mut [[f32; D]] {
        &mut self.inputs
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
    /// let set = nn::data::Dataset::new(vec![[0.0f32; 1]; 5], vec![0u8; 5])?;
    /// let sizes: Vec<usize> = set.batches(2).map(|(x, _)| x.len()).collect();
    /// assert_eq!(sizes, [2, 2, 1]);
    /// # Ok::<(), nn::data::DataError>(())
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
/// [`DataLoader::batches`]. Each batch borrows the data set: nothing is copied.
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
/// use nn::data::{DataLoader, Dataset};
/// let set = Dataset::new((0..7).map(|i| [i as f32]).collect(), (0..7).collect::<Vec<u32>>())?;
/// let mut loader = DataLoader::new(set, 3, 42)?;
/// let mut seen = Vec::new();
/// for (x, y) in &mut loader {
///     for (x, &y) in x.iter().zip(y) {
///         assert_eq!(x[0], y as f32); // inputs stay paired with their targets
///         seen.push(y);
///     }
/// }
/// seen.sort();
/// assert_eq!(seen, [0, 1, 2, 3, 4, 5, 6]);
/// # Ok::<(), nn::data::DataError>(())
/// ```
///
/// Training resumes from a checkpoint mid-epoch: [`DataLoader::next_batch`] walks the
/// epochs one batch at a time, and [`DataLoader::save_state`] records the order, the
/// generator and the position, so that a loader built again the same way and given
/// [`DataLoader::load_state`] yields the very batches the first one would have (as
/// `torchdata`'s `StatefulDataLoader` does for PyTorch).
#[derive(Clone, Debug)]
pub struct DataLoader<const D: usize, T> {
    data: Dataset<D, T>,
    batch_size: usize,
    drop_last: bool,
    rng: Rng,
    /// `order[k]` is the index, in the data set as given, of the sample now at `k`.
    order: Vec<usize>,
    /// Batches [`DataLoader::next_batch`] has yielded in the epoch under way; `None`
    /// between epochs.
    position: Option<usize>,
    /// Epochs begun.
    epochs: u64,
}

impl<const D: usize, T> DataLoader<D, T> {
    /// Batches of `batch_size` from `data`, shuffled every epoch by a generator seeded
    /// with `seed`. Fails when `batch_size` is 0.
    pub fn new(data: Dataset<D, T>, batch_size: usize, seed: u64) -> Result<Self, DataError> {
        if batch_size == 0 {
            return Err(DataError::ZeroBatchSize);
        }
        Ok(DataLoader {
            order: (0..data.len()).collect(),
            data,
            batch_size,
            drop_last: false,
            rng: Rng::seed(seed),
            position: None,
            epochs: 0,
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

    /// Shuffles for a new epoch: the data set, and the record of its order.
    fn shuffle(&mut self) {
        // The same generator state makes the same swaps (see `Dataset::shuffle`).
        self.rng.clone().shuffle(&mut self.order);
        self.data.shuffle(&mut self.rng);
        self.epochs += 1;
    }

    /// Starts an epoch: shuffles the data set, then yields its minibatches as slices of it
    /// (nothing is copied). An epoch that [`DataLoader::next_batch`] had under way is
    /// abandoned. `for (x, y) in &mut loader` does the same, as PyTorch's `for x, y in
    /// loader` does.
    ///
    /// ```
    /// use nn::data::{DataLoader, Dataset};
    /// let set = Dataset::new(vec![[0.0f32; 2]; 5], vec![0u8; 5])?;
    /// let mut loader = DataLoader::new(set, 2, 0)?;
    /// let sizes: Vec<usize> = loader.batches().map(|(x, _)| x.len()).collect();
    /// assert_eq!(sizes, [2, 2, 1]);
    /// let sizes: Vec<usize> = (&mut loader).into_iter().map(|(x, _)| x.len()).collect();
    /// assert_eq!((sizes, loader.epochs()), (vec![2, 2, 1], 2));
    /// # Ok::<(), nn::data::DataError>(())
    /// ```
    pub fn batches(&mut self) -> Batches<'_, D, T> {
        self.shuffle();
        self.position = None;
        let left = self.batches_per_epoch();
        Batches {
            left,
            ..self.data.batches(self.batch_size)
        }
    }

    /// The next batch of the epoch under way, starting one (and shuffling) when none is;
    /// `None` once at the end of each epoch. The batch is a copy, the loader's own to give
    /// (`batch_size × D` floats and as many targets), so the loader stays free inside the
    /// loop: the epoch and step can be asked, and the state saved, mid-epoch, as a PyTorch
    /// loop does.
    ///
    /// ```
    /// use nn::data::{DataLoader, Dataset};
    /// let set = Dataset::new(vec![[0.0f32; 2]; 5], vec![0u8; 5])?;
    /// let mut loader = DataLoader::new(set, 2, 0)?;
    /// let mut seen = Vec::new();
    /// while let Some((x, y)) = loader.next_batch() {
    ///     let (epoch, step) = (loader.epoch(), loader.step());
    ///     seen.push((epoch, step, x.len(), y.len()));
    /// }
    /// assert_eq!(seen, [(0, 0, 2, 2), (0, 1, 2, 2), (0, 2, 1, 1)]);
    /// assert!(loader.next_batch().is_some()); // the next epoch
    /// assert_eq!((loader.epoch(), loader.step()), (1, 0));
    /// # Ok::<(), nn::data::DataError>(())
    /// ```
    pub fn next_batch(&mut self) -> Option<(Vec<[f32; D]>, Vec<T>)>
    where
        T: Clone,
    {
        let p = match self.position {
            None => {
                self.shuffle();
                0
            }
            Some(p) => p,
        };
        if p >= self.batches_per_epoch() {
            self.position = None;
            return None;
        }
        self.position = Some(p + 1);
        let start = p * self.batch_size;
        let end = (start + self.batch_size).min(self.data.len());
        Some((
            self.data.inputs[start..end].to_vec(),
            self.data.targets[start..end].to_vec(),
        ))
    }

    /// The epoch under way, counted from 0 (the `epoch` of PyTorch's `for epoch in
    /// range(n)`): the one whose batches [`DataLoader::next_batch`] yields; 0 before the
    /// first.
    pub fn epoch(&self) -> u64 {
        self.epochs.saturating_sub(1)
    }

    /// The index in its epoch of the batch [`DataLoader::next_batch`] yielded last,
    /// counted from 0 (the `batch_idx` of PyTorch's `enumerate(loader)`); 0 before the
    /// first batch of an epoch.
    pub fn step(&self) -> usize {
        self.position.map_or(0, |p| p.saturating_sub(1))
    }

    /// Epochs begun so far.
    pub fn epochs(&self) -> u64 {
        self.epochs
    }

    /// Adds the loader's state to `into`: `loader.order` (`int64 [len]`, each sample's
    /// index in the data set as given), `loader.rng` (`int64 [2]`: the seed's bits and the
    /// draws since), `loader.position` (batches yielded in the epoch under way, −1
    /// between epochs), `loader.epochs` and `loader.batch_size`.
    pub fn save_state(&self, into: &mut StateDict) {
        let n = self.order.len();
        let order: Vec<i64> = self.order.iter().map(|&i| i as i64).collect();
        let (seed, draws) = self.rng.position();
        let i64_of = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let tensor = |shape: &[usize], v: Vec<i64>| crate::StateTensor {
            shape: shape.to_vec(),
            value: crate::StateValue::I64(v),
        };
        into.insert("loader.order", tensor(&[n], order));
        // The seed's 64 bits as they are: int64 has no unsigned form.
        into.insert("loader.rng", tensor(&[2], vec![seed as i64, i64_of(draws)]));
        into.insert_i64("loader.position", self.position.map_or(-1, |p| p as i64));
        into.insert_i64("loader.epochs", i64_of(self.epochs));
        into.insert_i64("loader.batch_size", self.batch_size as i64);
    }

    /// Restores what [`DataLoader::save_state`] wrote, into a loader over the same data
    /// set (as given to [`DataLoader::new`]) with the same batch size: the data set takes
    /// the saved order, the generator its saved position, and [`DataLoader::next_batch`]
    /// continues the saved epoch. Every tensor is checked before anything changes.
    pub fn load_state(&mut self, from: &StateDict) -> Result<(), StateError> {
        let n = self.data.len();
        let batch_size = from.count("loader.batch_size")?;
        if batch_size != self.batch_size as u64 {
            let reason = format!("is {batch_size}, but this loader's is {}", self.batch_size);
            return Err(from.invalid("loader.batch_size", reason));
        }
        let order = from.i64s("loader.order", &[n])?;
        let mut seen = vec![false; n];
        for &i in order {
            match usize::try_from(i).ok().filter(|&i| i < n && !seen[i]) {
                Some(i) => seen[i] = true,
                None => {
                    let reason =
                        format!("is not an order of the {n} samples ({i} is out of place)");
                    return Err(from.invalid("loader.order", reason));
                }
            }
        }
        let rng = from.i64s("loader.rng", &[2])?;
        let draws = u64::try_from(rng[1])
            .map_err(|_| from.invalid("loader.rng", "holds a negative number of draws"))?;
        let position = match from.i64("loader.position")? {
            -1 => None,
            p => match usize::try_from(p)
                .ok()
                .filter(|&p| p <= self.batches_per_epoch())
            {
                Some(p) => Some(p),
                None => {
                    let reason = format!(
                        "is {p}, outside an epoch of {} batches",
                        self.batches_per_epoch()
                    );
                    return Err(from.invalid("loader.position", reason));
                }
            },
        };
        let epochs = from.count("loader.epochs")?;
        // Where each sample now is, then the data set rearranged into the saved order.
        let mut now_at = vec![0; n];
        for (k, &i) in self.order.iter().enumerate() {
            now_at[i] = k;
        }
        let from_now: Vec<usize> = order.iter().map(|&i| now_at[i as usize]).collect();
        permute(&mut self.data.inputs, &from_now);
        permute(&mut self.data.targets, &from_now);
        self.order = order.iter().map(|&i| i as usize).collect();
        self.rng = Rng::resume(rng[0] as u64, draws);
        self.position = position;
        self.epochs = epochs;
        Ok(())
    }
}

/// `for (x, y) in &mut loader`: one epoch, as [`DataLoader::batches`].
impl<'a, const D: usize, T> IntoIterator for &'a mut DataLoader<D, T> {
    type Item = (&'a [[f32; D]], &'a [T]);
    type IntoIter = Batches<'a, D, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.batches()
    }
}

/// Rearranges `v` so that its element `k` is the one that was at `from[k]` (`from` a
/// permutation).
fn permute<X>(v: &mut Vec<X>, from: &[usize]) {
    let mut old: Vec<Option<X>> = core::mem::take(v).into_iter().map(Some).collect();
    *v = from.iter().filter_map(|&i| old[i].take()).collect();
}
