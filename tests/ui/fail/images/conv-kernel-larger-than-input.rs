// After two poolings the image is 5 × 5: a 7 × 7 kernel does not fit.
nn::network! {
    #[input(1, 28, 28)]
    struct Net<
        Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>,
        Conv2d<8, 16, 3>, ReLU, MaxPool2d<2>,
        Conv2d<16, 32, 7>, Flatten, Linear<32, 10>,
    >
}

fn main() {}
