// A layer is a struct: its fields hold the parameters.
#[derive(nn::Parameters)]
enum Scale {
    Small([f32; 2]),
    Large([f32; 4]),
}

fn main() {}
