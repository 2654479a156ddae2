// The file holds the first weight as float64; the network's parameters are f32.
nn::network! {
    #[weights("tests/ui/weights/tiny-f64.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
