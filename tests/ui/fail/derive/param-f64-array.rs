// Parameters are `f32`, as the gradients and the optimizers are.
#[derive(nn::Parameters)]
struct Scale {
    #[param]
    weight: [[f64; 4]; 2],
}

fn main() {}
