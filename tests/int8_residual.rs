//! int8 networks whose forward is written as code, with residual adds and networks nested in
//! them: a model TFLite quantised gives TFLite Micro's outputs here exactly, and a network
//! quantised here is saved under the f32 names, loaded back and runs.

mod common;

use nn::int8::Quantized;

nn::network! {
    /// A stack with an identity shortcut, declared once for any image (no batch norm: TFLite
    /// folds it into the convolution before it, so the converted model has none).
    pub struct Stack<const PLANES: usize> {
        conv1: Conv2d<C, PLANES, 3, padding = same>,
        conv2: Conv2d<PLANES, PLANES, 3, padding = same>,
    }
    fn forward(x: Image<C, H, W>) -> out {
        let y = relu(self.conv1(x));
        relu(x + self.conv2(y))
    }
}

nn::network! {
    /// A stack that halves the image, its shortcut a 1 × 1 projection at the same stride.
    pub struct DownStack<const PLANES: usize, const STRIDE: usize> {
        conv1: Conv2d<C, PLANES, 3, stride = STRIDE, padding = same>,
        conv2: Conv2d<PLANES, PLANES, 3, padding = same>,
        shortcut: Conv2d<C, PLANES, 1, stride = STRIDE>,
    }
    fn forward(x: Image<C, H, W>) -> out {
        let y = relu(self.conv1(x));
        let y = self.conv2(y);
        relu(self.shortcut(x) + y)
    }
}

nn::network! {
    /// The fixture's residual network (`tools/make_int8_fixtures.py`, case `residual`).
    pub struct Residual {
        conv: Conv2d<3, 8, 3, padding = same>,
        stack1: Stack!<8>,
        stack2: DownStack!<16, 2>,
        pool: AvgPool2d<4>,
        fc: Linear<16, 10>,
    }
    fn forward(x: Image<3, 8, 8>) -> out {
        let h = relu(self.conv(x));
        let h = self.stack2(self.stack1(h));
        self.fc(flatten(self.pool(h)))
    }
}

#[test]
fn a_residual_model_tflite_quantised_gives_tflite_micro_outputs() {
    let q = Quantized::<Residual>::load(common::fixture::path("int8/residual_file.safetensors"))
        .unwrap();
    let bytes = common::fixture::bytes("int8/residual.safetensors");
    let file = nn_safetensors::File::parse(&bytes).unwrap();
    let (x, want) = (
        common::int8_graph::i8s(&file, "input0"),
        common::int8_graph::i8s(&file, "output"),
    );
    assert_eq!(x.len(), 4 * 192);
    for (x, want) in x.chunks_exact(192).zip(want.chunks_exact(10)) {
        let x: &[i8; 192] = x.try_into().unwrap();
        let got: [i8; 10] = q.forward_int8(x);
        assert_eq!(got.as_slice(), want);
    }
    // The four as one batch: adds and kept values on the whole batch.
    let mut y = vec![0i8; want.len()];
    q.forward_batch_int8(&x, &mut y, &mut nn::int8::Workspace::default());
    assert_eq!(y, want, "one batch");
}

/// The file with one tensor's int32 value changed by `f`.
fn rewritten(bytes: &[u8], tensor: &str, f: impl Fn(i32) -> i32) -> std::path::PathBuf {
    let file = nn_safetensors::File::parse(bytes).unwrap();
    let tensors: Vec<(&str, &str, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .iter()
        .map(|t| {
            let mut data = t.data().to_vec();
            if t.name() == tensor {
                let v = i32::from_le_bytes(data[..4].try_into().unwrap());
                data.copy_from_slice(&f(v).to_le_bytes());
            }
            (t.name(), t.dtype().name(), t.shape().to_vec(), data)
        })
        .collect();
    let path = std::env::temp_dir().join(format!(
        "nn-int8-residual-{}-{tensor}.safetensors",
        std::process::id()
    ));
    common::int8_graph::write_safetensors(&path, &tensors);
    path
}

#[test]
fn a_layer_reading_an_add_is_checked_against_the_adds_quantisation() {
    let bytes = common::fixture::bytes("int8/residual_file.safetensors");
    // The shortcut reads the first stack's output, kept while the second stack's convolutions
    // run: its input zero point must be the add's output zero point.
    let path = rewritten(&bytes, "stack2.shortcut.input_zero_point", |z| z + 1);
    let err = Quantized::<Residual>::load(&path).err().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        matches!(&err, nn::int8::Int8FileError::Quantization { tensor, source, .. }
        if tensor == "stack2.shortcut.input_zero_point" && source == "stack1.add.output_zero_point"),
        "{err}"
    );
    // And an add's output read by the next layer.
    let path = rewritten(&bytes, "stack2.add.output_zero_point", |z| z + 1);
    let err = Quantized::<Residual>::load(&path).err().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        matches!(&err, nn::int8::Int8FileError::Quantization { tensor, source, .. }
        if tensor == "fc.input_zero_point" && source == "stack2.add.output_zero_point"),
        "{err}"
    );
}

