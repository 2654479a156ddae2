//! One layer against a case of a PyTorch fixture written by `tools/make_image_fixtures.py`
//! or a script that shares its format (`tools/make_conv_transpose_fixture.py`): `describe`,
//! the parameters by name, shape and order, the training, batched and one-sample outputs, the
//! input gradient, the parameter gradients, and a batch norm's buffers. The tolerances and
//! their floors are explained in `tests/parity_image.rs`.

use std::fmt;

use nn::{Backward, BufferMut, Layer};
use serde_json::Value;

use super::fixture::{named, shaped, tensor};
use super::max_abs;

/// The relative tolerance of every check.
pub const REL: f32 = 1e-5;

/// `REL × max|want|` when `on`, else 0.
pub fn floor(on: bool, want: &[f32]) -> f32 {
    if on {
        REL * max_abs(want)
    } else {
        0.0
    }
}

/// Writes `L` as [`Layer::describe`] does.
struct Describe<L>(std::marker::PhantomData<L>);
impl<L: Layer> fmt::Display for Describe<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        L::describe(f)
    }
}

/// Where a case's comparisons need an absolute floor of `REL × max|want|`.
#[derive(Clone, Copy, Default)]
pub struct Floors {
    pub output: bool,
    pub input_grad: bool,
    pub param_grads: bool,
}

/// The input `[batch, C, H, W]` of a case, with its batch.
fn input(case: &Value) -> (Vec<f32>, usize) {
    let (shape, x) = tensor(&case["input"]);
    (x, shape[0])
}

/// Checks layer `L` against the fixture case `name`: `describe`, the training pass's output,
/// the inference passes (the same numbers, except for batch norm, whose eval output is checked
/// against PyTorch's after the training pass), the input gradient, the parameter gradients
/// and batch norm's buffers.
pub fn check<L: Layer + Clone>(fx: &Value, name: &str, floors: Floors) {
    let case = named(&fx["cases"], name);
    assert_eq!(
        Describe::<L>(Default::default()).to_string(),
        case["network"].as_str().unwrap(),
        "{name}: `describe` and the fixture's spelling"
    );
    let mut layer = L::zeroed();
    layer.init(&mut nn::Rng::seed(0));
    let mut expected_params = Vec::new();
    layer.visit_params(&mut |pname, shape, _| expected_params.push((pname, shape.to_vec())));
    let mut i = 0;
    layer.visit_params_mut(&mut |pname, p| {
        let (want_name, shape) = &expected_params[i];
        assert_eq!(pname, *want_name);
        let want = &case["params"][i];
        assert_eq!(
            pname,
            want["name"].as_str().unwrap(),
            "{name}: parameter order"
        );
        p.copy_from_slice(&shaped(want, shape));
        i += 1;
    });
    assert_eq!(i, expected_params.len(), "{name}: parameters");
    let pytorch = case
        .get("params")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(
        i, pytorch,
        "{name}: as many parameters as PyTorch's named_parameters()"
    );
    if let Some(buffers) = case.get("buffers") {
        layer.visit_buffers_mut(&mut |bname, b| {
            if let BufferMut::F32(b) = b {
                b.copy_from_slice(&shaped(named(buffers, bname), &[b.len()]));
            }
        });
    }

    let (x, batch) = input(case);
    let c = tensor(&case["upstream"]).1;
    let want_y = tensor(&case["output"]).1;
    assert_eq!(want_y.len(), batch * L::OUT, "{name}: output size");
    let mut y = vec![f32::NAN; batch * L::OUT];
    let mut cache = vec![0.0; L::cache_len(batch)];
    let mut trained = layer.clone();
    trained
        .forward_train(&x, &mut y, batch, &mut cache)
        .unwrap();
    let abs = floor(floors.output, &want_y);
    assert_close!(y, want_y, rel = REL, abs = abs, "{name}: output");

    // Inference: batch norm with the running statistics the training pass left, the others
    // as in training.
    let (eval_from, want_eval) = match case.get("eval_output") {
        Some(e) => (&trained, tensor(e).1),
        None => (&layer, want_y.clone()),
    };
    let abs = floor(floors.output, &want_eval);
    let mut batched = vec![f32::NAN; batch * L::OUT];
    eval_from.forward_batch(&x, &mut batched, batch, &mut []);
    assert_close!(
        batched,
        want_eval,
        rel = REL,
        abs = abs,
        "{name}: batch inference"
    );
    let mut single = vec![f32::NAN; batch * L::OUT];
    for (x, y) in x.chunks(L::IN).zip(single.chunks_mut(L::OUT)) {
        eval_from.forward(x, y);
    }
    assert_close!(
        single,
        want_eval,
        rel = REL,
        abs = abs,
        "{name}: one-sample inference"
    );

    if let Some(after) = case.get("buffers_after") {
        trained.visit_buffers_mut(&mut |bname, b| match b {
            BufferMut::F32(b) => {
                let want = shaped(named(after, bname), &[b.len()]);
                // The running mean moves by a batch mean, a sum of both signs: floor. The
                // running variance is a sum of positive terms: relative alone.
                let abs = floor(bname == "running_mean", &want);
                assert_close!(b, want, rel = REL, abs = abs, "{name}: {bname}");
            }
            BufferMut::Count(n) => {
                assert_eq!(
                    *n,
                    named(after, bname)["count"].as_u64().unwrap(),
                    "{name}: {bname}"
                )
            }
        });
    }

    let mut grad = vec![0.0; L::PARAMS];
    let mut dx = vec![f32::NAN; batch * L::IN];
    let io = Backward {
        x: &x,
        y: &y,
        dy: &c,
        batch,
        cache: &mut cache,
    };
    trained.backward(io, Some(&mut dx), &mut grad);
    let want_dx = tensor(&case["input_grad"]).1;
    let abs = floor(floors.input_grad, &want_dx);
    assert_close!(dx, want_dx, rel = REL, abs = abs, "{name}: input gradient");
    let mut at = 0;
    for (pname, shape) in &expected_params {
        let want = shaped(named(&case["param_grads"], pname), shape);
        let got = &grad[at..at + want.len()];
        let abs = floor(floors.param_grads, &want);
        assert_close!(got, want, rel = REL, abs = abs, "{name}: {pname} gradient");
        at += want.len();
    }
    assert_eq!(at, L::PARAMS);
}
