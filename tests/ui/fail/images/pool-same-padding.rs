// `padding = same` is a convolution's.
nn::network! {
    #[input(1, 8, 8)]
    struct Net<MaxPool2d<2, padding = same>, Flatten, Linear<16, 10>>
}

fn main() {}
