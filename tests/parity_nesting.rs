//! Networks inside networks against PyTorch (`tools/make_nesting_fixtures.py`, committed
//! fixtures): the strict load of PyTorch's nested state dict, the training-mode output, the
//! loss, every parameter gradient and the input gradient, SGD-with-momentum steps, and the
//! eval-mode output of the trained model.
//!
//! Tolerance: `|a - b| <= REL·|b| + REL·max|b|` over each tensor, as the script certifies
//! PyTorch's own float32 result against float64 (within half of it): every quantity is a sum
//! of products that can cancel, so each tensor needs the floor.

mod common;
use common::fixture::{fixture, named, path, values};

use nn::loss::MseLoss;
use nn::optim::{Optimizer, Sgd};
use nn::{Gradients, Network, Tape};

const REL: f32 = 1e-5;

nn::network! { struct Encoder<Linear<6, 5>, ReLU, Linear<5, 3>> }
nn::network! { struct Decoder<Linear<3, 5>, Tanh, Linear<5, 6>> }
nn::network! { struct AutoEncoder { enc: Encoder, dec: Decoder } }

nn::network! { struct Block { fc1: Linear<5, 5>, act: ReLU, fc2: Linear<5, 5> } }
nn::network! {
    struct ResNet {
        stem: Linear<4, 5>, ReLU, norm: BatchNorm<5>,
        res1: Residual<Block>, res2: Residual<Block>,
        res: Residual<Linear<5, 5>, Tanh, Residual<Linear<5, 5>>>,
        head: Linear<5, 2>,
    }
}

nn::network! { struct Inner { a: Linear<4, 4>, b: Sigmoid } }
nn::network! { struct Body<Inner, ReLU, Inner> }
nn::network! { struct Outer { body: Body, out: Linear<4, 2> } }

nn::network! {
    struct Quickstart {
        linear_relu_stack: Sequential<Linear<12, 16>, ReLU, Linear<16, 16>, ReLU, Linear<16, 3>>,
    }
}

fn close(got: &[f32], want: &[f32], what: &str) {
    let floor = REL * common::max_abs(want);
    assert_close!(got, want, rel = REL, abs = floor, "{what}");
}

