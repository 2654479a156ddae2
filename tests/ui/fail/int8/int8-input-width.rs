// The int8 network is typed: its input is `[i8; 2]`.
nn::network! {
    #[weights("tests/ui/weights/tiny-int8.safetensors", dtype = int8)]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {
    let _: [i8; 1] = Net::WEIGHTS.forward(&[0i8; 3]);
}