nn::network! {
    /// A chain with a residual block inline (`x + block(x)`).
    pub struct ResidualMlp<
        Linear<6, 16>, ReLU,
        Residual<Linear<16, 16>, ReLU, Linear<16, 16>>, ReLU,
        Linear<16, 3>,
    >
}

#[test]
fn a_residual_block_in_a_chain_quantises_as_an_add() {
    let net = ResidualMlp::new(5);
    let inputs = |first: usize, n: usize| -> Vec<f32> {
        (first * 6..(first + n) * 6)
            .map(|j| ((j * 7919) % 2000) as f32 / 1000.0 - 1.0)
            .collect()
    };
    let q = Quantized::quantize(&*net, &inputs(0, 64)).unwrap();
    let step = q.output_quant().scale;
    let (mut worst, mut range) = (0.0f32, 0.0f32);
    for x in inputs(100, 32).chunks_exact(6) {
        let x: &[f32; 6] = x.try_into().unwrap();
        let (want, got): ([f32; 3], [f32; 3]) = (net.forward(x), q.forward(x));
        for (w, g) in want.iter().zip(&got) {
            worst = worst.max((w - g).abs());
            range = range.max(w.abs());
        }
    }
    // Each value rounds to half a step of its own range, wider inside than at the output, and
    // each layer carries its input's error on: within 5% of the logits, as the MLP's (a sum
    // `x + x` for the block, its input kept and not the block's output, is off by the block's
    // whole output).
    assert!(
        worst <= 0.05 * range,
        "largest difference {worst} ({} output steps of {step}) for logits up to {range}",
        worst / step
    );
}

nn::network! {
    /// The fixture's residual network baked in int8: the same declaration, its templates'
    /// layers baked from the same file under their fields' names.
    #[weights("tests/fixtures/int8/residual_file.safetensors", dtype = int8)]
    pub struct ResidualInt8 {
        conv: Conv2d<3, 8, 3, padding = same>,
        stack1: Stack!<8>,
        stack2: DownStack!<16, 2>,
        pool: AvgPool2d<4>,
        fc: Linear<16, 10>,
    }
    fn forward(x: Image<3, 8, 8>) -> out {
        let h = relu(self.conv(x));
        let h = self.stack2(self.stack1(h));
        self.fc(flatten(self.pool(h)))
    }
}

static RESIDUAL: ResidualInt8 = ResidualInt8::WEIGHTS;

#[test]
fn the_residual_model_baked_gives_tflite_micro_outputs() {
    let bytes = common::fixture::bytes("int8/residual.safetensors");
    let file = nn_safetensors::File::parse(&bytes).unwrap();
    let (x, want) = (
        common::int8_graph::i8s(&file, "input0"),
        common::int8_graph::i8s(&file, "output"),
    );
    for (x, want) in x.chunks_exact(192).zip(want.chunks_exact(10)) {
        let got = RESIDUAL.forward(x.try_into().unwrap());
        assert_eq!(got.as_slice(), want);
    }
}

#[test]
fn the_baked_residual_model_equals_the_loaded_one_and_uses_its_whole_scratch() {
    let q = Quantized::<Residual>::load(common::fixture::path("int8/residual_file.safetensors"))
        .unwrap();
    // Seeded inputs over the whole int8 range.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut differ = 0;
    for _ in 0..64 {
        let x: [i8; 192] = core::array::from_fn(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as i8
        });
        let want: [i8; 10] = q.forward_int8(&x);
        let got = RESIDUAL.forward(&x);
        assert_eq!(got, want);
        differ += usize::from(got != RESIDUAL.forward(&[0; 192]));
    }
    assert!(
        differ > 32,
        "the outputs hardly depend on the input: {differ} of 64"
    );
    // Three images of 8 × 8 × 8 at the widest: a stack's input, kept for its add, beside its
    // two convolutions' outputs (the add's output then takes the first's place).
    assert_eq!(ResidualInt8::SCRATCH_BYTES, 3 * 8 * 8 * 8);
    let mut seen = [false; ResidualInt8::SCRATCH_BYTES];
    let x = [7i8; 192];
    for fill in [0x55u8 as i8, 0xaau8 as i8] {
        let mut scratch = [fill; ResidualInt8::SCRATCH_BYTES];
        assert_eq!(RESIDUAL.forward_in(&x, &mut scratch), RESIDUAL.forward(&x));
        for (s, &v) in seen.iter_mut().zip(&scratch) {
            *s |= v != fill;
        }
    }
    assert!(
        seen.iter().all(|&s| s),
        "bytes of SCRATCH_BYTES left unused"
    );
    // `LAYERS` names the nested networks' layers as the file does, each reported once.
    let names: Vec<&str> = ResidualInt8::LAYERS.iter().map(|l| l.0).collect();
    assert!(
        names.contains(&"stack2.shortcut: Conv2d<8, 16, 1, stride = 2>"),
        "{names:?}"
    );
    assert!(names.contains(&"stack1.add: add + ReLU"), "{names:?}");
    let mut after = Vec::new();
    let mut scratch = [0i8; ResidualInt8::SCRATCH_BYTES];
    RESIDUAL.forward_layers(&x, &mut scratch, |k| after.push(k));
    assert_eq!(after, (0..names.len()).collect::<Vec<_>>());
}
