// A batch norm's counter below zero is a damaged file, refused as `nn::io::load` refuses it.
nn::network! {
    #[weights("tests/ui/weights/tiny-negative-count.safetensors")]
    struct Net<Linear<2, 3>, BatchNorm<3>, Linear<3, 1>>
}

fn main() {}
