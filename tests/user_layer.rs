//! A layer of the user's written with `#[derive(nn::Parameters)]` and `nn::parameters!()`:
//! no visitors and no `unsafe` by hand, yet in a network it trains, saves and loads as a
//! built-in layer does, under PyTorch's names.

mod common;
use common::scratch::scratch;

use nn::loss::MseLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Backward, Buffer, Gradients, Layer, Network, Parameters, Rng, Tape, TrainError};

/// Multiplies each feature by a learned weight; counts its training passes and keeps the
/// mean of its inputs' magnitudes, as buffers.
#[derive(Clone, Copy, Parameters)]
struct Scale<const N: usize> {
    #[param]
    weight: [f32; N],
    #[buffer]
    running: [f32; N],
    #[buffer]
    steps: u64,
}

impl<const N: usize> Layer for Scale<N> {
    const IN: usize = N;
    const OUT: usize = N;
    nn::parameters!();

    fn describe(f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scale<{N}>")
    }

    fn init(&mut self, _: &mut Rng) {
        self.weight = [1.0; N];
        self.running = [0.0; N];
        self.steps = 0;
    }

    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for ((y, x), w) in y.iter_mut().zip(x).zip(&self.weight) {
            *y = x * w;
        }
    }

    fn forward_train(
        &mut self,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        cache: &mut [f32],
    ) -> Result<(), TrainError> {
        self.forward_batch(x, y, batch, cache);
        for row in x.chunks_exact(N).take(batch) {
            for (r, v) in self.running.iter_mut().zip(row) {
                *r = 0.9 * *r + 0.1 * v.abs();
            }
        }
        self.steps += 1;
        Ok(())
    }

    fn backward(&self, io: Backward<'_>, dx: Option<&mut [f32]>, grad: &mut [f32]) {
        for (x, dy) in io.x.chunks_exact(N).zip(io.dy.chunks_exact(N)) {
            for j in 0..N {
                grad[j] += dy[j] * x[j];
            }
        }
        if let Some(dx) = dx {
            for (dx, dy) in dx.chunks_exact_mut(N).zip(io.dy.chunks_exact(N)) {
                for j in 0..N {
                    dx[j] = dy[j] * self.weight[j];
                }
            }
        }
    }
}

nn::network! { struct Net { fc: Linear<2, 3>, scale: Scale<3>, out: Linear<3, 1> } }

fn data() -> (Vec<[f32; 2]>, Vec<[f32; 1]>) {
    let mut rng = Rng::seed(5);
    let x: Vec<[f32; 2]> = (0..16)
        .map(|_| [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)])
        .collect();
    let y = x.iter().map(|[a, b]| [2.0 * a - b]).collect();
    (x, y)
}

fn scale_weight(net: &Net) -> Vec<f32> {
    let mut out = Vec::new();
    net.named_params(&mut |module, name, _, values| {
        if module.is_key(name, "scale.weight") {
            out.extend_from_slice(values);
        }
    });
    out
}

#[test]
fn params_is_the_count_the_network_checks() {
    assert_eq!(<Scale<3> as Parameters>::PARAM_COUNT, 3);
    assert_eq!(
        <Scale<3> as Layer>::PARAMS,
        <Scale<3> as Parameters>::PARAM_COUNT
    );
    assert_eq!(Net::PARAMS, (2 * 3 + 3) + 3 + (3 + 1));
    // Initialising checks that each layer's visitors visit its `PARAMS` values.
    let net = Net::new(0);
    assert_eq!(scale_weight(&net), [1.0; 3]);
}

