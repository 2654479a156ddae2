//! int8 networks baked at compile time (`#[weights("...", dtype = int8)]`): the trained MNIST
//! MLP and CNN, quantised in Rust and written as int8 files by `cargo run --example
//! mnist_int8 -- --save`, give exactly the outputs of `Quantized::load` of the same file on
//! the held-out images; models TFLite quantised (`tools/make_int8_fixtures.py`, written as a
//! declaration's int8 file by `tools/tflite_to_int8.py`) give TFLite Micro's outputs; the
//! scratch an inference needs is `SCRATCH_BYTES`, every byte of it used.

mod common;

use std::path::Path;

use nn::int8::Quantized;

nn::network! {
    /// The MNIST MLP, in float32.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

nn::network! {
    /// The MNIST MLP's int8 form, baked.
    #[weights("data/weights/mnist_int8.safetensors", dtype = int8)]
    pub struct MnistInt8<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

nn::network! {
    /// `examples/cnn.rs`'s network, in float32.
    #[input(1, 28, 28)]
    pub struct Cnn<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

nn::network! {
    /// The CNN's int8 form, baked.
    #[input(1, 28, 28)]
    #[weights("data/weights/cnn_int8.safetensors", dtype = int8)]
    pub struct CnnInt8<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Flatten, Linear<400, 10>,
    >
}

nn::network! {
    /// The TFLite fixtures' MLP, in float32 (for `Quantized::load`).
    pub struct Mlp<Linear<49, 64>, ReLU, Linear<64, 32>, ReLU, Linear<32, 10>>
}

nn::network! {
    /// The TFLite fixtures' MLP, baked from the int8 file of TFLite's model.
    #[weights("tests/fixtures/int8/mlp_file.safetensors", dtype = int8)]
    pub struct MlpTflite<Linear<49, 64>, ReLU, Linear<64, 32>, ReLU, Linear<32, 10>>
}

nn::network! {
    /// The TFLite fixtures' chain CNN (TFLite's SAME at stride 1 and kernel 3 is
    /// `padding = 1`), baked.
    #[input(1, 12, 12)]
    #[weights("tests/fixtures/int8/cnn_chain_file.safetensors", dtype = int8)]
    pub struct CnnChainTflite<
        Conv2d<1, 4, 3, padding = 1>, ReLU, MaxPool2d<2>,
        Conv2d<4, 8, 3>, ReLU, AvgPool2d<2>,
        Flatten, Linear<32, 10>,
    >
}

static MNIST: MnistInt8 = MnistInt8::WEIGHTS;
static CNN: CnnInt8 = CnnInt8::WEIGHTS;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The held-out images, quantised as `q`'s input is.
fn held_out(input: nn::int8::Quant) -> Vec<[i8; 784]> {
    let data = nn::data::Mnist::load_t10k_split(root().join("data/mnist")).unwrap();
    assert_eq!(data.test.len(), 2000);
    data.test
        .inputs()
        .iter()
        .map(|x| x.map(|v| input.quantize(v)))
        .collect()
}

#[test]
fn baked_mlp_equals_the_loaded_one_on_the_held_out_images() {
    let q = Quantized::<Mnist>::load(root().join("data/weights/mnist_int8.safetensors")).unwrap();
    assert_eq!(MnistInt8::INPUT, q.input_quant());
    assert_eq!(MnistInt8::OUTPUT, q.output_quant());
    let (mut checked, mut differ) = (0, 0);
    for x in held_out(q.input_quant()) {
        let want: [i8; 10] = q.forward_int8(&x);
        let got = MNIST.forward(&x);
        differ += usize::from(got != want);
        checked += 1;
    }
    assert_eq!((checked, differ), (2000, 0));
}

#[test]
fn baked_cnn_equals_the_loaded_one_on_the_held_out_images() {
    let q = Quantized::<Cnn>::load(root().join("data/weights/cnn_int8.safetensors")).unwrap();
    assert_eq!(CnnInt8::INPUT, q.input_quant());
    let (mut checked, mut differ) = (0, 0);
    // Every fourth image: the convolutions in a debug build are slow.
    for x in held_out(q.input_quant()).iter().step_by(4) {
        let want: [i8; 10] = q.forward_int8(x);
        differ += usize::from(CNN.forward(x) != want);
        checked += 1;
    }
    assert_eq!((checked, differ), (500, 0));
}

/// The inputs and TFLite Micro's outputs of fixture `case`.
fn tflite_case(case: &str) -> (Vec<i8>, Vec<i8>) {
    let bytes = common::fixture::bytes(&format!("int8/{case}.safetensors"));
    let file = nn_safetensors::File::parse(&bytes).unwrap();
    (
        common::int8_graph::i8s(&file, "input0"),
        common::int8_graph::i8s(&file, "output"),
    )
}

#[test]
fn baked_tflite_mlp_gives_tflite_micro_outputs() {
    let (x, want) = tflite_case("mlp");
    assert!(x.len() >= 49 * 4);
    for (x, want) in x.chunks_exact(49).zip(want.chunks_exact(10)) {
        let got = MlpTflite::WEIGHTS.forward(x.try_into().unwrap());
        assert_eq!(got.as_slice(), want);
    }
}

#[test]
fn baked_tflite_cnn_gives_tflite_micro_outputs() {
    let (x, want) = tflite_case("cnn_chain");
    assert!(x.len() >= 144 * 4);
    for (x, want) in x.chunks_exact(144).zip(want.chunks_exact(10)) {
        let got = CnnChainTflite::WEIGHTS.forward(x.try_into().unwrap());
        assert_eq!(got.as_slice(), want);
    }
}

/// Which bytes of the scratch `run` writes: each byte filled with two different values in
/// two runs, so that a written byte differs from its fill in at least one.
fn written<const S: usize>(run: impl Fn(&mut [i8; S])) -> Vec<bool> {
    let mut seen = vec![false; S];
    for fill in [0x55u8 as i8, 0xaau8 as i8] {
        let mut scratch = [fill; S];
        run(&mut scratch);
        for (s, &v) in seen.iter_mut().zip(&scratch) {
            *s |= v != fill;
        }
    }
    seen
}

#[test]
fn scratch_bytes_are_what_an_inference_uses() {
    // The MLP: 128 outputs of the first layer and 128 of the batch norm's step, side by side.
    assert_eq!(MnistInt8::SCRATCH_BYTES, 256);
    let x = held_out(MnistInt8::INPUT)[0];
    let used = written::<{ MnistInt8::SCRATCH_BYTES }>(|s| {
        assert_eq!(MNIST.forward_in(&x, s), MNIST.forward(&x));
    });
    assert!(used.iter().all(|&u| u), "bytes left unused: {used:?}");
    // The CNN: the first convolution's 8 × 26 × 26 outputs and its pool's 8 × 13 × 13.
    assert_eq!(CnnInt8::SCRATCH_BYTES, 8 * 26 * 26 + 8 * 13 * 13);
    let x = held_out(CnnInt8::INPUT)[1];
    let used = written::<{ CnnInt8::SCRATCH_BYTES }>(|s| {
        assert_eq!(CNN.forward_in(&x, s), CNN.forward(&x));
    });
    assert!(used.iter().all(|&u| u), "bytes left unused");
}

#[test]
fn baked_mlp_keeps_the_int8_accuracy() {
    let data = nn::data::Mnist::load_t10k_split(root().join("data/mnist")).unwrap();
    let right = data
        .test
        .inputs()
        .iter()
        .zip(data.test.targets())
        .filter(|(x, &label)| {
            let y = MNIST.logits(x);
            (0..10).fold(0, |b, k| if y[k] > y[b] { k } else { b }) == label
        })
        .count();
    // 96.45% as `Quantized` has it (examples/mnist_int8).
    assert!(right >= 1925, "{right} of 2000");
}

#[test]
fn baked_int8_mlp_is_a_quarter_of_the_f32_one() {
    let (int8, f32) = (size_of::<MnistInt8>(), size_of::<Mnist>());
    assert!(int8 * 3 < f32, "int8 {int8} bytes, f32 {f32}");
}

#[test]
fn layers_are_listed_and_reported_one_at_a_time() {
    // A `ReLU` after a layer is folded into it; a batch norm after one is a step of its own.
    assert_eq!(
        MnistInt8::LAYERS,
        [
            ("Linear<784, 128> + ReLU", 784 * 128),
            ("BatchNorm<128>", 128),
            ("Linear<128, 10>", 128 * 10),
        ]
    );
    assert_eq!(
        CnnInt8::LAYERS,
        [
            ("Conv2d<1, 8, 3> + ReLU", 8 * 26 * 26 * 9),
            ("MaxPool2d 2x2", 0),
            ("Conv2d<8, 16, 3> + ReLU", 16 * 11 * 11 * 8 * 9),
            ("MaxPool2d 2x2", 0),
            ("Linear<400, 10>", 400 * 10),
        ]
    );
    let x = held_out(CnnInt8::INPUT)[2];
    let mut scratch = [0i8; CnnInt8::SCRATCH_BYTES];
    let mut after = Vec::new();
    let y = CNN.forward_layers(&x, &mut scratch, |k| after.push(k));
    assert_eq!(after, [0, 1, 2, 3, 4]);
    assert_eq!(y, CNN.forward(&x));
}

#[test]
fn an_input_table_is_quantised_by_the_compiler() {
    const HALF: i8 = MnistInt8::INPUT.quantize(0.5);
    assert_eq!(HALF, MnistInt8::INPUT.quantize(std::hint::black_box(0.5)));
}
