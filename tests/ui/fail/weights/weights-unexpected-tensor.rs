// The file was saved from `Linear(2, 3), BatchNorm1d(3), Linear(3, 1)`: layer 1 is a batch
// norm there, and a `ReLU` here.
nn::network! {
    #[weights("tests/ui/weights/tiny-batchnorm.safetensors")]
    struct Net<Linear<2, 3>, ReLU, Linear<3, 1>>
}

fn main() {}
