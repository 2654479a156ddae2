//! Data sets: IDX (MNIST) and CSV readers, and a seeded minibatch loader.
