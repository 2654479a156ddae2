// `BatchNorm2d` must normalise as many channels as the convolution produces.
nn::network! {
    #[input(1, 28, 28)]
    struct Net<Conv2d<1, 8, 3>, BatchNorm2d<16>, ReLU, Flatten, Linear<5408, 10>>
}

fn main() {}
