//! The checks of a network whose forward is code against a fixture of
//! `tools/make_graph_fixtures.py`'s format (`graph.json`, `mlperf.json`): the strict load,
//! the state-dict keys, every output, the loss, every gradient, the input's gradient, three
//! optimizer steps and the eval outputs after them.

use nn::optim::{Adam, Optimizer, Sgd};
use nn::{Gradients, Network, Tape};
use serde_json::Value;

use super::fixture::{elements, fixture, path, shape, values};

/// A model of the fixture, and the tolerance it was certified at.
pub struct Model {
    pub v: Value,
    /// The fixture's name, `graph` for `graph.json` and its `graph_<model>.safetensors`.
    pub file: &'static str,
    pub name: &'static str,
    pub tol: f32,
}

impl Model {
    pub fn new(file: &'static str, name: &'static str) -> Self {
        let v = fixture(&format!("{file}.json"))["models"][name].clone();
        let tol = v["tolerance"].as_f64().unwrap() as f32;
        Model { v, file, name, tol }
    }

    /// Compares `got` with the fixture's tensor `want`, every element or, where the fixture
    /// keeps every `stride`-th, those; on the scale of `want`'s largest value, or of its
    /// `floor` where it has one (a gradient that is zero but for rounding).
    pub fn close(&self, got: &[f32], want: &Value, what: &str) {
        let stride = want
            .get("stride")
            .map_or(1, |s| s.as_u64().unwrap() as usize);
        let numel: usize = shape(want).iter().product();
        assert_eq!(got.len(), numel, "{}: {what}: length", self.name);
        let given = want
            .get("floor")
            .map_or(0.0, |f| f.as_f64().unwrap() as f32);
        let want = elements(want);
        let got: Vec<f32> = got.iter().copied().step_by(stride).collect();
        let floor = self.tol * super::max_abs(&want).max(given);
        assert_close!(
            got,
            want,
            rel = self.tol,
            abs = floor,
            "{}: {what}",
            self.name
        );
    }

    /// The named tensors side by side, row by row: a network's input of several.
    pub fn rows(&self, group: &str, names: &[&str]) -> Vec<f32> {
        let parts: Vec<(usize, Vec<f32>)> = names
            .iter()
            .map(|n| {
                let t = &self.v[group][*n];
                let s = shape(t);
                (s[1..].iter().product(), values(t))
            })
            .collect();
        let batch = parts[0].1.len() / parts[0].0;
        let mut out = Vec::new();
        for r in 0..batch {
            for (w, v) in &parts {
                out.extend_from_slice(&v[r * w..(r + 1) * w]);
            }
        }
        out
    }

    /// Compares a row-by-row output (or input gradient) of several parts with the named
    /// tensors.
    pub fn parts(&self, got: &[f32], group: &str, names: &[&str], what: &str) {
        let widths: Vec<usize> = names
            .iter()
            .map(|n| shape(&self.v[group][*n])[1..].iter().product())
            .collect();
        let row: usize = widths.iter().sum();
        let mut offset = 0;
        for (n, w) in names.iter().zip(&widths) {
            let part: Vec<f32> = got
                .chunks_exact(row)
                .flat_map(|r| r[offset..offset + w].to_vec())
                .collect();
            self.close(&part, &self.v[group][*n], &format!("{what} {n}"));
            offset += w;
        }
    }

    pub fn target(&self, name: &str) -> Vec<f32> {
        values(&self.v["inputs"][name])
    }
}

/// Runs `N` through the fixture's checks: `inputs` and `outputs` are the forward's, in
/// order, `grad_of` where each input's gradient is, and `objective` the loss on the tape.
pub fn check<N: Network>(
    mut net: Box<N>,
    m: &Model,
    inputs: &[&str],
    grad_of: &[(&str, &str)],
    outputs: &[&str],
    objective: impl Fn(&N, &mut Tape<N>) -> f32,
) {
    nn::io::load(
        &mut *net,
        path(&format!("{}_{}.safetensors", m.file, m.name)),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", m.name));
    let mut keys = Vec::new();
    net.named_state(&mut |module, tensor, _, _| keys.push(format!("{module}.{tensor}")));
    let want: Vec<&str> = m.v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, want, "{}: state-dict keys and order", m.name);

    let x = m.rows("inputs", inputs);
    let mut tape = Tape::<N>::new();
    tape.track_input_grad(true);
    let mut grads = Gradients::<N>::new();
    let y = tape.forward(&mut net, &x).unwrap().to_vec();
    m.parts(&y, "outputs", outputs, "output");
    let loss = objective(&net, &mut tape);
    let want_loss = m.v["loss"].as_f64().unwrap() as f32;
    m.close(
        &[loss],
        &serde_json::json!({"shape": [1], "data": [want_loss]}),
        "loss",
    );
    tape.backward(&net, &x, &mut grads);
    let mut offset = 0;
    let batch = y.len() / N::OUT;
    let input_grad = tape.input_grad().to_vec();
    for (input, (group, key)) in inputs.iter().zip(grad_of) {
        let w: usize = shape(&m.v["inputs"][*input])[1..].iter().product();
        let part: Vec<f32> = input_grad
            .chunks_exact(N::IN)
            .flat_map(|r| r[offset..offset + w].to_vec())
            .collect();
        assert_eq!(part.len(), batch * w);
        m.close(
            &part,
            &m.v[*group][*key],
            &format!("gradient of input {input}"),
        );
        offset += w;
    }
    let mut count = 0;
    net.named_params(&mut |module, name, _, _| {
        let key = format!("{module}.{name}");
        let got = grads.get(&net, &key).unwrap();
        m.close(got, &m.v["grads"][&key], &format!("gradient of {key}"));
        count += 1;
    });
    assert_eq!(
        count,
        m.v["grads"].as_object().unwrap().len(),
        "{}: gradients",
        m.name
    );

    let opt = &m.v["optimizer"];
    let lr = opt["lr"].as_f64().unwrap() as f32;
    let steps = m.v["step_losses"].as_array().unwrap().len();
    let mut run = |opt: &mut dyn FnMut(&mut N, &Gradients<N>)| {
        opt(&mut net, &grads);
        for _ in 1..steps {
            grads.zero();
            tape.forward(&mut net, &x).unwrap();
            objective(&net, &mut tape);
            tape.backward(&net, &x, &mut grads);
            opt(&mut net, &grads);
        }
    };
    match opt["kind"].as_str().unwrap() {
        "adam" => {
            let mut adam = Adam::new(lr);
            run(&mut |n, g| adam.step(n, g));
        }
        "sgd" => {
            let momentum = opt
                .get("momentum")
                .map_or(0.0, |v| v.as_f64().unwrap() as f32);
            let mut sgd = Sgd::new(lr).momentum(momentum);
            run(&mut |n, g| sgd.step(n, g));
        }
        other => panic!("optimizer {other}"),
    }
    let mut trained = 0;
    net.named_state(&mut |module, tensor, _, value| {
        let key = format!("{module}.{tensor}");
        let got = match value {
            nn::Buffer::F32(v) => v.to_vec(),
            nn::Buffer::Count(c) => vec![c as f32],
        };
        m.close(
            &got,
            &m.v["trained"][&key],
            &format!("{key} after {steps} steps"),
        );
        trained += 1;
    });
    assert_eq!(trained, m.v["trained"].as_object().unwrap().len());
    let eval = tape.infer(&net, &x).to_vec();
    m.parts(&eval, "eval_outputs", outputs, "eval output");
}
