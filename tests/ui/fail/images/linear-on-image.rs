// A `Linear` straight after an image layer: `Flatten` is missing.
nn::network! {
    #[input(1, 28, 28)]
    struct Net<Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>, Linear<1352, 10>>
}

fn main() {}
