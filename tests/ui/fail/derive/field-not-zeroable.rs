// Every field, annotated or not, must be zeroable: networks are built from zeroed memory.
#[derive(nn::Parameters)]
struct Scale<const N: usize> {
    #[param]
    weight: [f32; N],
    label: &'static str,
}

fn main() {}
