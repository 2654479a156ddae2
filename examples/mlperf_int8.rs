//! MLPerf Tiny's keyword-spotting DS-CNN in int8, quantised from its declaration: trained
//! briefly on twelve synthetic classes of its input's shape, quantised by
//! `nn::int8::Quantized` on 24 inputs, and compared with the f32 network on 48 others.
//!
//! ```text
//! cargo run --release --example mlperf_int8             # the comparison
//! cargo run --release --example mlperf_int8 -- --save  # and data/weights/ds_cnn_int8.safetensors
//! ```
//!
//! The saved file is what `tests/int8_mlperf.rs` bakes with `#[weights(.., dtype = int8)]`.

#[path = "mlperf/models.rs"]
#[allow(dead_code)]
mod models;
#[path = "mlperf/synthetic.rs"]
mod synthetic;

use models::DsCnn;
use nn::int8::Quantized;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let net = synthetic::ds_cnn();
    let q = Quantized::quantize(&*net, &synthetic::inputs(1, 24).0)?;
    let (held_out, classes) = synthetic::inputs(2, 48);
    let argmax = |v: &[f32]| (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b });
    let (mut f32_right, mut int8_right, mut same) = (0, 0, 0);
    for (x, &class) in held_out.chunks_exact(DsCnn::IN).zip(&classes) {
        let x: &[f32; 490] = x.try_into()?;
        let (want, got): ([f32; 12], [f32; 12]) = (net.forward(x), q.forward(x));
        f32_right += usize::from(argmax(&want) == class);
        int8_right += usize::from(argmax(&got) == class);
        same += usize::from(argmax(&want) == argmax(&got));
    }
    println!(
        "DS-CNN on {} synthetic inputs: f32 right on {f32_right}, int8 on {int8_right}, the same \
         class on {same}; int8 weights {} bytes",
        classes.len(),
        q.weight_bytes()
    );
    if std::env::args().any(|a| a == "--save") {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/weights/ds_cnn_int8.safetensors"
        );
        q.save(path)?;
        println!("int8 weights saved to {path}");
    }
    Ok(())
}
