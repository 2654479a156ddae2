// A counter buffer is a `u64`, PyTorch's `int64` scalar.
#[derive(nn::Parameters)]
struct Counted {
    #[param]
    weight: [f32; 4],
    #[buffer]
    seen: u32,
}

fn main() {}