fn check<N: Network>(name: &str) {
    let fx = fixture("nesting.json");
    let case = named(&fx["cases"], name);
    let mut net = Box::new(N::zeroed());
    let file = path(&format!("nesting_{name}.safetensors"));
    // Strict: every key of PyTorch's nested state dict, and no other.
    nn::io::load(&mut *net, &file).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut keys = Vec::new();
    net.named_state(&mut |module, tensor, _, _| keys.push(format!("{module}.{tensor}")));
    let want_keys: Vec<&str> = case["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, want_keys, "{name}: state-dict keys and order");

    let x = values(&case["input"]);
    let t = values(&case["target"]);
    let mut tape = Tape::<N>::new();
    tape.track_input_grad(true);
    let mut grads = Gradients::<N>::new();
    let y = tape.forward(&mut net, &x).unwrap().to_vec();
    close(&y, &values(&case["output"]), &format!("{name}: output"));
    let loss = tape.loss(&MseLoss, &t[..]);
    let want_loss = case["loss"].as_f64().unwrap() as f32;
    close(&[loss], &[want_loss], &format!("{name}: loss"));
    tape.backward(&net, &x, &mut grads);
    close(
        tape.input_grad(),
        &values(&case["input_grad"]),
        &format!("{name}: input gradient"),
    );
    let param_grads = case["param_grads"].as_array().unwrap();
    assert_eq!(param_grads.len(), keys.len() - count_buffers(&keys));
    for g in param_grads {
        let key = g["name"].as_str().unwrap();
        let got = grads
            .get(&net, key)
            .unwrap_or_else(|| panic!("{name}: no gradient {key}"));
        close(got, &values(g), &format!("{name}: gradient of {key}"));
    }

    let steps = fx["steps"].as_u64().unwrap();
    let lr = fx["lr"].as_f64().unwrap() as f32;
    let momentum = fx["momentum"].as_f64().unwrap() as f32;
    let mut opt = Sgd::new(lr).momentum(momentum);
    opt.step(&mut *net, &grads);
    for _ in 1..steps {
        opt.zero_grad(&mut grads);
        tape.forward(&mut net, &x).unwrap();
        tape.loss(&MseLoss, &t[..]);
        tape.backward(&net, &x, &mut grads);
        opt.step(&mut *net, &grads);
    }
    let mut trained = Vec::new();
    net.named_state(&mut |module, tensor, _, value| {
        if let nn::Buffer::F32(v) = value {
            trained.push((format!("{module}.{tensor}"), v.to_vec()));
        }
    });
    let want_trained = case["trained"].as_array().unwrap();
    assert_eq!(trained.len(), want_trained.len(), "{name}: trained tensors");
    for ((key, got), want) in trained.iter().zip(want_trained) {
        assert_eq!(key, want["name"].as_str().unwrap());
        close(
            got,
            &values(want),
            &format!("{name}: {key} after {steps} steps"),
        );
    }
    let eval = tape.infer(&net, &x).to_vec();
    close(
        &eval,
        &values(&case["eval_output"]),
        &format!("{name}: eval output"),
    );
}

/// BatchNorm's running statistics and counter: state, but not parameters.
fn count_buffers(keys: &[String]) -> usize {
    keys.iter()
        .filter(|k| {
            k.ends_with("running_mean")
                || k.ends_with("running_var")
                || k.ends_with("num_batches_tracked")
        })
        .count()
}

#[test]
fn autoencoder_of_two_sequentials_matches_pytorch() {
    check::<AutoEncoder>("autoencoder");
}

#[test]
fn named_residual_blocks_and_batch_norm_match_pytorch() {
    check::<ResNet>("resnet");
}

#[test]
fn three_levels_of_nesting_match_pytorch() {
    check::<Outer>("three_level");
}

#[test]
fn quickstart_model_matches_pytorch() {
    check::<Quickstart>("quickstart");
}

// The same networks with PyTorch's weights baked in at compile time (`#[weights]`): nested
// networks and inline blocks fill themselves from the file.
nn::network! {
    #[weights("tests/fixtures/nesting_autoencoder.safetensors")]
    struct BakedAutoEncoder { enc: Encoder, dec: Decoder }
}
nn::network! {
    #[weights("tests/fixtures/nesting_resnet.safetensors")]
    struct BakedResNet {
        stem: Linear<4, 5>, ReLU, norm: BatchNorm<5>,
        res1: Residual<Block>, res2: Residual<Block>,
        res: Residual<Linear<5, 5>, Tanh, Residual<Linear<5, 5>>>,
        head: Linear<5, 2>,
    }
}
nn::network! {
    #[weights("tests/fixtures/nesting_three_level.safetensors")]
    struct BakedOuter { body: Body, out: Linear<4, 2> }
}
nn::network! {
    #[weights("tests/fixtures/nesting_quickstart.safetensors")]
    struct BakedQuickstart {
        linear_relu_stack: Sequential<Linear<12, 16>, ReLU, Linear<16, 16>, ReLU, Linear<16, 3>>,
    }
}

/// Every tensor of the baked constant equals what `nn::io::load` reads from the file.
fn baked_equals_loaded<B: Network, L: Network>(baked: &B, name: &str) {
    let mut loaded = Box::new(L::zeroed());
    let file = path(&format!("nesting_{name}.safetensors"));
    nn::io::load(&mut *loaded, &file).unwrap();
    let state = |net: &dyn Fn(&mut nn::StateVisitor<'_>)| {
        let mut out = Vec::new();
        net(&mut |m, t, _, v| out.push((format!("{m}.{t}"), format!("{v:?}"))));
        out
    };
    let a = state(&|f| baked.named_state(f));
    let b = state(&|f| loaded.named_state(f));
    assert_eq!(a, b, "{name}: baked and loaded state dicts");
    let x = values(&named(&fixture("nesting.json")["cases"], name)["input"]);
    let row = &x[..B::IN];
    let (mut yb, mut yl) = (vec![0.0; B::OUT], vec![0.0; L::OUT]);
    baked.forward_slice(row, &mut yb);
    loaded.forward_slice(row, &mut yl);
    assert_eq!(yb, yl, "{name}: one-sample output");
}

#[test]
fn nested_networks_bake_pytorchs_weights() {
    static AE: BakedAutoEncoder = BakedAutoEncoder::WEIGHTS;
    baked_equals_loaded::<_, AutoEncoder>(&AE, "autoencoder");
    baked_equals_loaded::<_, ResNet>(&BakedResNet::WEIGHTS, "resnet");
    baked_equals_loaded::<_, Outer>(&BakedOuter::WEIGHTS, "three_level");
    baked_equals_loaded::<_, Quickstart>(&BakedQuickstart::WEIGHTS, "quickstart");
}
