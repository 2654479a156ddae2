//! MLPerf Tiny's ResNet-8 (`examples/mlperf/models.rs`: a forward written as code, its stacks
//! networks of their own declared through the `Stack!` and `DownStack!` templates, each with a
//! residual add) quantised by `nn::int8::Quantized`: every `BatchNorm2d` folded into its
//! convolution, each `relu(x + y)` TFLite's ADD with the ReLU fused, the int8 file written
//! under the f32 names (`stack2.shortcut.weight`, `stack1.add.output_scale`) and read back,
//! and the int8 network following the f32 one on seeded inputs.

#[path = "../examples/mlperf/models.rs"]
#[allow(dead_code)]
mod models;

#[path = "../examples/mlperf/seeded.rs"]
#[allow(dead_code)]
mod seeded;

use models::ResNet8;
use nn::int8::Quantized;
use nn::{Layer, Network, Tape};

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

/// `n` seeded images from `first` on, side by side.
fn images(first: usize, n: usize) -> Vec<f32> {
    (first..first + n)
        .flat_map(|k| seeded::input(ResNet8::IN, k))
        .collect()
}

/// ResNet-8 with He-normal weights from its seed, its batch norms' running statistics moved
/// off 0 and 1 by forward passes in training mode, so that the folding is exercised. The
/// logits' mean over those images is then taken out of `fc`'s bias: untrained, every image
/// has the same top class, carried by what all logits share; centred, the class follows the
/// image, so that the top classes compared are not one answer repeated. Also the mean taken
/// out.
fn resnet8() -> (Box<ResNet8>, [f32; 10]) {
    let mut net = ResNet8::new(0);
    seeded::he_normal(&mut *net, seeded::RESNET8_SEED);
    let x = images(1000, 16);
    let mut tape = Tape::<ResNet8>::new();
    for _ in 0..SETTLE {
        tape.forward(&mut net, &x).expect("finite activations");
    }
    let mut mean = [0.0f32; 10];
    for x in x.chunks_exact(ResNet8::IN) {
        let y: [f32; 10] = net.forward(x.try_into().unwrap());
        mean.iter_mut().zip(y).for_each(|(m, y)| *m += y / 16.0);
    }
    let mut names = Vec::new();
    net.named_params(&mut |module, name, _, _| names.push(format!("{module}.{name}")));
    let mut k = 0;
    net.walk_params_mut(&mut |p| {
        if names[k] == "fc.bias" {
            p.iter_mut().zip(mean).for_each(|(b, m)| *b -= m);
        }
        k += 1;
    });
    (net, mean)
}

const SETTLE: usize = 12;

#[test]
fn resnet8_quantises_from_its_declaration_and_follows_the_f32_network() {
    let (net, mean) = resnet8();
    let q = Quantized::quantize(&*net, &images(0, 24)).unwrap();
    let path = std::env::temp_dir().join(format!(
        "nn-int8-resnet8-{}.safetensors",
        std::process::id()
    ));
    q.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let back = Quantized::<ResNet8>::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    // The f32 names: the nested stacks' layers, each add's output quantisation.
    let file = nn_safetensors::File::parse(&bytes).unwrap();
    for name in [
        "conv1.weight",
        "stack1.conv2.weight_scale",
        "stack2.shortcut.weight",
        "stack3.conv1.bias",
        "stack1.add.output_scale",
        "stack3.add.output_zero_point",
        "fc.weight",
    ] {
        assert!(
            file.tensor(name).is_some(),
            "{name} is not in the int8 file"
        );
    }

    let step = q.output_quant().scale;
    let (mut same_class, mut worst, mut total, mut sum) = (0, 0.0f32, 0, 0.0f32);
    // The logits' size before the centring (what all logits share, most of it, added back):
    // the quantisation error is the network's, the same with or without the shift.
    let (mut range, mut drawn, mut tie) = (0.0f32, 0.0f32, 0.0f32);
    let mut classes = [0usize; 10];
    for (k, x) in images(100, 40).chunks_exact(ResNet8::IN).enumerate() {
        let x: &[f32; 3072] = x.try_into().unwrap();
        let want: [f32; 10] = net.forward(x);
        let got: [f32; 10] = q.forward(x);
        if k < 8 {
            let again: [f32; 10] = back.forward(x);
            assert_eq!(got, again, "the int8 file read back differs");
        }
        classes[argmax(&want)] += 1;
        if argmax(&want) == argmax(&got) {
            same_class += 1;
        } else {
            // How close f32's own top two were where int8 picks another class.
            let mut sorted = want;
            sorted.sort_by(|a, b| b.total_cmp(a));
            tie = tie.max(sorted[0] - sorted[1]);
        }
        for (w, g) in want.iter().zip(&got) {
            worst = worst.max((w - g).abs());
            sum += (w - g).abs();
            range = range.max(w.abs());
        }
        for (w, m) in want.iter().zip(&mean) {
            drawn = drawn.max((w + m).abs());
        }
        total += 1;
    }
    println!(
        "ResNet-8 int8 against f32 on {total} seeded inputs: top class equal on {same_class} \
         (where not, f32's top two within {tie:.4}), largest logit difference {worst:.4} ({:.1} output steps of {step:.5}), mean {:.4}; \
         logits up to {range:.3} ({drawn:.3} before the centring); f32 classes {classes:?}",
        worst / step,
        sum / (10 * total) as f32
    );
    assert!(
        classes.iter().filter(|&&c| c > 0).count() >= 5,
        "f32 classes {classes:?}"
    );
    assert!(
        same_class * 20 >= total * 17,
        "top class equal on {same_class} of {total}"
    );
    assert!(
        worst <= 0.1 * drawn,
        "largest difference {worst} for logits up to {drawn} before the centring"
    );
}
