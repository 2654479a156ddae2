// A field is either trained or only saved.
#[derive(nn::Parameters)]
struct Scale {
    #[param]
    #[buffer]
    weight: [f32; 4],
}

fn main() {}
