// A derived layer is generic over sizes only, not over a type.
#[derive(nn::Parameters)]
struct Scale<T: Copy> {
    #[param]
    weight: [f32; 4],
    extra: T,
}

fn main() {}
