// A 2-D convolution after a sequence: the 1-D one was meant.
nn::network! {
    #[input(4, 100)]
    struct Net<Conv2d<4, 8, 3>, Flatten, Linear<784, 10>>
}

fn main() {}