#[test]
fn the_gradient_reaches_the_derived_parameter_through_the_optimizer() {
    let (x, y) = data();
    let mut net = Net::new(0);
    let (mut tape, mut grads) = (Tape::new(), Gradients::new());
    let lr = 0.05;
    let mut opt = Sgd::new(lr);

    net.forward_train(&x, &mut tape).unwrap();
    let first = tape.loss(&MseLoss, &y[..]);
    net.backward(&x, &mut tape, &mut grads);
    let grad = grads.get(&net, "scale.weight").unwrap().to_vec();
    assert!(grad.iter().any(|g| g.abs() > 1e-4), "{grad:?}");
    let before = scale_weight(&net);
    opt.step(&mut *net, &grads);
    let after = scale_weight(&net);
    for ((a, b), g) in after.iter().zip(&before).zip(&grad) {
        assert!(
            (a - (b - lr * g)).abs() <= 1e-6,
            "{after:?} {before:?} {grad:?}"
        );
    }

    let mut last = first;
    for _ in 0..200 {
        grads.zero();
        net.forward_train(&x, &mut tape).unwrap();
        last = tape.loss(&MseLoss, &y[..]);
        net.backward(&x, &mut tape, &mut grads);
        opt.step(&mut *net, &grads);
    }
    assert!(last < first / 10.0, "loss {first} -> {last}");
}

#[test]
fn params_and_buffers_save_and_load_under_pytorch_names() {
    let (x, _) = data();
    let mut net = Net::new(0);
    for _ in 0..3 {
        net.forward_train(&x, &mut Tape::new()).unwrap();
    }
    let mut keys = Vec::new();
    net.named_state(&mut |module, name, shape, value| {
        keys.push((format!("{module}.{name}"), shape.to_vec()));
        if let Buffer::Count(n) = value {
            assert_eq!(n, 3);
        }
    });
    let keys: Vec<(&str, &[usize])> = keys.iter().map(|(k, s)| (k.as_str(), &s[..])).collect();
    assert_eq!(
        keys,
        [
            ("fc.weight", &[3, 2][..]),
            ("fc.bias", &[3]),
            ("scale.weight", &[3]),
            ("scale.running", &[3]),
            ("scale.steps", &[]),
            ("out.weight", &[1, 3]),
            ("out.bias", &[1]),
        ]
    );

    let dir = scratch("params_and_buffers_save_and_load_under_pytorch_names");
    let path = dir.join("net.safetensors");
    net.save(&path).unwrap();
    let mut other = Net::new(1);
    other.load(&path).unwrap();
    let state = |net: &Net| {
        let mut out = Vec::new();
        net.named_state(&mut |_, _, _, v| out.push(format!("{v:?}")));
        out
    };
    assert_eq!(state(&other), state(&net));
    assert_eq!(other.scale.steps, 3);
    assert_eq!(other.forward(&x[0]), net.forward(&x[0]));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `[[f32; I]; O]` is one parameter of shape `[O, I]`, its values in memory order.
#[test]
fn nested_arrays_are_one_tensor_in_pytorch_layout() {
    #[derive(Parameters)]
    struct Mix<const I: usize, const O: usize> {
        #[param]
        weight: [[f32; I]; O],
        #[param]
        cube: [[[f32; 2]; 3]; 4],
    }
    assert_eq!(<Mix<3, 2> as Parameters>::PARAM_COUNT, 3 * 2 + 2 * 3 * 4);
    let mut mix = Mix::<3, 2> {
        weight: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
        cube: [[[0.0; 2]; 3]; 4],
    };
    let mut seen = Vec::new();
    mix.param_fields(&mut |name, shape, values| {
        seen.push((name, shape.to_vec(), values.len()));
        if name == "weight" {
            assert_eq!(values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        }
    });
    assert_eq!(
        seen,
        [("weight", vec![2, 3], 6), ("cube", vec![4, 3, 2], 24)]
    );
    mix.param_fields_mut(&mut |name, values| {
        if name == "weight" {
            values[4] = -5.0;
        }
    });
    assert_eq!(mix.weight[1][1], -5.0);
    // The derive implements `Zeroable` too.
    let zero: Mix<3, 2> = nn::Zeroable::zeroed();
    assert_eq!(zero.weight, [[0.0; 3]; 2]);
}
