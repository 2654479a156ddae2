// A parameter lives in the layer: a `Vec` would put it on the heap, and its shape is unknown.
#[derive(nn::Parameters)]
struct Scale {
    #[param]
    weight: Vec<f32>,
}

fn main() {}
