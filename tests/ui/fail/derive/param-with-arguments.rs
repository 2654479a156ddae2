// `#[param]` names the field; it takes no settings.
#[derive(nn::Parameters)]
struct Scale {
    #[param(name = "scale")]
    weight: [f32; 4],
}

fn main() {}
