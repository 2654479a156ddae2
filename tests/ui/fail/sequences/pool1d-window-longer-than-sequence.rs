// A convolution leaves 4 samples; a window of 5 does not fit them.
nn::network! {
    #[input(1, 6)]
    struct Net<Conv1d<1, 2, 3>, MaxPool1d<5>, Flatten, Linear<2, 1>>
}

fn main() {}
