//! The PyTorch `nn` tutorial's loop on the MNIST network (784-128 ReLU BatchNorm 128-10): declare the module,
//! then `zero_grad`, forward, loss, `backward`, `step` over epochs, printing the loss.
//!
//! ```text
//! cargo run --release --example seed
//! ```
//!
//! As in the tutorial the loss is `MSELoss` (against one-hot targets) and the optimizer
//! plain SGD; the `mnist` example trains the same network with cross-entropy and momentum.
//! Data: the committed MNIST test set, 8,000 images to train on and 2,000 to test.

use std::error::Error;
use std::path::Path;

use nn::data::{DataLoader, Mnist as MnistData};
use nn::loss::MseLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Tape};

nn::network! {
    /// The MNIST network: 784-128 ReLU BatchNorm 128-10.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

fn one_hot(labels: &[usize]) -> Vec<[f32; 10]> {
    labels
        .iter()
        .map(|&l| core::array::from_fn(|k| if k == l { 1.0 } else { 0.0 }))
        .collect()
}

fn main() -> Result<(), Box<dyn Error>> {
    let data =
        MnistData::load_t10k_split(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))?;
    let test = data.test;
    let mut loader = DataLoader::new(data.train, 64, 0)?.drop_last(true);

    let mut model = Mnist::new(0);
    let loss_fn = MseLoss;
    let mut optimizer = Sgd::new(0.5);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();

    for epoch in 1..=5 {
        let mut total = 0.0;
        let mut batches = 0;
        for (x, labels) in &mut loader {
            let y = one_hot(labels);
            optimizer.zero_grad(&mut grads);
            model.forward_train(x, &mut tape)?;
            let loss = tape.loss(&loss_fn, &y[..]);
            model.backward(x, &mut tape, &mut grads);
            optimizer.step(&mut *model, &grads);
            total += loss;
            batches += 1;
        }
        println!("epoch {epoch}: loss {:.5}", total / batches as f32);
    }

    let predictions = model.predict(test.inputs());
    let correct = predictions
        .iter()
        .zip(test.targets())
        .filter(|(p, &t)| {
            p.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|m| m.0)
                == Some(t)
        })
        .count();
    println!(
        "test accuracy: {:.2}% of {}",
        100.0 * correct as f64 / test.len() as f64,
        test.len()
    );
    Ok(())
}
