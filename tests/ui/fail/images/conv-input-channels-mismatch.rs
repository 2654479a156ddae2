// The first convolution expects colour images, the input is grey.
nn::network! {
    #[input(1, 28, 28)]
    struct Net<Conv2d<3, 8, 3>, ReLU, MaxPool2d<2>, Flatten, Linear<1352, 10>>
}

fn main() {}
