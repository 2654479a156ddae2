// A parameter's name in the state dict is its field's name.
#[derive(nn::Parameters)]
struct Scale(#[param] [f32; 4]);

fn main() {}
