// A 1-D convolution after an image.
nn::network! {
    #[input(1, 28, 28)]
    struct Net<Conv1d<1, 8, 3>, Flatten, Linear<208, 10>>
}

fn main() {}
