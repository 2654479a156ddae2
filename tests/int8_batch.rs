//! `Quantized`'s batches, whose `Linear` layers read their weights once for several samples
//! (AVX-512 VNNI or AVX2 where the CPU has them): TFLite Micro's outputs for the fixtures' MLP
//! and CNN in one batch, and, on every instruction set the CPU has (chosen in turn with
//! `nn::gemm::set_kernel`, which int8 products follow), the same bits as one sample at a time
//! on the portable loops, for every batch from 1 to 17, 64 and 70 (past one chunk of 64).

mod common;
#[path = "common/int8_models.rs"]
mod int8_models;

use nn::gemm::{set_kernel, Kernel};
use nn::int8::{Quantized, Workspace};
use nn::Rng;

use int8_models::{tflite_case, CnnChain, Mlp};

nn::network! {
    /// The MNIST MLP's shape: 784-128 ReLU BatchNorm 128-10.
    pub struct Mnist<Linear<784, 128>, ReLU, BatchNorm<128>, Linear<128, 10>>
}

/// A TFLite-quantised fixture model run as one batch gives TFLite Micro's outputs.
fn tflite_model_in_one_batch<N: nn::Layer>(case: &str) {
    let (q, x, want) = tflite_case::<N>(case);
    assert!(
        x.len() / N::IN > 1,
        "{case}: a batch of more than one sample"
    );
    let mut y = vec![0i8; want.len()];
    q.forward_batch_int8(&x, &mut y, &mut Workspace::default());
    assert_eq!(y, want, "{case}");
}

#[test]
fn tflite_mlp_in_one_batch_gives_tflite_micro_outputs() {
    tflite_model_in_one_batch::<Mlp>("mlp");
}

#[test]
fn tflite_cnn_in_one_batch_gives_tflite_micro_outputs() {
    tflite_model_in_one_batch::<CnnChain>("cnn_chain");
}

/// The only test here that chooses a kernel (the choice is the process's).
#[test]
fn every_batch_on_every_kernel_equals_one_sample_at_a_time() {
    let net = Mnist::new(3);
    let mut rng = Rng::seed(4);
    let calibration: Vec<f32> = (0..16 * 784).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let q = Quantized::<Mnist>::quantize(&net, &calibration).unwrap();
    let chosen = nn::gemm::kernel();
    let kernels: Vec<Kernel> = [Kernel::Avx512, Kernel::Avx2, Kernel::Matrixmultiply]
        .into_iter()
        .filter(|k| k.available())
        .collect();
    let mut ws = Workspace::default();
    for batch in (1..=17).chain([64, 70]) {
        let x: Vec<i8> = (0..batch * 784)
            .map(|_| rng.uniform(-128.0, 128.0).floor() as i8)
            .collect();
        // One sample at a time on the portable loops: the reference.
        set_kernel(Kernel::Matrixmultiply).unwrap();
        let want: Vec<i8> = x
            .chunks_exact(784)
            .flat_map(|x| q.forward_int8::<784, 10>(x.try_into().unwrap()))
            .collect();
        for &k in &kernels {
            set_kernel(k).unwrap();
            let mut y = vec![0i8; batch * 10];
            q.forward_batch_int8(&x, &mut y, &mut ws);
            assert_eq!(y, want, "{} kernel, batch {batch}", k.name());
            // The float form: the same int8 logits, dequantised.
            let xf: Vec<f32> = x.iter().map(|&v| q.input_quant().dequantize(v)).collect();
            let mut yf = vec![0.0; batch * 10];
            q.forward_batch(&xf, &mut yf, &mut ws);
            let wantf: Vec<f32> = want
                .iter()
                .map(|&v| q.output_quant().dequantize(v))
                .collect();
            assert_eq!(yf, wantf, "{} kernel, batch {batch}, float form", k.name());
        }
    }
    set_kernel(chosen).unwrap();
}
