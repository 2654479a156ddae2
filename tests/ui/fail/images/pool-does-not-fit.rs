// An 8 × 8 pooling window on a 5 × 5 image.
nn::network! {
    #[input(1, 28, 28)]
    struct Net<Conv2d<1, 8, 3>, MaxPool2d<2>, Conv2d<8, 16, 3>, MaxPool2d<2>, MaxPool2d<8>, Flatten, Linear<16, 10>>
}

fn main() {}
