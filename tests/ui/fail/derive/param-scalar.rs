// One trainable number is an array of one, as PyTorch's shape `[1]`.
#[derive(nn::Parameters)]
struct Gain {
    #[param]
    gain: f32,
}

fn main() {}
